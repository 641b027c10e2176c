"""Demo data for the control room's other functions (issue 23): starter guidance documents and
the Vehicle Recovery Scheme rota. Loaded with the demo force, written as the database owner (there
is no operator at seeding time), every row marked as demo content."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from ..kernel import config
from ..kernel.config import to_json

SEEDED_BY = "demo-seed"


def seed_functions(conn: Connection, *, today: date | None = None) -> None:
    seed_reference_docs(conn, today=today)
    seed_recovery_rota(conn)


def seed_recovery_rota(conn: Connection) -> None:
    """The demo force's Vehicle Recovery Scheme rota (resources/recovery_rota.yaml), in rota order."""
    for area, ops in config.load_resource("recovery_rota")["operators"].items():
        for pos, o in enumerate(ops, start=1):
            conn.execute(text(
                "INSERT INTO recovery_operators (code, name, area_code, phone, contracted_minutes, rota_position, demo) "
                "VALUES (:c, :n, :a, :p, :m, :pos, true)"),
                {"c": o["code"], "n": o["name"], "a": area, "p": o.get("phone"), "m": int(o["contracted_minutes"]),
                 "pos": pos})


def seed_reference_docs(conn: Connection, *, today: date | None = None) -> None:
    today = today or date.today()
    for d in config.load_resource("reference_docs")["documents"]:
        review = today + timedelta(days=int(d["review_in_days"]))
        doc_id: int = conn.execute(text(
            "INSERT INTO ref_documents (kind, title, body, owner, review_due, demo, created_by, updated_by) "
            "VALUES (:k, :t, :b, :o, :r, true, :u, :u) RETURNING id"),
            {"k": d["kind"], "t": d["title"], "b": d["body"].strip(), "o": d["owner"], "r": review,
             "u": SEEDED_BY}).scalar_one()
        links: dict[str, Any] = {"incident_types": sorted(d.get("incident_types") or []),
                                 "flags": sorted(d.get("flags") or [])}
        for t in links["incident_types"]:
            conn.execute(text("INSERT INTO ref_document_links (document_id, incident_type) VALUES (:d, :t)"),
                         {"d": doc_id, "t": t})
        for f in links["flags"]:
            conn.execute(text("INSERT INTO ref_document_links (document_id, flag) VALUES (:d, :f)"),
                         {"d": doc_id, "f": f})
        conn.execute(text(
            "INSERT INTO ref_document_versions (document_id, version, kind, title, body, owner, review_due, "
            "links, changed_by, change_note) VALUES (:d, 1, :k, :t, :b, :o, :r, CAST(:l AS jsonb), :u, "
            "'Starter document for the demo force (demo content)')"),
            {"d": doc_id, "k": d["kind"], "t": d["title"], "b": d["body"].strip(), "o": d["owner"],
             "r": review, "l": to_json(links), "u": SEEDED_BY})
