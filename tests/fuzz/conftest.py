"""One database and one set of signed-in sessions per fuzz module (opening sessions is slow)."""
from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from controlroom.session import open_session

from .harness import Probe, World

ROLES = ("inspector.north", "despatch.north", "handler.north", "super.south", "auditor")
_console = itertools.count(1)


@pytest.fixture(scope="module")
def world(db_url) -> Iterator[World]:
    sessions = {u.split(".")[0]: open_session(db_url, u, "demo", f"FZ-{next(_console):03d}") for u in ROLES}
    insp = sessions["inspector"]
    # Something to act on: open incidents in both rooms (one of them flagged firearms), contacts.
    for lat, lon, t, g, fa in ((52.0406, -0.7594, "DOMESTIC", "G2", False),
                               (51.7520, -1.2577, "BURGLARY", "G3", False),
                               (51.4550, -0.9690, "FIREARMS", "G1", True),
                               (52.0410, -0.7600, "CONCERN", None, False)):
        insp.incidents.create(channel="999", incident_type=t, summary=f"fuzz seed {t}", lat=lat, lon=lon,
                              grade=g, firearms=fa)
    closed = insp.incidents.create(channel="999", incident_type="CONCERN", summary="fuzz seed closed",
                                   lat=52.0406, lon=-0.7594)
    insp.incidents.close(closed.id, closing_code="NFA", result="fuzz seed")
    for ch, frm in (("999", "07700 900001"), ("101", "07700 900002"), ("999", "07700 900003")):
        sessions["handler"].contacts.receive(ch, from_=frm, text="fuzz seed contact")
    w = World(probe=Probe(db_url), sessions=sessions)
    yield w
    w.probe.close()
    for s in sessions.values():
        s.close()
