"""Command service latencies on the real database, against a bare INSERT measured in the same run."""
from __future__ import annotations

import time

import pytest

from controlroom.db.engine import libpq_url

from ..conftest import MK
from .baselines import bare_insert, report

N = 200


def timed(fn, n: int = N) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


@pytest.mark.perf
def test_command_write_latencies(db_url, open_as):
    handler, insp = open_as("handler.north"), open_as("inspector.north")
    incs = [handler.incidents.create(channel="999", incident_type="ASSAULT", summary=f"Armed male {i}",
                                     lat=MK[0], lon=MK[1], grade="G1") for i in range(N)]
    report("bare_insert", bare_insert(libpq_url(db_url)))
    report("declare_firearms", timed(lambda i: handler.command.declare_firearms(incs[i].id)))
    report("accept_firearms_command", timed(lambda i: insp.command.accept_firearms_command(incs[i].id)))
    report("authorise_armed_deployment", timed(lambda i: insp.command.authorise_armed_deployment(
        incs[i].id, threat_assessment="Handgun seen", working_strategy="Contain", rationale="Threat to life")))
    report("assign_role", timed(lambda i: insp.command.assign_role(incs[i].id, "TFC", holder=f"TFC {i}")))
    report("log_decision", timed(lambda i: insp.command.log_decision(incs[0].id, stage=1 + i % 5,
                                                                     decision=f"Decision {i}", rationale="r")))
    report("methane_save", timed(lambda i: insp.command.methane(incs[0].id, casualties=str(i))))
    report("current_command", timed(lambda i: insp.command.current_command(incs[i].id)))
    t0 = time.perf_counter()
    views = insp.command.under_command()
    print(f"under_command_{len(views)}_incidents: {(time.perf_counter() - t0) * 1000:.2f} ms")
