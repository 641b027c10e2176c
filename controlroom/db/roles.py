"""Database roles and grants: the database is the security boundary (DESIGN §3, issue 19).

- `controlroom_owner` owns the schema, runs migrations and owns the SECURITY DEFINER `api.*`
  functions. It is NOT a superuser (so those functions never run as one); it has CREATEROLE (and
  ADMIN OPTION on the job groups) so operator administration can create and alter login roles,
  and pg_signal_backend so disabling an operator can end their open sessions.
- Job groups (NOLOGIN): cr_console ⊃ every operator; cr_handler ⊂ cr_despatcher ⊂ cr_supervisor ⊂
  cr_inspector (ladder by membership); cr_trainer, cr_auditor, cr_admin.
- Every operator is a LOGIN role in one job group, authenticated by PostgreSQL (SCRAM, or the
  force's directory through pg_hba). Role names are cluster-global, so access to a database is
  granted per database: CONNECT goes to the operators in that database's own directory (`users`)
  and to nobody else (a trainee listed only in a training database cannot reach live).
- Consoles hold no INSERT/UPDATE/DELETE on tables and no sequence privileges: every write is an
  `api.*` function (since 0039 there is no exception).

    python -m controlroom.db create-roles --admin-url postgresql://postgres@host/postgres --database controlroom
"""
from __future__ import annotations

import logging
import re
from typing import Any, Mapping, Sequence

import psycopg
from psycopg import sql

from .engine import connect, first_value

log = logging.getLogger(__name__)

OWNER = "controlroom_owner"
CONSOLE = "cr_console"
GROUPS = ("cr_console", "cr_handler", "cr_despatcher", "cr_supervisor", "cr_inspector",
          "cr_trainer", "cr_auditor", "cr_admin")
# job role (as the application names it) -> the group an operator is put in
JOB_GROUPS = {"call_handler": "cr_handler", "despatcher": "cr_despatcher",
              "supervisor": "cr_supervisor", "inspector": "cr_inspector", "trainer": "cr_trainer",
              "auditor": "cr_auditor", "admin": "cr_admin"}
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")

# The legacy event/audit entry points (they took a claimed identity): revoked from consoles since
# 0039, when the last direct write went behind `api.*`; kept in NEVER_CONSOLE below.
LEGACY_EMIT = ("cr_emit(text,text,text,jsonb,text,text,text,boolean,jsonb)",
               "cr_audit(text,text,text,text,text,text,text,jsonb)")
# SECURITY DEFINER functions in `public` consoles may execute (everything else of that kind is
# reachable only through `api.*`).
CONSOLE_DEFINER_FUNCTIONS = ("cr_actor()",)
# readable by one group only (everything else in `public` is readable by every console)
GROUP_ONLY_READ = {"audit_log": "cr_auditor", "audit_anchors": "cr_auditor"}
NO_CONSOLE_READ = frozenset({"event_head"})

APPEND_ONLY_SQL = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.proname = 'cr_refuse_change' AND NOT t.tgisinternal ORDER BY 1
"""


def scram_verifier(conn: psycopg.Connection, username: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier, computed on the client: the clear password never reaches the
    server (nor its logs, nor pg_stat_statements)."""
    return conn.pgconn.encrypt_password(password.encode(), username.encode(),
                                        b"scram-sha-256").decode()


def _exec(conn: psycopg.Connection, stmt: Any, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
    return conn.execute(stmt, params)


def bootstrap_cluster(superuser_url: str, *, owner_password: str | None, createdb: bool = False) -> None:
    """Once per server, as a superuser: the schema owner and the job groups (idempotent)."""
    with connect(superuser_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (OWNER,)).fetchone()
        opts = " LOGIN NOSUPERUSER CREATEROLE NOBYPASSRLS" + (" CREATEDB" if createdb else "")
        stmt = sql.SQL(("ALTER" if exists else "CREATE") + " ROLE {}" + opts).format(sql.Identifier(OWNER))
        if owner_password:
            stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(scram_verifier(conn, OWNER, owner_password)))
        conn.execute(stmt)
        # end a disabled operator's sessions; see whether a console's operator is still connected
        conn.execute(sql.SQL("GRANT pg_signal_backend, pg_read_all_stats TO {}").format(sql.Identifier(OWNER)))
        for g in GROUPS:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (g,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(g)))
            # ADMIN only: the owner may hand the group out, but never has its rights
            conn.execute(sql.SQL("GRANT {} TO {} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE").format(
                sql.Identifier(g), sql.Identifier(OWNER)))


def create_roles(admin_url: str, *, database: str, owner_password: str | None) -> None:
    """Shared server set-up (as a superuser): owner + groups, the database owned by the owner."""
    bootstrap_cluster(admin_url, owner_password=owner_password)
    with connect(admin_url, autocommit=True) as conn:
        db = sql.Identifier(database)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, sql.Identifier(OWNER)))
        else:
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, sql.Identifier(OWNER)))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))


