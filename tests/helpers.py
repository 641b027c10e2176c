"""Small helpers shared by the test modules."""
from __future__ import annotations

import itertools
import time
from typing import Callable

import psycopg

from .conftest import OXFORD


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll `predicate` (cheaply) until it is truthy or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


_spot = itertools.count(1)


def spot(base=OXFORD):
    """A location ~1 km from the previous one, so tests in one module do not see each other."""
    n = next(_spot)
    return base[0] + 0.009 * (n % 7) - 0.03, base[1] + 0.014 * (n // 7) - 0.03


def new(s, **kw):
    lat, lon = kw.pop("at", None) or spot()
    args = dict(channel="999", incident_type="ASSAULT", summary="Fight outside pub", lat=lat, lon=lon)
    args.update(kw)
    return s.incidents.create(**args)


def sql(url, statement, params=()):
    with psycopg.connect(url, autocommit=True) as c:
        cur = c.execute(statement, params)
        return cur.fetchall() if cur.description else None


JOB_GROUPS = {"call_handler": "cr_handler", "despatcher": "cr_despatcher", "supervisor": "cr_supervisor",
              "inspector": "cr_inspector", "trainer": "cr_trainer", "auditor": "cr_auditor"}


def operator_conn(url: str, username: str, group: str, *, password: str = "demo") -> psycopg.Connection:
    """A raw psycopg connection AS an operator login role (what an attacker holding one operator's
    credentials has). The role is created in `group` if the cluster does not have it yet."""
    from psycopg import sql as q
    with psycopg.connect(url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,)).fetchone():
            admin.execute(q.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                q.Identifier(username), q.Literal(password), q.Identifier(group)))
        # (an existing role - the demo operators are login roles - keeps its own job group)
        db = admin.execute("SELECT current_database()").fetchone()[0]
        admin.execute(q.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(q.Identifier(db), q.Identifier(username)))
    return psycopg.connect(url, user=username, password=password, autocommit=True)


def activate(qtbot, widget) -> None:
    """Show `widget` as the active window, so focus, Tab and shortcuts behave as for an operator
    (the offscreen platform activates a window only when asked)."""
    from PySide6.QtWidgets import QApplication
    widget.show()
    qtbot.waitExposed(widget)
    widget.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=3000)


def login_roles(admin_url: str, db_url: str, groups: dict[str, str], prefix: str):
    """Generator for a module fixture: a login role (password 'pw') per key of `groups`, in that
    job group, with CONNECT on the test database; yields {key: role name}, then revokes and drops
    them (roles are cluster-wide, so names are unique per process)."""
    import os

    from psycopg import sql as q

    names = {k: f"{prefix}_{os.getpid()}_{k}" for k in groups}
    with psycopg.connect(admin_url, autocommit=True) as c:
        for k, name in names.items():
            c.execute(q.SQL("DROP ROLE IF EXISTS {}").format(q.Identifier(name)))
            c.execute(q.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw' IN ROLE {}").format(
                q.Identifier(name), q.Identifier(groups[k])))
    with psycopg.connect(db_url, autocommit=True) as c:  # CONNECT is granted per database (issue 19)
        db = c.execute("SELECT current_database()").fetchone()[0]
        for name in names.values():
            c.execute(q.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(q.Identifier(db), q.Identifier(name)))
    yield names
    with psycopg.connect(admin_url, autocommit=True) as c:
        for name in names.values():
            c.execute(q.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(q.Identifier(db), q.Identifier(name)))
            c.execute(q.SQL("DROP ROLE IF EXISTS {}").format(q.Identifier(name)))


def connect_as(db_url: str, name: str) -> psycopg.Connection:
    """A raw psycopg connection as a role made by `login_roles`."""
    return psycopg.connect(db_url, user=name, password="pw", autocommit=True)


def fails(c, statement, params=(), *, state: str | None = None, match: str | None = None):
    """Run `statement` on raw connection `c`, which must refuse it (SQLSTATE `state`, message
    containing `match`); returns the error."""
    import pytest

    with pytest.raises(psycopg.Error) as err:
        c.execute(statement, params)
    if state:
        assert err.value.sqlstate == state, (err.value.sqlstate, str(err.value))
    if match:
        assert match in str(err.value), str(err.value)
    return err.value
