"""Reference database (strategy §6.5): versioned guidance on policies, procedures and good practice.

Everyone reads; supervisors publish (api.reference_save, one call: the new version, its history
row, its links, the event and the audit row). Search is PostgreSQL full-text search: ts_rank for
the order, ts_headline for the snippet, with chr(2)/chr(3) around each match (a document cannot
contain them), returned as plain-text segments so no console ever renders document text as HTML.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import text

from ..kernel import config
from ..kernel.errors import InvalidInput
from .base import ServiceContext
from .validate import code_field, int_id, shown, text_field
from .views import FLAG_NAMES

KINDS = {"policy": "Policy", "procedure": "Procedure", "good_practice": "Good practice"}
START, STOP = "\x02", "\x03"
MAX_BODY = 100_000

_DOC_COLS = """d.id, d.kind, d.title, d.body, d.owner, d.review_due, d.version, d.demo, d.updated_at,
  d.updated_by, d.review_due < current_date AS overdue,
  ARRAY(SELECT incident_type FROM ref_document_links l WHERE l.document_id = d.id
        AND incident_type IS NOT NULL ORDER BY 1) AS incident_types,
  ARRAY(SELECT flag FROM ref_document_links l WHERE l.document_id = d.id AND flag IS NOT NULL ORDER BY 1) AS flags"""

SEARCH_SQL = """
SELECT d.id, d.kind, d.title, d.demo, d.review_due, d.review_due < current_date AS overdue,
       ts_rank(d.search, q) AS rank,
       ts_headline('english', d.body, q, 'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                   || ', MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=" … "') AS snippet
FROM ref_documents d, websearch_to_tsquery('english', :q) q
WHERE d.search @@ q
ORDER BY rank DESC, d.title
LIMIT :limit
"""

# The guidance for what is in front of the operator: documents linked to the incident's type or
# to any of its flags; procedures first, then those matching the type, then by title.
FOR_INCIDENT_SQL = f"""
SELECT {_DOC_COLS},
       ARRAY(SELECT coalesce('type ' || l.incident_type, 'flag ' || l.flag) FROM ref_document_links l
             WHERE l.document_id = d.id AND (l.incident_type = :t OR l.flag = ANY(CAST(:flags AS text[])))
             ORDER BY 1 DESC) AS matched_by
FROM ref_documents d
WHERE EXISTS (SELECT 1 FROM ref_document_links l WHERE l.document_id = d.id
              AND (l.incident_type = :t OR l.flag = ANY(CAST(:flags AS text[]))))
ORDER BY d.kind <> 'procedure',
         NOT EXISTS (SELECT 1 FROM ref_document_links l WHERE l.document_id = d.id AND l.incident_type = :t),
         d.title
"""


@dataclass(frozen=True)
class RefDocumentView:
    id: int
    kind: str
    title: str
    body: str
    owner: str
    review_due: date
    version: int
    demo: bool
    updated_at: datetime
    updated_by: str
    overdue: bool
    incident_types: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    matched_by: tuple[str, ...] = ()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class RefVersionView:
    version: int
    title: str
    body: str
    owner: str
    review_due: date
    changed_at: datetime
    changed_by: str
    change_note: str


@dataclass(frozen=True)
class RefHit:
    id: int
    kind: str
    title: str
    rank: float
    snippet: tuple[tuple[str, bool], ...]  # (text, is_match): plain text, never markup
    overdue: bool
    demo: bool

    @property
    def snippet_text(self) -> str:
        return "".join(f"[{t}]" if m else t for t, m in self.snippet)


def split_snippet(raw: str) -> tuple[tuple[str, bool], ...]:
    """ts_headline output with chr(2)…chr(3) around matches -> (text, is_match) segments."""
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(raw.split(START)):
        if i == 0:
            if part:
                out.append((part, False))
            continue
        hit, _, rest = part.partition(STOP)
        if hit:
            out.append((hit, True))
        if rest:
            out.append((rest, False))
    return tuple(out)


def _doc(row: Any) -> RefDocumentView:
    m = dict(row)
    for k in ("incident_types", "flags", "matched_by"):
        m[k] = tuple(m.get(k) or ())
    return RefDocumentView(**{k: m[k] for k in RefDocumentView.__dataclass_fields__ if k in m})


class ReferenceService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- reads (everyone) -------------------------------------------------------------------
    def search(self, query: str, *, limit: int = 20) -> list[RefHit]:
        q = text_field(query, "Search", field="query", max_len=200, multiline=False)
        with self.ctx.read() as conn:
            rows = conn.execute(text(SEARCH_SQL), {"q": q, "limit": max(1, min(int(limit), 100))}).mappings()
            return [RefHit(id=r["id"], kind=r["kind"], title=r["title"], rank=float(r["rank"]),
                           snippet=split_snippet(r["snippet"]), overdue=r["overdue"], demo=r["demo"])
                    for r in rows]

    def list(self, *, overdue_only: bool = False) -> list[RefDocumentView]:
        where = "WHERE d.review_due < current_date" if overdue_only else ""
        with self.ctx.read() as conn:
            rows = conn.execute(text(f"SELECT {_DOC_COLS} FROM ref_documents d {where} "
                                     "ORDER BY d.review_due < current_date DESC, d.kind, d.title")).mappings()
            return [_doc(r) for r in rows]

    def get(self, document_id: int) -> RefDocumentView:
        document_id = int_id(document_id, "Document")
        with self.ctx.read() as conn:
            row = conn.execute(text(f"SELECT {_DOC_COLS} FROM ref_documents d WHERE d.id = :id"),
                               {"id": document_id}).mappings().first()
        if row is None:
            raise InvalidInput(f"Document {document_id} not found.", field="document_id")
        return _doc(row)

    def history(self, document_id: int) -> builtins.list[RefVersionView]:
        """Every published version, newest first: who changed what, when and why."""
        document_id = int_id(document_id, "Document")
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT version, title, body, owner, review_due, changed_at, changed_by, change_note "
                "FROM ref_document_versions WHERE document_id = :id ORDER BY version DESC"),
                {"id": document_id}).mappings()
            return [RefVersionView(**r) for r in rows]

    def for_incident(self, *, incident_type: str | None, flags: Iterable[str] = ()) -> builtins.list[RefDocumentView]:
        """The guidance for an incident's type and flags (the incident form's Procedure tab)."""
        flags = [f for f in flags if f in FLAG_NAMES]
        if not incident_type and not flags:
            return []
        with self.ctx.read() as conn:
            rows = conn.execute(text(FOR_INCIDENT_SQL), {"t": incident_type or "", "flags": flags}).mappings()
            return [_doc(r) for r in rows]

    # ---- writes (supervisors) ---------------------------------------------------------------
    def save(self, *, title: str, body: str, owner: str, review_due: date, kind: str = "procedure",
             change_note: str, document_id: int | None = None, expected_version: int | None = None,
             incident_types: Iterable[str] = (), flags: Iterable[str] = ()) -> RefDocumentView:
        """Create a document (no id) or publish its next version (id + the version you edited)."""
        entity = f"reference:{document_id or 'new'}"
        self.ctx.require("reference.edit", entity=entity, what="edit the reference database")
        kind = code_field(kind, "Document kind", field="kind", allowed=KINDS)
        title = text_field(title, "Title", field="title", max_len=200, multiline=False)
        body = text_field(body, "Document text", field="body", max_len=MAX_BODY)
        owner = text_field(owner, "Owner", field="owner", max_len=120, multiline=False)
        change_note = text_field(change_note, "Change note", field="change_note", max_len=500)
        if not isinstance(review_due, date) or isinstance(review_due, datetime):
            raise InvalidInput("Review date must be a date.", field="review_due")
        types = sorted({code_field(t, "Incident type", field="incident_types", allowed=config.incident_types())
                        for t in incident_types})
        flag_list = sorted({code_field(f, "Flag", field="flags", allowed=FLAG_NAMES) for f in flags})
        if document_id is not None:
            document_id = int_id(document_id, "Document")
            if isinstance(expected_version, bool) or not isinstance(expected_version, int):
                raise InvalidInput(f"Say which version you edited ('{shown(expected_version)}' is not one).",
                                   field="expected_version")
        with self.ctx.single() as tx:
            p = tx.call("api.reference_save", document_id=document_id, expected_version=expected_version,
                        kind=kind, title=title, body=body, owner=owner, review_due=review_due,
                        change_note=change_note, incident_types=types, flags=flag_list)
        return self.get(int(p["id"]))
