"""Grants: consoles read what they need and write nothing directly (issue 19)."""
from __future__ import annotations

import psycopg
import pytest

from controlroom.db.roles import LEGACY_EMIT

from .conftest import refused

# Every table: consoles write none of them directly since 0039 (issue 19); these are named so
# that a grant on one of them fails with its name even if the catalogue query below were wrong.
NEVER_WRITABLE = {"users", "meta", "events", "audit_log", "event_head", "alembic_version", "rooms",
                  "gazetteer", "training_unit_baseline",
                  # converted to api.* functions (despatch, command): gone from the list
                  "assignments", "command_roles", "decision_log", "armed_authorisations", "methane_reports",
                  # units, talk groups, rooms: converted too
                  "units", "unit_status_log", "talk_groups", "talk_group_allocations", "talk_group_patches",
                  "talkgroup_transmissions", "areas", "area_transfers",
                  # incidents, contacts, prompts, sign-off, QA, replay: converted too
                  "incidents", "incident_log", "urn_counter", "incident_links", "incident_prompts",
                  "incident_thrive", "incident_partner_refs", "incident_breaches", "victim_promises",
                  "grade_signoffs", "contacts", "contacts_hourly", "qa_reviews", "replay_snapshots",
                  # and the presence heartbeat, the last of them
                  "consoles", "room_presence"}


def test_consoles_write_no_table_and_no_sequence(db_url):
    with psycopg.connect(db_url) as owner:
        writable = {r[0] for r in owner.execute(
            "SELECT DISTINCT table_name FROM information_schema.role_table_grants "
            "WHERE grantee LIKE 'cr\\_%' AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')")}
        assert writable == set()
        cols = owner.execute(
            "SELECT DISTINCT table_name, column_name FROM information_schema.column_privileges "
            "WHERE grantee LIKE 'cr\\_%' AND privilege_type IN ('INSERT', 'UPDATE')").fetchall()
        assert cols == []
        seq_privs = owner.execute(
            "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
            "JOIN pg_roles r ON r.oid = a.grantee WHERE c.relkind = 'S' AND r.rolname LIKE 'cr\\_%'").fetchall()
        assert seq_privs == []


@pytest.mark.parametrize("who", ["handler.north", "despatch.north", "inspector.north"])
def test_an_operator_holds_no_write_privilege_on_any_named_table(attacker, who):
    c = attacker(who)
    held = [t for t in sorted(NEVER_WRITABLE) if c.execute(
        "SELECT has_table_privilege(%s, 'INSERT, UPDATE, DELETE, TRUNCATE')", (t,)).fetchone()[0]]
    assert held == []


def test_the_legacy_identity_claiming_emit_and_audit_are_not_executable_by_consoles(attacker):
    c = attacker("handler.north")
    for sig in LEGACY_EMIT:
        ok = c.execute("SELECT has_function_privilege(%s, 'EXECUTE')", (sig,)).fetchone()[0]
        assert ok is False, sig


def test_no_security_definer_function_is_open_to_everyone(db_url):
    with psycopg.connect(db_url) as owner:
        open_to_public = owner.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname IN ('public', 'api') AND p.prosecdef "
            "AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))").fetchall()
        assert open_to_public == []
        unpinned = owner.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname IN ('public', 'api') AND p.prosecdef "
            "AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')").fetchall()
        assert unpinned == []
        owners = {r[0] for r in owner.execute(
            "SELECT pg_get_userbyid(p.proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'api'")}
        assert owners == {"controlroom_owner"}  # never a superuser
        assert not owner.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'controlroom_owner'").fetchone()[0]


@pytest.mark.parametrize("stmt", [
    "UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
    "UPDATE incident_log SET text = 'x'", "DELETE FROM events", "TRUNCATE incidents",
    "ALTER TABLE incidents ADD COLUMN sneaky text", "DROP TABLE incidents",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "CREATE TABLE mine (x int)", "CREATE FUNCTION api.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE EXTENSION dblink", "COPY incidents TO '/tmp/x'", "SELECT pg_read_file('/etc/passwd')",
    "SET session_authorization = 'super.north'",
])
def test_operator_is_refused_by_postgresql(attacker, stmt):
    exc = refused(attacker("inspector.north"), stmt)
    assert isinstance(exc, (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFile)), (stmt, exc)


def test_the_console_works_with_these_grants(open_as):
    s = open_as("handler.north")
    from ..conftest import MK
    inc = s.incidents.create(channel="999", incident_type="RTC", summary="as an operator", lat=MK[0], lon=MK[1])
    s.incidents.add_log(inc.id, "logged as the operator")
    assert open_as("auditor").audit.verify().ok
