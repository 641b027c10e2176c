"""The NENA EIDO JSON schema (NENA-STA-021, OpenAPI 3.0), loaded for conformance tests.

The schema files are NENA's and carry no licence, so they are not in this repository: they are
read from ../shared/eido/ beside the repository, or from the folder in CONTROLROOM_EIDO_SCHEMA,
and tests that need them skip with the reason when they are absent. Everything resolves offline:
every file is registered with `referencing` under its own file URI, so the NIEM component $refs
(`NIEMComponents/nc.yaml#/components/schemas/...`) resolve from disk.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT_TYPE = "EmergencyIncidentDataObjectType"
SAMPLE = "Sample_call_transfer_EIDO.json"


def schema_dir() -> Path | None:
    """Where the NENA files are, or None (tests then skip)."""
    env = os.environ.get("CONTROLROOM_EIDO_SCHEMA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[1]
    candidates += [here.parent.parent / "shared" / "eido", here.parent / "shared" / "eido",
                   Path("/work/shared/eido")]
    for c in candidates:
        if (c / "openapi.yaml").is_file() and (c / "NIEMComponents").is_dir():
            return c
    return None


def skip_reason() -> str:
    return ("NENA EIDO schema not found: put NENA's openapi.yaml and NIEMComponents/ (EIDO-JSON "
            "repository) in ../shared/eido/ or point CONTROLROOM_EIDO_SCHEMA at a folder holding them")


def _fix(node: Any) -> Any:
    """Known defects of the published files, repaired in memory (see ../shared/eido/README.md)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("minItems", "maxItems") and isinstance(v, str):
                v = int(v.strip(", "))            # AgentType.agentRoleRegistryText: minItems: '1,'
            elif k == "$ref" and isinstance(v, str):
                v = v.replace("//", "/")          # 'NIEMComponents//j.yaml#...'
            out[k] = _fix(v)
        return out
    if isinstance(node, list):
        return [_fix(v) for v in node]
    return node


def _load(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return _fix(yaml.safe_load(fh))


@functools.cache
def validator(type_name: str = ROOT_TYPE, main: str = "openapi.yaml") -> jsonschema.Validator:
    """A validator for one schema of components.schemas (OpenAPI 3.0 schema objects are draft 4
    JSON Schema with a few extra keywords, which draft 4 ignores)."""
    base = schema_dir()
    if base is None:
        raise FileNotFoundError(skip_reason())
    registry: Registry = Registry()
    main_uri = (base / main).as_uri()
    registry = registry.with_resource(main_uri, Resource(_load(base / main), DRAFT4))
    for f in sorted((base / "NIEMComponents").glob("*.yaml")):
        registry = registry.with_resource(f.as_uri(), Resource(_load(f), DRAFT4))
    entry = {"$ref": f"{main_uri}#/components/schemas/{type_name}"}
    return jsonschema.Draft4Validator(entry, registry=registry, format_checker=_formats())


def _formats() -> jsonschema.FormatChecker:
    from controlroom.exchange.eido import format_checker
    return format_checker()


PUBLISHED = "openapi_STA-021.1b_2022.yaml"  # the last published version (the default is the current draft)


def errors(doc: Any, type_name: str = ROOT_TYPE, main: str = "openapi.yaml") -> list[jsonschema.ValidationError]:
    return list(validator(type_name, main).iter_errors(doc))


def sample() -> dict[str, Any]:
    import json
    base = schema_dir()
    assert base is not None, skip_reason()
    return json.loads((base / SAMPLE).read_text(encoding="utf-8"))