def create_operator(conn: psycopg.Connection, username: str, *, job_role: str,
                    password: str | None) -> bool:
    """A login role in its job group (cluster-wide); True if created. Run as the owner.
    An existing role keeps its password (role names are shared by every database on the server)."""
    if not USERNAME_RE.fullmatch(username):
        raise ValueError(f"not a valid operator name: {username!r}")
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,)).fetchone()
    if exists:
        return False
    stmt = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION IN ROLE {}").format(
        sql.Identifier(username), sql.Identifier(JOB_GROUPS[job_role]))
    if password:
        stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(scram_verifier(conn, username, password)))
    conn.execute(stmt)
    return True


def grant_database_access(conn: Any) -> list[str]:
    """CONNECT on this database for the owner and the operators in its directory, nobody else.

    `conn` is a SQLAlchemy or psycopg connection to the database, as its owner. Role names are
    cluster-wide, so this is what keeps a training database's trainees out of live (and a live
    operator out of a training database they are not listed in)."""
    raw = _raw(conn)
    db = first_value(raw.execute("SELECT current_database()"))
    dbi = sql.Identifier(db)
    raw.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(dbi))
    users = [r[0] for r in raw.execute(
        "SELECT u.username FROM users u JOIN pg_roles r ON r.rolname = u.username "
        "WHERE NOT r.rolsuper ORDER BY 1")]
    for u in users:
        raw.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(dbi, sql.Identifier(u)))
    return users


def _raw(conn: Any) -> psycopg.Connection:
    if isinstance(conn, psycopg.Connection):
        return conn
    driver: psycopg.Connection = conn.connection.driver_connection  # SQLAlchemy Connection -> psycopg
    return driver


# definer functions in `public` consoles must never call directly (reachable only from api.*)
NEVER_CONSOLE = ("cr_event_row(text,text,text,jsonb,text,text,text,boolean,jsonb)",
                 "cr_audit_row(text,text,text,text,text,text,text,jsonb)",
                 "cr_emit(text,text,text,jsonb,boolean,jsonb)", "cr_audit(text,text,text,jsonb)",
                 "cr_require(text,text,text)", "cr_training_reset(text[])") + LEGACY_EMIT


def apply_grants(conn: Any) -> list[str]:
    """Console privileges, re-applied after every migration (init_database does).

    - no INSERT/UPDATE/DELETE/TRUNCATE for any job group on any table; nothing on sequences;
    - SELECT: a table a migration already granted to particular groups keeps exactly those
      readers; any other table is readable by every console, except `GROUP_ONLY_READ` (audit
      trail: auditors) and `NO_CONSOLE_READ`;
    - functions: nothing for PUBLIC; invoker functions in `public` (they run with the console's
      own rights) to cr_console; definer ones only from the allow-list; `api.*` are granted per
      group by their migrations. Returns the append-only tables. `conn`: as the schema owner."""
    raw = _raw(conn)
    tables = [r[0] for r in raw.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1")]
    group_read = {r[0] for r in raw.execute(
        "SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE n.nspname = 'public' AND r.rolname = ANY (%s) AND a.privilege_type = 'SELECT'",
        (list(GROUPS),))}
    append_only = {r[0] for r in raw.execute(APPEND_ONLY_SQL)}
    consoles = sql.Identifier(CONSOLE)
    groups = sql.SQL(", ").join(sql.Identifier(g) for g in GROUPS)
    stmts: list[Any] = [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        sql.SQL("GRANT USAGE ON SCHEMA public, api TO {}").format(consoles),
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC",
        sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public "
                "FROM {}").format(groups),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {}").format(groups),
        "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC",
        "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC",
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public, api REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"),
    ]
    for t in tables:
        ti = sql.Identifier(t)
        if t in NO_CONSOLE_READ or t in GROUP_ONLY_READ:
            stmts.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(ti, groups))
            if t in GROUP_ONLY_READ:
                stmts.append(sql.SQL("GRANT SELECT ON {} TO {}").format(ti, sql.Identifier(GROUP_ONLY_READ[t])))
            continue
        if t not in group_read:
            stmts.append(sql.SQL("GRANT SELECT ON {} TO {}").format(ti, consoles))
    allowed = {d.replace(" ", "") for d in CONSOLE_DEFINER_FUNCTIONS}
    denied = {d.replace(" ", "") for d in NEVER_CONSOLE}
    for sig, secdef in raw.execute(
            "SELECT p.oid::regprocedure::text, p.prosecdef FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND p.prokind IN ('f', 'a', 'w') AND pg_get_userbyid(p.proowner) = current_user").fetchall():
        key = sig.replace(" ", "")
        if key in denied:
            stmts.append(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM {}").format(sql.SQL(sig), groups))
        elif not secdef or key in allowed:
            stmts.append(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(sig), consoles))
    for st in stmts:
        raw.execute(st)
    return sorted(append_only)
