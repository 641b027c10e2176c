"""The attacker of issue 19: one operator's own credentials and a raw psycopg connection."""
from __future__ import annotations

from typing import Callable, Iterator

import psycopg
import pytest

from controlroom.db.engine import CONNECT_KW, secure_conninfo
from controlroom.db.seed import DEMO_PASSWORD

# one demo operator per job role (the matrix's columns)
OPERATORS = {"call_handler": "handler.north", "despatcher": "despatch.north",
             "supervisor": "super.north", "inspector": "inspector.north", "trainer": "trainer",
             "auditor": "auditor", "admin": "admin"}
# the ladder as the brief states it (independent of what the database says)
GROUPS_OF = {
    "call_handler": {"cr_console", "cr_handler"},
    "despatcher": {"cr_console", "cr_handler", "cr_despatcher"},
    "supervisor": {"cr_console", "cr_handler", "cr_despatcher", "cr_supervisor"},
    "inspector": {"cr_console", "cr_handler", "cr_despatcher", "cr_supervisor", "cr_inspector"},
    "trainer": {"cr_console", "cr_handler", "cr_despatcher", "cr_supervisor", "cr_inspector", "cr_trainer"},
    "auditor": {"cr_console", "cr_auditor"},
    "admin": {"cr_console", "cr_admin"},
}


def operator_connect(url: str, username: str, password: str = DEMO_PASSWORD, **kw) -> psycopg.Connection:
    """What an operator can do with their own login and psql/psycopg instead of the console."""
    return psycopg.connect(secure_conninfo(url, user=username, password=password), **{**CONNECT_KW, **kw})


@pytest.fixture
def attacker(db_url) -> Iterator[Callable[..., psycopg.Connection]]:
    opened: list[psycopg.Connection] = []

    def _connect(username: str = "handler.north", *, url: str | None = None, autocommit: bool = True,
                 password: str = DEMO_PASSWORD) -> psycopg.Connection:
        c = operator_connect(url or db_url, username, password, autocommit=autocommit)
        opened.append(c)
        return c

    yield _connect
    for c in opened:
        c.close()


def refused(conn: psycopg.Connection, stmt: str, params=None) -> psycopg.Error:
    """Run `stmt`; it must fail. Returns the error (rolled back if in a transaction)."""
    try:
        conn.execute(stmt, params)
    except psycopg.Error as exc:
        if not conn.autocommit:
            conn.rollback()
        return exc
    raise AssertionError(f"the database accepted: {stmt}")
