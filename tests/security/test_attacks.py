"""Issue 19's reproductions, each as a test: an operator with their own credentials and a raw
psycopg connection tries what the security test did. PostgreSQL itself must refuse."""
from __future__ import annotations

import dataclasses
import threading
import time

import psycopg
import pytest

from controlroom.errors import Conflict, NotPermitted
from controlroom.session import open_session

from ..conftest import MK
from ..helpers import wait_for
from .conftest import refused

SECRET_COLUMN_WORDS = ("password", "passwd", "secret", "pwhash", "verifier")


def test_no_password_hashes_anywhere_an_operator_can_read(attacker):
    c = attacker("handler.north")
    cols = c.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public'").fetchall()  # lists only what this login may use
    assert cols, "the operator sees their tables"
    assert not [tc for tc in cols if any(w in tc[1].lower() for w in SECRET_COLUMN_WORDS)]
    assert isinstance(refused(c, "SELECT password_hash FROM users"), psycopg.errors.UndefinedColumn)
    assert isinstance(refused(c, "SELECT rolpassword FROM pg_authid"), psycopg.errors.InsufficientPrivilege)
    # the directory is readable (display names for the console), without secrets
    assert c.execute("SELECT count(*) FROM users").fetchone()[0] >= 10


@pytest.mark.parametrize("stmt", [
    "UPDATE users SET display_name = 'Inspector' WHERE username = 'handler.north'",
    "UPDATE users SET home_room_code = 'south'",
    "INSERT INTO users (username, display_name) VALUES ('mallory', 'Mallory')",
    "DELETE FROM users WHERE username = 'inspector.north'",
])
def test_operator_cannot_rewrite_the_directory(attacker, stmt):
    assert isinstance(refused(attacker(), stmt), psycopg.errors.InsufficientPrivilege)


@pytest.mark.parametrize("stmt", [
    "GRANT cr_inspector TO \"handler.north\"",
    "ALTER ROLE \"inspector.north\" NOLOGIN",            # lock the duty inspector out
    "ALTER ROLE \"inspector.north\" PASSWORD 'mine'",    # take over their account
    "CREATE ROLE mallory LOGIN PASSWORD 'x'",
    "SET ROLE cr_inspector",
])
def test_operator_cannot_change_roles_or_accounts(attacker, stmt):
    exc = refused(attacker(), stmt)
    assert isinstance(exc, psycopg.errors.InsufficientPrivilege), exc


def test_job_role_comes_from_the_database_not_the_directory_or_the_session_object(open_as, attacker):
    s = open_as("handler.north")
    # swapping the role on the in-memory session object does not make the database agree
    s.ctx.actor = dataclasses.replace(s.ctx.actor, role="inspector")
    with pytest.raises(NotPermitted):
        s.exercise.set_fallback(on=True, reason="I am an inspector now")
    c = attacker("handler.north")
    assert c.execute("SELECT cr_job_role(session_user)").fetchone()[0] == "call_handler"
    assert c.execute("SELECT value FROM meta WHERE key LIKE 'fallback.%'").fetchall() == []


def test_forged_audit_rows_carry_the_real_identity_and_time(attacker, db_url):
    c = attacker("handler.north")
    assert isinstance(refused(c, "INSERT INTO audit_log (id, at, username, action, outcome, details, "
                                 "prev_hash, hash) VALUES (999999, now() - interval '7 days', "
                                 "'super.north', 'x', 'ok', '{}', '', '')"),
                      psycopg.errors.InsufficientPrivilege)
    for fn in ("cr_audit_row('super.north','supervisor','C','north','x','e','ok','{}')",
               "cr_event_row('x','1','north','{}','super.north','supervisor','C',true,'{}')",
               "cr_audit('x','e','ok','{}')", "cr_emit('x','1','north','{}')"):
        assert isinstance(refused(c, f"SELECT {fn}"), psycopg.errors.InsufficientPrivilege), fn
    # refusals are recorded in the caller's own name only, whatever they claim
    rid = c.execute("SELECT api.record_refusal('x.y', 'e', '{\"username\": \"super.north\"}')").fetchone()[0]
    with psycopg.connect(db_url) as owner:
        row = owner.execute("SELECT username, role, at > now() - interval '1 minute' FROM audit_log "
                            "WHERE id = %s", (rid,)).fetchone()
    assert row == ("handler.north", "call_handler", True)


