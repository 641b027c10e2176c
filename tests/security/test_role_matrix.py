"""The role matrix (issue 19): every write action (each `api.*` function) x every job group,
through direct SQL and through the facade. Generated from the api schema's functions and their
EXECUTE grants, so it grows as services are converted; the expectation is the ladder as the
brief states it (tests/security/conftest.py GROUPS_OF), never what the database says."""
from __future__ import annotations

from typing import Any, Callable

import psycopg
import pytest

from controlroom.errors import ControlRoomError, NotPermitted

from ..conftest import MK
from .conftest import GROUPS_OF, OPERATORS, operator_connect

API_SQL = """
SELECT p.proname, p.oid::regprocedure::text,
       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t),
       ARRAY(SELECT r.rolname FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
             WHERE a.privilege_type = 'EXECUTE')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'api' ORDER BY 1, 2
"""


def api_functions(url: str) -> list[tuple[str, str, list[str], set[str]]]:
    with psycopg.connect(url) as c:
        return [(name, sig, types, set(grantees)) for name, sig, types, grantees in c.execute(API_SQL)]


def test_every_api_function_is_granted_to_job_groups_only(db_url):
    fns = api_functions(db_url)
    assert len(fns) >= 10
    for name, sig, _types, grantees in fns:
        assert grantees, f"{sig} is executable by nobody (or everybody)"
        # job groups (or a service group such as a radio gateway), never a person's own login
        assert all(g.startswith("cr_") or g == "controlroom_owner" for g in grantees), (sig, grantees)


@pytest.mark.parametrize("job", sorted(OPERATORS))
def test_direct_sql_matrix(db_url, job):
    """As this job group's operator with psql: each api function is callable exactly when the
    ladder says so (a refused call fails on EXECUTE, before any of its code runs)."""
    wrong: list[str] = []
    with operator_connect(db_url, OPERATORS[job]) as c:
        c.execute("SET statement_timeout = '5s'")
        c.commit()
        for name, sig, types, grantees in api_functions(db_url):
            expected = bool(GROUPS_OF[job] & grantees)
            args = ", ".join(f"NULL::{t}" for t in types)
            try:
                c.execute(f"SELECT api.{name}({args})")
                outcome = "ran"
            except psycopg.errors.InsufficientPrivilege as exc:
                outcome = "no-execute" if "permission denied for function" in str(exc) else "refused-inside"
            except psycopg.Error:
                outcome = "ran"  # got past EXECUTE; refused its NULL arguments
            finally:
                c.rollback()
            if expected and outcome == "no-execute":
                wrong.append(f"{sig}: {job} should be able to call it")
            if not expected and outcome != "no-execute":
                wrong.append(f"{sig}: {job} could call it ({outcome})")
    assert not wrong, "\n".join(wrong)


# facade call per api function (extend as services are converted): (session, incident id) -> call
FACADE: dict[str, Callable[[Any, int], Any]] = {
    "incident_add_log": lambda s, inc: s.incidents.add_log(inc, "role matrix"),
    "room_fallback": lambda s, inc: s.exercise.set_fallback(on=False),
    "audit_exported": lambda s, inc: s.audit.export_csv(action="incident.created"),
    "console_unlocked": lambda s, inc: s.verify_password("demo"),
}
LIVE_ONLY_TRAINING_REFUSED = {"trainer"}  # trainers act in training databases only


@pytest.fixture(scope="module")
def matrix_incident(db_url):
    from controlroom.session import open_session
    with open_session(db_url, "handler.north", "demo", "MATRIX-SETUP") as s:
        return s.incidents.create(channel="999", incident_type="RTC", summary="matrix", lat=MK[0], lon=MK[1]).id


@pytest.mark.parametrize("job", sorted(OPERATORS))
def test_facade_matrix(db_url, job, matrix_incident, open_as):
    s = open_as(OPERATORS[job])
    grants = {name: grantees for name, _sig, _t, grantees in api_functions(db_url)}
    wrong = []
    for name, call in FACADE.items():
        if name not in grants:
            continue
        expected = bool(GROUPS_OF[job] & grants[name]) and (
            job not in LIVE_ONLY_TRAINING_REFUSED or name == "console_unlocked")
        try:
            call(s, matrix_incident)
            outcome = True
        except NotPermitted:
            outcome = False
        except ControlRoomError:
            outcome = True  # permitted, refused for another reason
        if outcome != expected:
            wrong.append(f"{name}: {job} {'was refused' if expected else 'was allowed'}")
    assert not wrong, "\n".join(wrong)
