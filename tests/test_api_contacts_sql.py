"""Contacts, prompts, paper back-records, QA and presence are database API functions (issue 19):
the rules hold for an operator with a raw psycopg connection, and identity is the login's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from psycopg.types.json import Jsonb

from .conftest import server_url
from .helpers import connect_as, fails, login_roles, new, sql

GROUPS = {"handler": "cr_handler", "handler2": "cr_handler", "auditor": "cr_auditor"}


@pytest.fixture(scope="module")
def operators(pg_server, db_url):
    """Login roles in each job group (cluster-wide: unique names, dropped afterwards)."""
    yield from login_roles(server_url(pg_server, "postgres"), db_url, GROUPS, "tcon")


RECEIVE = "SELECT api.contact_receive(%s, %s, %s, %s, NULL, %s)"


def test_a_raw_client_cannot_choose_a_contacts_priority_or_move_someone_elses(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        got = c.execute(RECEIVE, ("101", "07700 900999", "07700900999", "noise", None)).fetchone()[0]
        assert got["priority"] == got["base_priority"] > 1  # from the channel policy, not the client
        fails(c, "UPDATE contacts SET priority = 1 WHERE id = %s", (got["id"],), state="42501")
        fails(c, RECEIVE, ("made-up", "x", "x", None, None), state="CR400")
        taken = c.execute("SELECT api.contact_next(NULL)").fetchone()[0]
        assert taken["taken_by"] == operators["handler"]
    with connect_as(db_url, operators["handler2"]) as c:
        fails(c, "SELECT api.contact_answer(%s, NULL)", (taken["id"],), state="CR409", match="being handled by")
        fails(c, "SELECT api.contact_resolve(%s, 'mine now', NULL)", (taken["id"],), state="CR409")
    with connect_as(db_url, operators["auditor"]) as c:
        fails(c, "SELECT api.contact_next(NULL)", state="42501")
    assert sql(db_url, "SELECT state, taken_by FROM contacts WHERE id = %s", (taken["id"],)) == [
        ("taken", operators["handler"])]


def test_reclaim_never_counts_a_live_console_dead_sooner_than_policy(db_url, operators, open_as):
    h = open_as("handler.north")
    h.contacts.receive("101", from_="07700 900111", text="neighbour noise")
    held = h.contacts.next_contact()
    sql(db_url, "UPDATE consoles SET last_seen = now() - interval '2 seconds' WHERE id = %s", (h.console_id,))
    with connect_as(db_url, operators["handler2"]) as c:
        assert c.execute("SELECT api.contacts_reclaim(0.001)").fetchone()[0] == []  # floor: policy 8 s
    assert h.contacts.get(held.id).state == "taken"


def test_back_records_and_victim_updates_check_their_times_in_sql(db_url, operators, open_as):
    inc = new(open_as("handler.north"), grade="G2")
    soon = datetime.now(timezone.utc) + timedelta(days=60)
    with connect_as(db_url, operators["handler"]) as c:
        fails(c, "SELECT api.incident_back_record(%s, 'x', %s)", (inc.id, soon), state="CR400", match="future")
        fails(c, "SELECT api.incident_back_record(%s, 'x', %s)",
              (inc.id, inc.created_at - timedelta(days=5)), state="CR400", match="long before")
        fails(c, "SELECT api.incident_victim_update(%s, 'told', NULL, %s)", (inc.id, soon), state="CR400")
        row = c.execute("SELECT api.incident_back_record(%s, 'Paper: unit asked for', %s)",
                        (inc.id, inc.created_at + timedelta(seconds=5))).fetchone()[0]
        assert row["username"] == operators["handler"] and row["kind"] == "back_record"
    with connect_as(db_url, operators["auditor"]) as c:
        fails(c, "SELECT api.incident_back_record(%s, 'x', now())", (inc.id,), state="42501")


def test_only_auditors_review_and_only_closed_incidents(db_url, operators, open_as):
    inc = new(open_as("handler.north"), grade="G3")
    checklist = Jsonb({"grade": True})
    with connect_as(db_url, operators["handler"]) as c:
        fails(c, "SELECT api.qa_record_review(%s, %s, 'compliant', 'ok', NULL)", (inc.id, checklist), state="42501")
        fails(c, "SELECT api.qa_sample(5, NULL, NULL, NULL)", state="42501")
    with connect_as(db_url, operators["auditor"]) as c:
        fails(c, "SELECT api.qa_record_review(%s, %s, 'compliant', 'ok', NULL)", (inc.id, checklist),
              state="CR400", match="not closed")
        c.execute("SELECT api.qa_sample(50, NULL, NULL, 0.5)")
    assert sql(db_url, "SELECT username FROM audit_log WHERE action = 'qa.sampled' ORDER BY id DESC LIMIT 1") == [
        (operators["auditor"],)]


def test_prompts_and_presence_over_raw_sql_are_in_the_logins_name(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        c.execute("SELECT api.prompts_check()")
        # presence needs a console this login holds: claiming another operator's console is refused
        c.execute("SELECT set_config('controlroom.console_id', 'C-001', false)")
        fails(c, "SELECT api.console_presence(NULL, false)", state="CR400", match="holds no console")
        fails(c, "SELECT api.prompt_acknowledge(-1)", state="CR404")
