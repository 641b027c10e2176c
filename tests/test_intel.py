"""Intelligence checks (issue 23): purpose required, adapter result recorded and relayed, every
step audited with who asked, who ran it, why and what came back; supervisors review by operator."""
from __future__ import annotations

import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted
from controlroom.services.intel.adapters import DemoIntelAdapter, IntelResult

from .helpers import new, sql


def test_a_check_without_a_purpose_is_refused_and_nothing_is_written(open_as, db_url):
    d = open_as("despatch.north")
    before = sql(db_url, "SELECT count(*) FROM intel_checks")[0][0]
    for purpose, reason in ((None, "driving erratically"), ("", "x y z"), ("vehicle_stop", " "),
                            ("vehicle_stop", None)):
        with pytest.raises(InvalidInput):
            d.intel.check(callsign="MK11", subject_kind="vehicle", subject="DM19 XYZ", purpose=purpose,
                          reason=reason)
    with pytest.raises(InvalidInput, match="not recognised"):
        d.intel.check(callsign="MK11", subject_kind="vehicle", subject="DM19 XYZ", purpose="curiosity",
                      reason="just wondering")
    assert sql(db_url, "SELECT count(*) FROM intel_checks")[0][0] == before


def test_vehicle_check_returns_demo_markers_and_is_relayed(open_as):
    d = open_as("despatch.north")
    inc = new(d, incident_type="SUSPICIOUS", summary="Car circling the estate")
    chk = d.intel.check(callsign="MK11", incident_id=inc.id, subject_kind="vehicle", subject="dm19xyz",
                        purpose="vehicle_stop", reason="Stopped on Midsummer Blvd, driver nervous")
    assert chk.status == "returned" and chk.ran_by == "despatch.north" and chk.source == "demo-records"
    assert "STOLEN" in chk.markers and chk.result_summary.startswith("WARNING MARKERS: STOLEN")
    assert chk.result["demo"] is True
    relayed = d.intel.relay(chk.id, note="passed to MK11 on MK primary")
    assert relayed.status == "relayed" and relayed.relayed_by == "despatch.north"
    with pytest.raises(Conflict, match="already relayed"):
        d.intel.relay(chk.id)


def test_every_step_is_audited_with_who_asked_who_ran_it_why_and_what_came_back(open_as, db_url):
    d = open_as("despatch.south", console_id="S-DSP-3")
    chk = d.intel.check(callsign="OX11", subject_kind="person", subject="Demo Person Two 1979-11-30",
                        purpose="warrant", reason="Male detained, gives this name")
    d.intel.relay(chk.id)
    rows = sql(db_url, "SELECT action, username, console_id, details FROM audit_log WHERE entity = %s ORDER BY id",
               (f"intel:{chk.id}",))
    assert [r[0] for r in rows] == ["intel.requested", "intel.returned", "intel.relayed"]
    assert all(r[1] == "despatch.south" and r[2] == "S-DSP-3" for r in rows)
    asked = rows[0][3]
    assert asked["callsign"] == "OX11" and asked["purpose"] == "warrant" and asked["reason"].startswith("Male")
    returned = rows[1][3]
    assert returned["ran_by"] == "despatch.south" and "WANTED" in returned["result"]["markers"]
    assert "WANTED" in returned["result_summary"]


@pytest.mark.parametrize("who", ["handler.north", "auditor"])
def test_handlers_and_auditors_may_not_run_checks(open_as, db_url, who):
    s = open_as(who)
    with pytest.raises(NotPermitted):
        s.intel.check(callsign="MK11", subject_kind="vehicle", subject="DM24 ABC", purpose="vehicle_stop",
                      reason="routine stop")
    assert sql(db_url, "SELECT count(*) FROM audit_log WHERE username = %s AND action = 'intel.check' "
                       "AND outcome = 'refused'", (who,))[0][0] >= 1


def test_supervisor_sees_checks_by_operator_and_purpose_despatcher_may_not(open_as):
    a, b = open_as("despatch.north"), open_as("inspector.north")
    for _ in range(2):
        a.intel.check(callsign="MK12", subject_kind="address", subject="1 Demo Street, Aylesbury",
                      purpose="safeguarding", reason="Child welfare visit")
    b.intel.check(callsign="MK12", subject_kind="vehicle", subject="DM24 ABC", purpose="vehicle_stop",
                  reason="No lights")
    sup = open_as("super.north")
    tally = {(t.operator, t.purpose): t.checks for t in sup.intel.by_operator_and_purpose()}
    assert tally[("despatch.north", "safeguarding")] >= 2 and tally[("inspector.north", "vehicle_stop")] >= 1
    mine = sup.intel.recent(operator="despatch.north", purpose="safeguarding")
    assert mine and all(c.requested_by == "despatch.north" and c.purpose == "safeguarding" for c in mine)
    assert open_as("auditor").intel.by_operator_and_purpose()
    with pytest.raises(NotPermitted):
        a.intel.by_operator_and_purpose()


def test_unknown_unit_is_refused_with_a_clear_message(open_as):
    with pytest.raises(InvalidInput, match="Unit NOPE99 not found"):
        open_as("despatch.north").intel.check(callsign="NOPE99", subject_kind="vehicle", subject="DM24 ABC",
                                              purpose="vehicle_stop", reason="routine stop")


def test_a_force_adapter_plugs_in_behind_the_interface(open_as):
    class Gateway:
        name = "force-gateway"

        def check(self, *, subject_kind, subject):
            return IntelResult(source=self.name, summary=f"{subject_kind} {subject}: no trace")

    d = open_as("despatch.north")
    d.intel.adapter = Gateway()
    chk = d.intel.check(callsign="MK11", subject_kind="vehicle", subject="AB12 CDE", purpose="vehicle_stop",
                        reason="routine stop")
    assert chk.source == "force-gateway" and chk.result_summary == "vehicle AB12 CDE: no trace"
    assert chk.result == {"markers": [], "records": [], "demo": False}


def test_demo_adapter_says_demo_and_no_trace():
    res = DemoIntelAdapter().check(subject_kind="vehicle", subject="ZZ99 ZZZ")
    assert res.demo and res.summary.startswith("DEMO") and not res.markers
