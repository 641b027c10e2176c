"""Database administration (`cluster`: etcd + three PostgreSQL members under Patroni, issue 25).

    python -m controlroom.db create-roles --admin-url postgresql://postgres@db/postgres --database controlroom
    python -m controlroom.db init --database-url postgresql://controlroom_owner@db/controlroom [--demo]
    python -m controlroom.db operator add jsmith --job call_handler --name "J Smith" --room north --database-url …
    python -m controlroom.db operator disable|enable|reset jsmith --database-url …
    python -m controlroom.db operator role jsmith --job despatcher --database-url …

Passwords are never taken from the command line or the environment (both are visible to other
users of the machine): they are asked for at a prompt, or the connection authenticates through a
libpq password file (`passfile=`/PGPASSFILE) or service file (`service=`). The operator commands
connect as an operator administrator (cr_admin) or as the schema owner and call the audited
`api.admin_operator_*` functions.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys

import psycopg

from . import init_database
from .engine import CONNECT_KW, first_value, has_password, redact, secure_conninfo
from .roles import JOB_GROUPS, create_roles, scram_verifier


def connect_interactive(url: str, *, prompt_user: str | None = None) -> psycopg.Connection:
    """Connect with what the URL (password file, service file) provides; ask for the password
    at a prompt only if the server wants one."""
    try:
        return psycopg.connect(secure_conninfo(url), autocommit=True, **CONNECT_KW)
    except psycopg.OperationalError as exc:
        if "password" not in str(exc):
            raise SystemExit(f"cannot connect to {redact(url)}: {str(exc).strip().splitlines()[-1]}")
    pw = getpass.getpass(f"Password for {prompt_user or 'the database login'}: ")
    try:
        return psycopg.connect(secure_conninfo(url, password=pw), autocommit=True, **CONNECT_KW)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"cannot connect: {str(exc).strip().splitlines()[-1]}")


def _new_password(username: str) -> str:
    first = getpass.getpass(f"New password for {username}: ")
    if len(first) < 12:
        raise SystemExit("A password has at least 12 characters.")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("The two entries differ; nothing was changed.")
    return first


def _api(conn: psycopg.Connection, fn: str, **params: object) -> object:
    args = ", ".join(f"p_{k} => %({k})s" for k in params)
    try:
        return first_value(conn.execute(f"SELECT api.{fn}({args})", params))
    except psycopg.Error as exc:
        raise SystemExit(getattr(exc.diag, "message_primary", None) or str(exc))


def operator_command(args: argparse.Namespace) -> int:
    with connect_interactive(args.database_url) as conn:
        u = args.username
        if args.action == "add":
            verifier = None
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (u,)).fetchone()
            if not exists:
                verifier = scram_verifier(conn, u, _new_password(u))
            out = _api(conn, "admin_operator_add", username=u, display_name=args.name or u,
                       job_role=args.job, home_room=args.room, verifier=verifier)
        elif args.action == "disable":
            out = _api(conn, "admin_operator_disable", username=u, reason=args.reason)
        elif args.action == "enable":
            out = _api(conn, "admin_operator_enable", username=u)
        elif args.action == "reset":
            out = _api(conn, "admin_operator_reset", username=u,
                       verifier=scram_verifier(conn, u, _new_password(u)))
        else:
            out = _api(conn, "admin_operator_role", username=u, job_role=args.job)
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cluster"]:  # etcd + three PostgreSQL members under Patroni (issue 25)
        from .cluster import main as cluster_main
        return cluster_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m controlroom.db")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="create/migrate a database (no demo data unless --demo)")
    i.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"), required=False)
    i.add_argument("--training", action="store_true")
    i.add_argument("--demo", action="store_true",
                   help="seed the demo force (operators with password 'demo'): EMPTY databases only")
    r = sub.add_parser("create-roles", help="schema owner + job groups on a shared server (as a superuser)")
    r.add_argument("--admin-url", required=True, help="superuser URL, e.g. postgresql://postgres@db/postgres")
    r.add_argument("--database", default="controlroom")
    o = sub.add_parser("operator", help="operator administration (audited; cr_admin or the schema owner)")
    o.add_argument("action", choices=["add", "disable", "enable", "reset", "role"])
    o.add_argument("username")
    o.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"))
    o.add_argument("--job", choices=sorted(JOB_GROUPS), help="job role (add, role)")
    o.add_argument("--name", help="display name (add)")
    o.add_argument("--room", help="home room code (add)")
    o.add_argument("--reason", help="why (disable)")
    args = p.parse_args(argv)
    if any(has_password(u) for u in (getattr(args, "database_url", None), getattr(args, "admin_url", None)) if u):
        p.error("put no password in the URL (it shows in `ps`): use a prompt, passfile or service file")
    if args.cmd == "init":
        if not args.database_url:
            p.error("--database-url (or CONTROLROOM_DATABASE_URL) is required")
        init_database(args.database_url, demo=args.demo, training=args.training)
        print("database ready")
    elif args.cmd == "operator":
        if not args.database_url:
            p.error("--database-url (or CONTROLROOM_DATABASE_URL) is required")
        if args.action in ("add", "role") and not args.job:
            p.error("--job is required")
        return operator_command(args)
    else:
        pw = getpass.getpass("Password for the schema owner (new or current; empty: keep): ")
        create_roles(args.admin_url, database=args.database, owner_password=pw or None)
        print(f"roles ready; now run: python -m controlroom.db init --database-url "
              f"postgresql://controlroom_owner@…/{args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
