"""Consoles through PgBouncer (transaction mode, per-user pools): each operator keeps their own
identity and console, and nothing a console sets on one server connection leaks to another (issue 25)."""
from __future__ import annotations

import psycopg
import pytest

from controlroom.session import open_session

from ..conftest import MK
from ..pooler import BINARY, start_bouncer


@pytest.fixture
def bouncer(pg_server):
    if pg_server is None:
        pytest.skip("needs the embedded test server (its superuser writes PgBouncer's auth file)")
    if BINARY is None:
        pytest.fail("pgbouncer is not installed: tools/debian-packages.txt lists it (bash .ci/run installs it)")
    b = start_bouncer(pg_server.superuser_uri("postgres"), pool_size=1)
    yield b
    b.stop()


def test_operators_through_a_transaction_pooler_keep_their_own_identity_and_console(bouncer, db_url):
    dbname = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    pool = bouncer.url(dbname)
    handler = open_session(db_url, "handler.north", "demo", "C-POOL-H", pool_url=pool)
    desp = open_session(db_url, "despatch.north", "demo", "C-POOL-D", pool_url=pool)
    try:
        # many calls interleaved: PgBouncer hands each transaction whichever server connection of
        # the operator's pool is free (pool_size 1 here: one per operator)
        made = []
        for i in range(6):
            made.append(handler.incidents.create(channel="999", incident_type="ASB",
                                                 summary=f"pooled {i}", lat=MK[0], lon=MK[1], grade="G3"))
            desp.incidents.add_log(made[-1].id, f"seen by despatch {i}")
            assert handler.rooms.heartbeat() is not None and desp.rooms.heartbeat() is not None
        with psycopg.connect(db_url) as owner:
            rows = owner.execute(
                "SELECT action, username, console_id FROM audit_log WHERE action IN "
                "('incident.created', 'incident.logged') AND entity = ANY(%s) ORDER BY id",
                ([f"incident:{i.id}" for i in made],)).fetchall()
            backends = owner.execute(
                "SELECT usename, count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'controlroom:%%' GROUP BY 1").fetchall()
            last_seen = dict(owner.execute("SELECT id, last_seen IS NOT NULL FROM consoles "
                                           "WHERE id IN ('C-POOL-H', 'C-POOL-D')").fetchall())
        created = [r for r in rows if r[0] == "incident.created"]
        logged = [r for r in rows if r[0] != "incident.created"]
        assert len(created) == 6 and len(logged) == 6, rows
        assert {(u, c) for _, u, c in created} == {("handler.north", "C-POOL-H")}
        assert {(u, c) for _, u, c in logged} == {("despatch.north", "C-POOL-D")}
        assert last_seen == {"C-POOL-H": True, "C-POOL-D": True}
        # one server connection per operator pool: session_user is the operator, never a shared login
        assert dict(backends).keys() <= {"handler.north", "despatch.north"}
    finally:
        handler.close()
        desp.close()


def test_a_console_id_claimed_on_one_client_connection_never_reaches_another_operator(bouncer, db_url):
    """A raw client through the pooler names another operator's console: it is ignored (the
    console is bound to its own operator), so the audit shows no console rather than a forged one."""
    dbname = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    victim = open_session(db_url, "despatch.south", "demo", "C-POOL-V", pool_url=bouncer.url(dbname))
    try:
        with psycopg.connect(bouncer.url(dbname), user="handler.north", password="demo",
                             application_name="controlroom:C-POOL-V", autocommit=True,
                             prepare_threshold=None) as c:
            assert c.execute("SELECT username, console_id FROM cr_actor()").fetchone() == ("handler.north", None)
            assert c.execute("SELECT api.record_refusal('x.test', 'e', '{}')").fetchone()[0]
        with psycopg.connect(db_url) as owner:
            assert owner.execute("SELECT username, console_id FROM audit_log WHERE action = 'x.test'"
                                 ).fetchone() == ("handler.north", None)
    finally:
        victim.close()