def test_the_identity_claiming_event_and_audit_forms_are_gone_for_consoles(attacker, db_url):
    """cr_emit/cr_audit once took username, role and console as parameters (a forged row in
    super.north's name passed verify()); since the last direct write went behind api.* (0039) no
    console can call them at all, whatever it claims."""
    c = attacker("handler.north")
    for stmt in ("SELECT cr_emit('x.forged', '1', 'north', '{}', 'super.north', 'supervisor', 'C-SUPER', true, NULL)",
                 "SELECT cr_audit('super.north', 'supervisor', 'C-SUPER', 'north', 'x.forged', 'e', 'ok', '{}')"):
        assert isinstance(refused(c, stmt), psycopg.errors.InsufficientPrivilege), stmt
    with psycopg.connect(db_url) as owner:
        assert owner.execute("SELECT count(*) FROM audit_log WHERE action = 'x.forged'").fetchone()[0] == 0


def test_presence_cannot_be_faked_for_another_console_or_room(attacker, open_as, db_url):
    """The heartbeat stamps only the console bound to the caller's own session; the time a console
    counts as live is policy; no console row or room's staffed state is writable directly."""
    victim = open_as("despatch.south", console_id="C-SOUTH-VICTIM")
    victim.rooms.heartbeat()
    c = attacker("handler.north")
    for stmt in ("UPDATE consoles SET last_seen = now() - interval '1 hour' WHERE id = 'C-SOUTH-VICTIM'",
                 "UPDATE room_presence SET staffed = false",
                 "INSERT INTO consoles (id, room_code, username) VALUES ('C-FAKE', 'south', 'despatch.south')",
                 "UPDATE meta SET value = '0.2' WHERE key = 'policy.presence_ttl_s'"):
        assert isinstance(refused(c, stmt), psycopg.errors.InsufficientPrivilege), stmt
    # not signed in on this connection (no console bound): the beat is refused, nothing stamped
    assert refused(c, "SELECT api.console_heartbeat(false)").sqlstate == "CR403"
    c.execute("SELECT set_config('controlroom.console_id', 'C-SOUTH-VICTIM', false)")  # claim the victim's
    assert refused(c, "SELECT api.console_heartbeat(true)").sqlstate == "CR403"
    with psycopg.connect(db_url) as owner:
        assert owner.execute("SELECT signed_out_at FROM consoles WHERE id = 'C-SOUTH-VICTIM'").fetchone()[0] is None
    # an export is audited only as a disclosure, in the caller's name; no other action can be claimed
    assert refused(c, "SELECT api.audit_disclosure('incident.closed', 'incident:1', '{}')").sqlstate == "CR400"
    rid = c.execute("SELECT api.audit_disclosure('incident.exported', 'incident:1', "
                    "'{\"username\": \"super.north\"}')").fetchone()[0]
    with psycopg.connect(db_url) as owner:
        assert owner.execute("SELECT username FROM audit_log WHERE id = %s", (rid,)).fetchone()[0] == "handler.north"


