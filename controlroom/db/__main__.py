"""Database administration: `python -m controlroom.db {init,create-roles,cluster}`."""
from __future__ import annotations

import argparse
import os
import sys

from . import init_database
from .roles import create_roles


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cluster"]:  # etcd + three PostgreSQL members under Patroni (issue 25)
        from .cluster import main as cluster_main
        return cluster_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m controlroom.db")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="create/migrate a database (and seed the demo force)")
    i.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"), required=False)
    i.add_argument("--training", action="store_true")
    i.add_argument("--no-demo", action="store_true")
    r = sub.add_parser("create-roles", help="create controlroom_owner / controlroom_app on a shared server")
    r.add_argument("--admin-url", required=True, help="superuser URL, e.g. postgresql://postgres@db/postgres")
    r.add_argument("--database", default="controlroom")
    r.add_argument("--app-password", default=os.environ.get("CONTROLROOM_APP_PASSWORD"))
    r.add_argument("--owner-password", default=os.environ.get("CONTROLROOM_OWNER_PASSWORD"))
    args = p.parse_args(argv)
    if args.cmd == "init":
        if not args.database_url:
            p.error("--database-url (or CONTROLROOM_DATABASE_URL) is required")
        init_database(args.database_url, demo=not args.no_demo, training=args.training)
        print("database ready")
    else:
        create_roles(args.admin_url, database=args.database, app_password=args.app_password,
                     owner_password=args.owner_password)
        print(f"roles ready; now run: python -m controlroom.db init --database-url "
              f"postgresql://controlroom_owner@…/{args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
