"""Incident exchange in NENA EIDO (NENA-STA-021): build a document from the database, check one.

A document is a set of components, each carrying its own $id, last-update time, owning agency and
the agent who updated it, linked to each other by {"$ref": $id}, so an incident passed between
agencies keeps every record's author. Components received from a partner are stored with the
import and re-exported as received. What NENA has no place for lives in `uk:` extension
components declared in `@context` (docs/EXCHANGE.md). Received documents are checked against our
strict schema (resources/eido.schema.json), after limits on size, item count and depth, and every
$ref must resolve within the document.
"""
from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any

import jsonschema
from sqlalchemy import Connection, text

from ..kernel import config
from .eido_export import EXTENSIONS, UK_NAMESPACE, UK_PREFIX, carry, to_nena
from .eido_record import (DEFAULT_AGENCY, FLAGS, IMPORT_LOG_KINDS, agency_of, build_local, component_id,
    incident_types_for, tracking_id, ts)
from ..kernel.errors import InvalidInput

__all__ = ["AGENCY_ID", "AGENCY_NAME", "FLAGS", "IMPORT_LOG_KINDS", "EXTENSIONS", "UK_NAMESPACE", "UK_PREFIX",
           "agency_of", "build_document", "build_record", "component_id", "incident_types_for", "parse",
           "received_documents", "tracking_id", "ts"]

AGENCY_ID, AGENCY_NAME = DEFAULT_AGENCY
# Limits checked before a received document is parsed or walked (a partner's EIDO is a few kB;
# NENA's sample is 12 kB, our richest export about 40 kB).
MAX_BYTES = 2_000_000
MAX_ITEMS = 50_000
MAX_DEPTH = 24


def received_documents(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """Partners' documents stored with the incident at import (each without our own components)."""
    if conn.execute(text("SELECT to_regclass('incident_partner_refs')")).scalar() is None:
        return []
    return [r[0] for r in conn.execute(text(
        "SELECT document FROM incident_partner_refs WHERE incident_id = :i ORDER BY id"), {"i": incident_id})]


def build_document(conn: Connection, incident_id: int, *, exporter: str = "system",
                   agency: str | None = None, agency_name: str | None = None) -> dict[str, Any]:
    """The incident as a NENA EIDO document: our components plus partners' as received."""
    own_id, own_name = agency_of(conn)
    rec = build_local(conn, incident_id, agency=agency or own_id, agency_name=agency_name or own_name)
    received = received_documents(conn, incident_id)
    # An incident we received keeps its global identifier (the first agency's tracking id).
    refs = rec["incidentComponent"]["partnerReferences"]
    root = refs[0]["trackingIdentifier"] if refs else None
    return carry(to_nena(rec, exporter=exporter, root_id=root), received)


def build_record(conn: Connection, incident_id: int) -> dict[str, Any]:
    """Our record in the internal shape the printable report reads, partners' records included."""
    from .eido_import import record_parts
    own_id, own_name = agency_of(conn)
    rec = build_local(conn, incident_id, agency=own_id, agency_name=own_name)
    for doc in received_documents(conn, incident_id):
        for key, items in record_parts(doc).items():
            rec[key] = items + rec.get(key, [])
    return rec


# ---- checking a received document ----------------------------------------------------------------
@functools.cache
def schema() -> dict[str, Any]:
    with open(config.resource_path("eido.schema.json"), encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


_formats = jsonschema.FormatChecker()


def format_checker() -> jsonschema.FormatChecker:
    """Formats our schema (and the tests' NENA check) enforce: date-time with a zone, URIs."""
    return _formats


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError("not RFC 3339")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return True


def _is_uri(value: object) -> bool:
    if isinstance(value, str) and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value):
        raise ValueError("not a URI")
    return True


# Registered by a call, not as decorators: jsonschema has no type information, so its decorator
# would make the checkers untyped to mypy.
_formats.checks("date-time", raises=ValueError)(_is_datetime)
_formats.checks("uri", raises=ValueError)(_is_uri)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema(), format_checker=_formats)


def _refused(message: str, **kw: Any) -> InvalidInput:
    return InvalidInput(f"{message} Nothing was imported.", field="document", **kw)


