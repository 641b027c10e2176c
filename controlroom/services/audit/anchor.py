"""The audit chain's head, anchored outside the database (issue 19: evidence cannot be wiped).

    python -m controlroom.services.audit.anchor anchor --database-url URL [--file /var/log/controlroom/anchors.jsonl | --syslog]
    python -m controlroom.services.audit.anchor verify --database-url URL --file /var/log/controlroom/anchors.jsonl

The hash chain proves that rows were not changed *relative to each other*; someone with full
control of the database (a DBA, a stolen superuser) could still rewrite every row from some
point on and recompute the hashes, or empty the table and start a fresh chain. Anchoring the
head (id, hash, time) at intervals somewhere the database cannot reach — an append-only file
(`chattr +a`, a WORM share) or syslog shipped to a log server — closes that: `verify` walks the
chain and checks that every anchored row still exists with exactly the anchored hash, so a
truncation or rewrite is detected even if the chain itself is consistent again.

Run `anchor` from cron/systemd every few minutes as an auditor or the schema owner (the
connection authenticates through a libpq password file or service file; or a prompt).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import psycopg

from .service import GENESIS, row_hash

HEAD_SQL = ("SELECT current_database(), (SELECT hash FROM audit_log ORDER BY id LIMIT 1), "
            "id, hash, at FROM audit_log ORDER BY id DESC LIMIT 1")
WALK_SQL = ("SELECT id, ((extract(epoch FROM at) * 1000000)::bigint)::text, coalesce(username, ''), "
            "coalesce(role, ''), coalesce(console_id, ''), coalesce(room_code, ''), action, "
            "coalesce(entity, ''), outcome, details::text, prev_hash, hash FROM audit_log "
            "WHERE id > %s ORDER BY id LIMIT %s")


def head(conn: psycopg.Connection) -> dict[str, Any] | None:
    row = conn.execute(HEAD_SQL).fetchone()
    if row is None:
        return None
    db, first, rid, h, at = row
    return {"database": db, "first_hash": first, "id": int(rid), "hash": h,
            "at": at.isoformat(), "anchored_at": datetime.now(timezone.utc).isoformat()}


def anchor(conn: psycopg.Connection, *, path: Path | None = None, use_syslog: bool = False) -> dict[str, Any] | None:
    """Append the current head to `path` (O_APPEND: never rewrites) and/or syslog."""
    h = head(conn)
    if h is None:
        return None
    line = json.dumps(h, sort_keys=True)
    if path is not None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    if use_syslog:
        import syslog
        syslog.openlog("controlroom-audit", 0, syslog.LOG_AUTHPRIV)
        syslog.syslog(syslog.LOG_NOTICE, "audit-anchor " + line)
    return h


def read_anchors(path: Path, database: str | None = None) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                a = json.loads(raw)
            except ValueError:
                continue
            if database is None or a.get("database") == database:
                out.append(a)
    return out


@dataclass
class AnchoredVerify:
    ok: bool
    checked: int
    anchors: int
    problems: list[str] = field(default_factory=list)


def verify(conn: psycopg.Connection, anchors: Iterable[dict[str, Any]], *, batch: int = 20_000) -> AnchoredVerify:
    """Walk the whole chain, then hold it against the anchors taken outside the database."""
    wanted = {int(a["id"]): a for a in anchors}
    problems: list[str] = []
    seen: dict[int, str] = {}
    prev, checked, after, first = GENESIS, 0, 0, None
    while True:
        rows = conn.execute(WALK_SQL, (after, batch)).fetchall()
        for r in rows:
            first = first or r[11]
            fields = [str(r[0]), *r[1:10]]
            if r[10] != prev or row_hash(fields, r[10]) != r[11]:
                problems.append(f"chain broken at audit row {r[0]}")
                break
            if int(r[0]) in wanted:
                seen[int(r[0])] = r[11]
            prev, checked, after = r[11], checked + 1, r[0]
        if problems or len(rows) < batch:
            break
    for rid, a in sorted(wanted.items()):
        if rid not in seen and not problems:
            problems.append(f"anchored audit row {rid} ({a.get('anchored_at')}) is missing: "
                            "the trail was truncated or replaced")
        elif rid in seen and seen[rid] != a["hash"]:
            problems.append(f"anchored audit row {rid} has a different hash than anchored at "
                            f"{a.get('anchored_at')}: the trail was rewritten")
        if a.get("first_hash") and first and a["first_hash"] != first:
            problems.append("the first row of the trail is not the one anchored: a new chain was started")
            break
    return AnchoredVerify(ok=not problems, checked=checked, anchors=len(wanted), problems=problems)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m controlroom.services.audit.anchor")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("anchor", "verify"):
        s = sub.add_parser(name)
        s.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"), required=False)
        s.add_argument("--file", type=Path, help="append-only anchor file (JSON lines)")
        if name == "anchor":
            s.add_argument("--syslog", action="store_true", help="also (or only) log the anchor to syslog")
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or CONTROLROOM_DATABASE_URL) is required")
    from ...db.__main__ import connect_interactive
    from ...db.engine import has_password
    if has_password(args.database_url):
        p.error("put no password in the URL: use a passfile, a service file or the prompt")
    with connect_interactive(args.database_url) as conn:
        if args.cmd == "anchor":
            if not args.file and not args.syslog:
                p.error("--file and/or --syslog")
            h = anchor(conn, path=args.file, use_syslog=args.syslog)
            print(json.dumps(h) if h else "audit trail empty: nothing to anchor")
            return 0
        if not args.file:
            p.error("--file is required")
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None  # current_database() always answers
        db = row[0]
        res = verify(conn, read_anchors(args.file, db))
    print(f"{'OK' if res.ok else 'BROKEN'}: {res.checked} rows, {res.anchors} anchors checked")
    for problem in res.problems:
        print("  " + problem)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