def test_events_cannot_be_inserted_or_sequences_touched(attacker):
    c = attacker("despatch.north")
    for stmt in ("INSERT INTO events (seq, at, kind, payload) VALUES (10000000, now(), "
                 "'command.firearms_declared', '{}')",
                 "UPDATE event_head SET seq = 1", "SELECT * FROM event_head FOR UPDATE",
                 "DELETE FROM events"):
        assert isinstance(refused(c, stmt), psycopg.errors.InsufficientPrivilege), stmt
    tx = attacker("despatch.north", autocommit=False)  # the ordering lock cannot be held
    assert isinstance(refused(tx, "LOCK TABLE event_head IN ROW SHARE MODE"), psycopg.errors.InsufficientPrivilege)
    seqs = [r[0] for r in c.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S'")]
    assert seqs
    for s in seqs:  # setval('events_seq', 1) broke every write; no sequence can be reset
        assert isinstance(refused(c, "SELECT setval(%s, 1)", (s,)), psycopg.errors.InsufficientPrivilege), s


def test_holding_the_old_advisory_lock_does_not_stop_the_force(attacker, open_as):
    c = attacker("handler.south")
    c.execute("SELECT pg_advisory_lock(7261001)")  # what stopped every new incident before
    c.execute("SELECT pg_advisory_lock(7261000)")
    s = open_as("handler.north")
    t0 = time.monotonic()
    inc = s.incidents.create(channel="999", incident_type="RTC", summary="still works", lat=MK[0], lon=MK[1])
    s.incidents.add_log(inc.id, "and logs")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("stmt", [
    "UPDATE meta SET value = 'training' WHERE key = 'mode'",
    "DELETE FROM meta WHERE key = 'mode'",
    "INSERT INTO meta (key, value) VALUES ('policy.idle_lock_minutes', '0') "
    "ON CONFLICT (key) DO UPDATE SET value = '0'",
])
def test_meta_and_policy_are_read_only(attacker, stmt):
    assert isinstance(refused(attacker("inspector.north"), stmt), psycopg.errors.InsufficientPrivilege)


def test_no_training_reset_exists_in_a_live_database(attacker, db_url):
    c = attacker("trainer")
    for stmt in ("SELECT cr_training_reset(ARRAY['meta'])", "SELECT api.training_reset(NULL, '{}')"):
        assert isinstance(refused(c, stmt), psycopg.errors.UndefinedFunction), stmt
    with psycopg.connect(db_url) as owner:  # not even the owner's tools find one
        assert owner.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE '%training_reset%'").fetchone()[0] == 0


def test_audit_trail_is_for_auditors_only_in_sql_too(attacker, open_as):
    for who in ("handler.north", "inspector.north", "admin"):
        assert isinstance(refused(attacker(who), "SELECT count(*) FROM audit_log"),
                          psycopg.errors.InsufficientPrivilege), who
        with pytest.raises(NotPermitted):
            open_as(who).audit.search(action="incident.created")
    assert attacker("auditor").execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0
    assert open_as("auditor").audit.verify().ok


def test_admin_functions_are_refused_to_non_admins(attacker):
    c = attacker("inspector.north")
    for stmt in ("SELECT api.admin_operator_disable('handler.north')",
                 "SELECT api.admin_operator_reset('handler.north', 'SCRAM-SHA-256$4096:AA==$AA=:AA=')",
                 "SELECT api.admin_operator_role('handler.north', 'inspector')",
                 "SELECT api.admin_operator_add('mallory', 'M', 'inspector', NULL, NULL)"):
        assert isinstance(refused(c, stmt), psycopg.errors.InsufficientPrivilege), stmt


def test_console_cannot_be_taken_over_while_its_operator_is_signed_in(open_as, db_url):
    insp = open_as("inspector.north", console_id="INSP-DESK-1")
    with pytest.raises(Conflict, match="in use by inspector.north"):
        open_session(db_url, "handler.north", "demo", "INSP-DESK-1")
    assert insp.incidents  # the inspector's session is untouched
    with psycopg.connect(db_url) as owner:
        row = owner.execute("SELECT username, client_addr IS NOT DISTINCT FROM NULL FROM consoles "
                            "WHERE id = 'INSP-DESK-1'").fetchone()
        refusal = owner.execute("SELECT username, outcome FROM audit_log WHERE action = 'console.sign_in' "
                                "AND entity = 'console:INSP-DESK-1'").fetchone()
    assert row[0] == "inspector.north"
    assert refusal == ("handler.north", "refused")
    insp.close()
    wait_for(lambda: not _connected(db_url, "inspector.north"), 5)
    open_session(db_url, "handler.north", "demo", "INSP-DESK-1").close()  # a new shift at that desk


def _connected(url: str, user: str) -> bool:
    with psycopg.connect(url) as c:
        return bool(c.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s "
                              "AND datname = current_database()", (user,)).fetchone()[0])


