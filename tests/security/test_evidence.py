"""Evidence cannot be wiped (issue 19): the audit head is anchored outside the database, so a
truncation or a rewrite with recomputed hashes - even by a DBA - is detected."""
from __future__ import annotations

import psycopg

from controlroom.services.audit import anchor as anchors
from controlroom.services.audit.service import GENESIS, row_hash

from ..conftest import MK


def _work(s, n=3):
    for i in range(n):
        s.incidents.create(channel="999", incident_type="RTC", summary=f"evidence {i}", lat=MK[0], lon=MK[1])


def _verify(url, path):
    with psycopg.connect(url) as conn:
        db = conn.execute("SELECT current_database()").fetchone()[0]
        return anchors.verify(conn, anchors.read_anchors(path, db))


def test_anchor_then_verify_ok_and_the_auditor_can_anchor(open_as, fresh_db_url, attacker, tmp_path):
    path = tmp_path / "anchors.jsonl"
    _work(open_as("handler.north", url=fresh_db_url))
    aud = attacker("auditor", url=fresh_db_url)
    first = anchors.anchor(aud, path=path)
    _work(open_as("handler.north", url=fresh_db_url), 2)
    second = anchors.anchor(aud, path=path)
    assert second["id"] > first["id"] and len(path.read_text().splitlines()) == 2  # appended
    res = _verify(fresh_db_url, path)
    assert res.ok and res.anchors == 2 and res.checked >= second["id"] - first["id"]


def test_a_dba_truncating_the_trail_and_starting_a_fresh_chain_is_detected(open_as, fresh_db_url, tmp_path, attacker):
    path = tmp_path / "anchors.jsonl"
    _work(open_as("handler.north", url=fresh_db_url))
    anchors.anchor(attacker("auditor", url=fresh_db_url), path=path)
    with psycopg.connect(fresh_db_url, autocommit=True) as dba:  # the owner: full control of the tables
        dba.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        dba.execute("DELETE FROM audit_log")
        dba.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        dba.execute("UPDATE event_head SET audit_hash = %s", (GENESIS,))
    _work(open_as("handler.north", url=fresh_db_url), 2)  # a fresh, internally valid chain
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 2
    res = _verify(fresh_db_url, path)
    assert not res.ok and any("truncated" in p or "new chain" in p for p in res.problems), res


def test_a_rewrite_with_recomputed_hashes_is_detected(open_as, fresh_db_url, tmp_path, attacker):
    path = tmp_path / "anchors.jsonl"
    _work(open_as("handler.north", url=fresh_db_url))
    anchors.anchor(attacker("auditor", url=fresh_db_url), path=path)
    with psycopg.connect(fresh_db_url, autocommit=True) as dba:
        rows = dba.execute(anchors.WALK_SQL, (0, 100000)).fetchall()
        dba.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        prev = GENESIS
        for i, r in enumerate(rows):  # doctor row 2 and re-hash everything after it: chain is valid
            details = '{"doctored": true}' if i == 1 else r[9]
            fields = [str(r[0]), *r[1:9], details]
            h = row_hash(fields, prev)
            dba.execute("UPDATE audit_log SET details = %s::jsonb, prev_hash = %s, hash = %s WHERE id = %s",
                        (details, prev, h, r[0]))
            prev = h
        dba.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        dba.execute("UPDATE event_head SET audit_hash = %s", (prev,))  # a thorough DBA
    assert open_as("auditor", url=fresh_db_url).audit.verify().ok  # the chain alone is fooled
    res = _verify(fresh_db_url, path)
    assert not res.ok and any("rewritten" in p for p in res.problems), res


def test_anchor_cli_refuses_a_password_in_the_url(tmp_path, capsys):
    import pytest
    with pytest.raises(SystemExit):
        anchors.main(["anchor", "--database-url", "postgresql://auditor:demo@db.example/x",
                      "--file", str(tmp_path / "a")])
