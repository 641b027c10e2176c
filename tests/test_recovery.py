"""Vehicle Recovery Scheme (issue 23): fair rotation per area, skips with reasons, times, report
per operator against the contracted response time."""
from __future__ import annotations

from collections import Counter

import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, OXFORD
from .helpers import new, sql

SLOUGH = (51.5105, -0.5950)  # berks-east: two operators on the demo rota


def job_for(s, at=MK, **kw):
    inc = new(s, incident_type="RTC", summary="Two cars, one undriveable", at=at)
    args = dict(incident_id=inc.id, vrm="dm24 abc", location="A5 southbound near J14", reason="RTC damage")
    args.update(kw)
    return s.recovery.request(**args)


def test_offers_rotate_fairly_through_the_area_rota(open_as, fresh_db_url):
    d = open_as("despatch.north", url=fresh_db_url)
    offered = []
    for _ in range(6):
        job = job_for(d)
        offered.append(job.operator_code)
        job = d.recovery.accept(job.id, eta_minutes=25)
    assert offered == ["MKREC1", "MKREC2", "MKREC3"] * 2  # round robin in rota order
    assert job.vrm == "DM24 ABC" and job.status == "accepted" and job.area_code == "mk"


def test_a_skip_is_recorded_with_its_reason_and_uses_that_operators_turn(open_as, fresh_db_url):
    d = open_as("despatch.north", url=fresh_db_url)
    first = job_for(d)
    assert first.operator_code == "MKREC1"
    moved = d.recovery.skip(first.id, reason="No answer on the 24-hour line")
    assert moved.operator_code == "MKREC2" and moved.status == "offered"
    d.recovery.accept(first.id, eta_minutes=30)
    offers = d.recovery.offers(first.id)
    assert [(o.operator_code, o.outcome, o.skip_reason) for o in offers] == [
        ("MKREC1", "skipped", "No answer on the 24-hour line"), ("MKREC2", "accepted", None)]
    # the skipped operator does not jump the queue: the next job goes to the next turn
    assert job_for(d).operator_code == "MKREC3"
    assert job_for(d).operator_code == "MKREC1"
    with pytest.raises(InvalidInput, match="(?i)why"):
        d.recovery.skip(first.id, reason=" ")


def test_when_every_operator_is_skipped_the_job_is_unfilled(open_as, fresh_db_url):
    d = open_as("despatch.north", url=fresh_db_url)
    job = job_for(d, at=SLOUGH)
    assert job.area_code == "berks-east"
    job = d.recovery.skip(job.id, reason="Declined: no low loader")
    job = d.recovery.skip(job.id, reason="Declined: already on a job")
    assert job.status == "unfilled" and job.operator_code is None
    with pytest.raises(Conflict, match="no offer waiting"):
        d.recovery.accept(job.id, eta_minutes=20)


def test_times_follow_the_job_and_out_of_order_steps_are_refused(open_as, db_url):
    d = open_as("despatch.south")
    job = job_for(d, at=OXFORD)
    with pytest.raises(Conflict, match="cannot be marked arrived"):
        d.recovery.arrived(job.id)
    with pytest.raises(InvalidInput, match="ETA"):
        d.recovery.accept(job.id, eta_minutes=0)
    job = d.recovery.accept(job.id, eta_minutes=35)
    assert job.eta_minutes == 35 and job.accepted_at >= job.requested_at
    job = d.recovery.arrived(job.id)
    job = d.recovery.cleared(job.id)
    assert job.status == "cleared" and job.cleared_at >= job.arrived_at >= job.accepted_at
    kinds = [r[0] for r in sql(db_url, "SELECT action FROM audit_log WHERE entity = %s ORDER BY id",
                               (f"recovery:{job.id}",))]
    assert kinds == ["recovery.requested", "recovery.accepted", "recovery.arrived", "recovery.cleared"]
    assert d.recovery.open_jobs(incident_id=job.incident_id)[0].urn == job.urn


def test_report_per_operator_against_contracted_time(open_as, fresh_db_url):
    d = open_as("despatch.north", url=fresh_db_url)
    jobs = []
    for _ in range(3):
        j = job_for(d)
        d.recovery.accept(j.id, eta_minutes=20)
        d.recovery.arrived(j.id)
        jobs.append(j)
    # MKREC1 took 50 minutes (contract 30): late; MKREC2 took 10 minutes
    sql(fresh_db_url, "UPDATE recovery_jobs SET accepted_at = arrived_at - interval '50 minutes', "
                      "requested_at = arrived_at - interval '55 minutes' WHERE id = %s", (jobs[0].id,))
    sql(fresh_db_url, "UPDATE recovery_jobs SET accepted_at = arrived_at - interval '10 minutes', "
                      "requested_at = arrived_at - interval '12 minutes' WHERE id = %s", (jobs[1].id,))
    rep = {r.code: r for r in d.recovery.report(area_code="mk")}
    assert rep["MKREC1"].attended == 1 and rep["MKREC1"].within_contract == 0
    assert rep["MKREC1"].mean_response_min == pytest.approx(50, abs=0.2)
    assert rep["MKREC2"].within_pct == 100.0
    assert Counter(r.offers for r in rep.values()) == Counter({1: 3})


@pytest.mark.parametrize("who", ["handler.north", "auditor"])
def test_handlers_and_auditors_may_not_request_recovery(open_as, db_url, who):
    d = open_as("despatch.north")
    inc = new(d, incident_type="RTC", at=MK)
    with pytest.raises(NotPermitted):
        open_as(who).recovery.request(incident_id=inc.id, vrm="DM1", location="here", reason="RTC")
    assert sql(db_url, "SELECT count(*) FROM recovery_jobs WHERE incident_id = %s", (inc.id,)) == [(0,)]
