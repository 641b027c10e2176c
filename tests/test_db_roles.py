"""Least-privilege roles: PostgreSQL itself refuses the app role's tampering and DDL."""
from __future__ import annotations

import psycopg
import pytest

from controlroom.db import init_database
from controlroom.db.roles import APP, OWNER, create_roles
from controlroom.session import open_session

from .conftest import MK, server_url


@pytest.fixture(scope="module")
def roles_db(pg_server):
    admin = server_url(pg_server, "postgres")
    create_roles(admin, database="cr_roles", app_password=None, owner_password=None)
    owner_url = server_url(pg_server, "cr_roles").replace("postgres:@", f"{OWNER}:@", 1)
    init_database(owner_url, demo=True)  # migrations run as the owner role
    return server_url(pg_server, "cr_roles").replace("postgres:@", f"{APP}:@", 1)


def test_app_role_can_work_the_console(roles_db):
    with open_session(roles_db, "handler.north", "demo", "R-01") as s:
        inc = s.incidents.create(channel="999", incident_type="RTC", summary="as app role", lat=MK[0], lon=MK[1])
        s.incidents.add_log(inc.id, "logged as app role")
        assert s.audit.verify().ok


@pytest.mark.parametrize("stmt", [
    "UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
    "UPDATE incident_log SET text = 'x'", "DELETE FROM events",
    "ALTER TABLE incidents ADD COLUMN sneaky text", "DROP TABLE incidents",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
])
def test_app_role_is_refused_by_postgresql(roles_db, stmt):
    with psycopg.connect(roles_db) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(stmt)
