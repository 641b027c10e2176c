"""Least-privilege database roles for a shared server.

- `controlroom_owner` owns the schema and runs migrations (init_database connects as it).
- `controlroom_app` is what consoles sign in with: read/write on operational tables, INSERT-only
  on append-only tables (audit_log, incident_log, events, decision logs…: any table guarded by the
  cr_refuse_change() trigger), no DDL. PostgreSQL itself refuses the rest.

    python -m controlroom.db create-roles --admin-url postgresql://postgres@host/postgres \
        --database controlroom --app-password '…' --owner-password '…'
"""
from __future__ import annotations

from psycopg import sql

from .engine import connect

OWNER, APP = "controlroom_owner", "controlroom_app"

APPEND_ONLY_SQL = """
SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.proname = 'cr_refuse_change' AND NOT t.tgisinternal ORDER BY 1
"""


def create_roles(admin_url: str, *, database: str, app_password: str | None,
                 owner_password: str | None) -> None:
    """Create both roles (idempotent), make the owner own the database."""
    with connect(admin_url, autocommit=True) as conn:
        for role, pw in ((OWNER, owner_password), (APP, app_password)):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            # the owner creates the job groups and operator roles (migrations, operator admin)
            extra = " CREATEROLE" if role == OWNER else " NOCREATEROLE"
            stmt = sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB" + extra).format(sql.Identifier(role))
            if pw:
                stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(pw))
            conn.execute(stmt)
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(OWNER)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database),
                                                                       sql.Identifier(OWNER)))
        else:
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database),
                                                                         sql.Identifier(OWNER)))


def apply_grants(conn, *, app_role: str = APP) -> list[str]:
    """Grant the app role what consoles need and no more; returns the append-only tables.

    Run after every migration (init_database does) so new tables are covered.
    `conn` is a SQLAlchemy connection with the schema owner's (or a superuser's) rights.
    """
    from sqlalchemy import text

    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).scalar()
    if not exists:
        return []
    q = sql.Identifier(app_role).as_string(None)
    append_only = [r[0] for r in conn.execute(text(APPEND_ONLY_SQL))]
    stmts = [
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {q}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {q}",
        # transitional: the shared login still works every console until each console signs
        # in as its operator (issue 19); it is not an operator, so cr_require leaves it to Python
        f"GRANT USAGE ON SCHEMA api TO {q}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO {q}",
        f"REVOKE ALL ON alembic_version FROM {q}",
        f"GRANT SELECT ON alembic_version TO {q}",
    ]
    for table in append_only:
        t = sql.Identifier(table).as_string(None)
        stmts.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM {q}")
    for s in stmts:
        conn.execute(text(s))
    return append_only