def _depth_of_text(raw: str) -> int:
    """Deepest [ / { nesting of JSON text, strings skipped (checked before json.loads recurses)."""
    skeleton = re.sub(r'"(?:[^"\\]|\\.)*"', "", raw)
    depth = deepest = 0
    for ch in re.sub(r"[^\[\]{}]", "", skeleton):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def check_limits(doc: Any) -> None:
    """Size, item count and nesting depth within our limits, without recursion (InvalidInput)."""
    stack, items, size = [(doc, 1)], 0, 0
    while stack:
        node, depth = stack.pop()
        items += 1
        if items > MAX_ITEMS:
            raise _refused(f"The file has more than {MAX_ITEMS:,} values (the limit for one incident).")
        if depth > MAX_DEPTH:
            raise _refused(f"The file is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            size += len(node)  # a dict handed in directly: its text must fit the same limit
            if size > MAX_BYTES:
                raise _refused(f"The document's text is larger than the limit of {MAX_BYTES:,} bytes.")


def load(doc: Any) -> Any:
    """JSON text/bytes/dict -> the parsed value, refusing oversized, too many or too deep values."""
    if isinstance(doc, (bytes, bytearray)):
        if len(doc) > MAX_BYTES:
            raise _refused(f"The file is {len(doc):,} bytes; the limit is {MAX_BYTES:,}.")
        try:
            doc = bytes(doc).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _refused("The file is not readable JSON (it is not UTF-8 text).") from exc
    if isinstance(doc, str):
        if len(doc.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise _refused(f"The file is larger than the limit of {MAX_BYTES:,} bytes.")
        if _depth_of_text(doc) > MAX_DEPTH:
            raise _refused(f"The file is nested more than {MAX_DEPTH} levels deep.")
        try:
            doc = json.loads(doc)
        except RecursionError as exc:  # not reachable after the depth check; kept as a guard
            raise _refused("The file is nested too deeply.") from exc
        except ValueError as exc:
            raise _refused(f"The file is not readable JSON ({getattr(exc, 'msg', exc)}: line "
                           f"{getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')}).") from exc
    check_limits(doc)
    return doc


def unresolved_refs(doc: Any) -> list[tuple[str, str]]:
    """(path, $ref) of every reference that names no $id in the document."""
    ids: set[str] = set()
    refs: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                ids.add(node["$id"])
            if isinstance(node.get("$ref"), str) and len(node) == 1:
                refs.append((path, node["$ref"]))
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i + 1}]") for i, v in enumerate(node))
    return sorted((p, r) for p, r in refs if r not in ids)


def errors(doc: Any) -> list[str]:
    """Every problem our strict schema finds (schema errors, then unresolved $refs), in words."""
    out = [describe(e) for e in _validator().iter_errors(doc)]
    out += [f"In {p}: '{r}' refers to nothing in the document." for p, r in unresolved_refs(doc)]
    return out


def parse(doc: Any) -> dict[str, Any]:
    """The document as a dict if it passes our limits and strict schema; otherwise InvalidInput
    naming the FIRST problem."""
    doc = load(doc)
    # The first error in schema order (root fields, then each component in turn) is the one to fix.
    first = next(iter(_validator().iter_errors(doc)), None)
    if first is not None:
        raise InvalidInput(describe(first) + " Nothing was imported.", field="document", path=_path(first))
    dangling = unresolved_refs(doc)
    if dangling:
        path, target = dangling[0]
        raise InvalidInput(f"In {path}: '{target}' refers to nothing in the document. Nothing was imported.",
                           field="document", path=path)
    checked: dict[str, Any] = doc  # the schema's root is an object
    return checked


def _path(err: jsonschema.ValidationError) -> str:
    parts = [f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if i else str(p))
             for i, p in enumerate(err.absolute_path)]
    return "".join(parts) or "the document"


def describe(err: jsonschema.ValidationError) -> str:
    """One validation error in words an operator can act on."""
    where = _path(err)
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"The file is incomplete: {where} has no '{missing}'."
    if v == "type":
        return f"In {where}: expected {err.validator_value}, found {_json_kind(err.instance)}."
    if v == "enum":
        allowed = ", ".join(map(str, err.validator_value))
        return f"In {where}: '{err.instance}' is not one of {allowed}."
    if v == "format":
        return f"In {where}: '{err.instance}' is not a valid {err.validator_value} (use ISO 8601 with a time zone)."
    if v == "minItems":
        return f"In {where}: at least {err.validator_value} entry is needed, the list is empty."
    if v == "minLength":
        return f"In {where}: the value is empty."
    if v in ("maxLength", "maxItems"):
        return f"In {where}: the value is too long (at most {err.validator_value})."
    if v in ("minimum", "maximum"):
        return f"In {where}: {err.instance} is out of range."
    if v == "const":
        return f"In {where}: expected '{err.validator_value}'."
    if v == "additionalProperties":
        return f"In {where}: {err.message}."
    if v == "pattern":
        return f"In {where}: '{err.instance}' is not in the expected form."
    return f"In {where}: {err.message}."


def _json_kind(value: object) -> str:
    """The JSON name of a value's type, as a partner's developer would say it (never Python's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value of another kind"
