"""The adapter interface to the force's systems for intelligence checks, and the demo adapter.

The national and force systems (PNC, PND, force intelligence) cannot be reached from this build:
a force writes an adapter with this interface for its own gateway and gives it to the session
(`session.intel.adapter = MyAdapter()`). The demo adapter looks checks up in clearly marked local
demo records (resources/intel_demo_records.yaml) and says so in every result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...kernel import config


@dataclass(frozen=True)
class IntelResult:
    source: str                 # which system answered (recorded with the check)
    summary: str                # what is relayed to the officer, warning markers first
    markers: tuple[str, ...] = ()
    records: tuple[dict[str, Any], ...] = field(default=())
    demo: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"markers": list(self.markers), "records": list(self.records), "demo": self.demo}


class IntelAdapter(Protocol):
    name: str

    def check(self, *, subject_kind: str, subject: str) -> IntelResult:
        """Look the subject up; raise ControlRoomError (e.g. Unavailable) if the system cannot answer."""
        ...


def _norm(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


class DemoIntelAdapter:
    """Local demo records only. Every summary says DEMO; nothing here is real."""

    name = "demo-records"

    def __init__(self, records: dict[str, Any] | None = None) -> None:
        self.records = records if records is not None else config.load_resource("intel_demo_records")

    def check(self, *, subject_kind: str, subject: str) -> IntelResult:
        key = _norm(subject)
        if subject_kind == "vehicle":
            hits = [r for r in self.records.get("vehicles", []) if _norm(r["vrm"]) == key]
        elif subject_kind == "person":
            hits = [r for r in self.records.get("people", [])
                    if _norm(r["name"]) in key and (_norm(r["dob"]) in key or not re.search(r"\d", subject))]
        else:
            hits = [r for r in self.records.get("addresses", []) if key and key in _norm(r["address"])]
        if not hits:
            return IntelResult(source=self.name, summary="DEMO: no trace on the demo records.", demo=True)
        markers = tuple(dict.fromkeys(m for r in hits for m in r.get("markers", [])))
        lines = [r["summary"] for r in hits]
        head = f"WARNING MARKERS: {', '.join(markers)}. " if markers else ""
        return IntelResult(source=self.name, summary=head + " ".join(lines), markers=markers,
                           records=tuple(dict(r) for r in hits), demo=True)