def test_the_console_id_a_session_acts_from_must_be_its_own(attacker, open_as, db_url):
    open_as("inspector.north", console_id="INSP-DESK-2")
    c = attacker("handler.north")
    c.execute("SELECT set_config('controlroom.console_id', 'INSP-DESK-2', false)")
    assert c.execute("SELECT console_id FROM cr_actor()").fetchone()[0] is None


def test_forged_notifications_are_ignored_and_the_listener_survives(open_as, attacker):
    watcher = open_as("inspector.north")
    got = []
    watcher.events.subscribe(got.append)
    assert watcher.events.listener.wait_connected(5)
    c = attacker("handler.north")
    forged = ('{"seq": %d, "kind": "command.firearms_declared", "entity_id": "999999", '
              '"payload": {"incident_id": 999999, "urn": "TV-HOAX"}}' % (watcher.events.last_seen + 1))
    for payload in (forged, '{"seq": 9e18}', '{"seq": 9000000000000000000}', "not json at all {{{",
                    '{"area_rooms": {"mk": "south", "bucks": "south"}}'):
        c.execute("SELECT pg_notify('controlroom', %s)", (payload,))
    writer = open_as("handler.north")
    inc = writer.incidents.create(channel="999", incident_type="RTC", summary="genuine", lat=MK[0], lon=MK[1])
    assert wait_for(lambda: any(e.kind == "incident.created" and e.entity_id == str(inc.id) for e in got), 10)
    assert not any(e.kind == "command.firearms_declared" for e in got)
    assert watcher.events.listener.alive and watcher.events.connected
    assert watcher.events.listener.ignored_notifications >= 4
    assert watcher.ctx.area_rooms["mk"] == "north"  # the forged area ownership changed nothing
    # the genuine event that took the forged seq was delivered, not dropped as already seen
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_listener_watchdog_notices_a_dead_thread(open_as):
    s = open_as("despatch.north")
    s.events.subscribe(lambda e: None)
    assert s.events.listener.wait_connected(5) and s.events.alive
    s.events.listener.stop()  # the thread is gone; `connected` may still say True
    assert not s.events.alive


def test_disabling_an_operator_ends_their_sessions_and_sign_in(open_as, fresh_db_url):
    victim = open_as("despatch.south", url=fresh_db_url)
    admin = open_as("admin", url=fresh_db_url)
    with admin.ctx.single() as tx:
        out = tx.call("api.admin_operator_disable", username="despatch.south", reason="left the force")
    try:
        assert out["sessions_ended"] >= 1
        with pytest.raises(NotPermitted, match="^Wrong user name or password.$"):
            open_session(fresh_db_url, "despatch.south", "demo", "X-1")
    finally:  # the role is cluster-wide (other test databases use it)
        with admin.ctx.single() as tx:
            tx.call("api.admin_operator_enable", username="despatch.south")
    with psycopg.connect(fresh_db_url) as owner:
        assert owner.execute("SELECT username, role FROM audit_log WHERE action = 'operator.disabled'"
                             ).fetchone() == ("admin", "admin")
    assert victim.user.username == "despatch.south"


def test_sign_in_refusals_do_not_reveal_whether_an_account_exists(db_url):
    def attempt(user: str) -> tuple[str, float]:
        t0 = time.monotonic()
        with pytest.raises(NotPermitted) as info:
            open_session(db_url, user, "wrong-password", "T-1")
        return str(info.value), time.monotonic() - t0

    results = {u: [attempt(u) for _ in range(3)] for u in ("inspector.north", "no.such.person")}
    messages = {m for r in results.values() for m, _ in r}
    assert messages == {"Wrong user name or password."}
    med = {u: sorted(t for _, t in r)[1] for u, r in results.items()}
    # both pay the server's auth_delay; neither answers fast (170 ms vs 27 ms before)
    assert min(med.values()) >= 0.2
    assert abs(med["inspector.north"] - med["no.such.person"]) < 0.15, med


def test_wrong_passwords_from_many_consoles_lock_nobody_out(db_url):
    threads = [threading.Thread(target=lambda: pytest.raises(NotPermitted, open_session, db_url,
                                                             "inspector.north", "guess", "G-1"))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    open_session(db_url, "inspector.north", "demo", "G-2").close()
