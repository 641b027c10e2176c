"""Type checking in CI (issue 24): `python -m mypy` with the [tool.mypy] section of pyproject.toml
checks the whole controlroom package — every module with mypy's default checks plus the bodies of
unannotated functions, and the kernel, db, models, session, geo, replay, exchange, workforce, demo
and the clean service modules with every check of `mypy --strict`. A type error there fails this test
(mypy's output is printed)."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The strict set only grows: a module (or package pattern) listed here must stay in pyproject's
# strict override. Add to both when a module is made clean.
STRICT_AT_LEAST = {
    "controlroom.errors", "controlroom.session", "controlroom.kernel.*", "controlroom.db.*",
    "controlroom.models.*", "controlroom.geo.*", "controlroom.replay.*", "controlroom.exchange.*",
    "controlroom.workforce.*", "controlroom.demo.*", "controlroom.services.base",
    "controlroom.services.events", "controlroom.services.validate", "controlroom.services.views",
    "controlroom.services.audit", "controlroom.services.audit.qa", "controlroom.services.command",
    "controlroom.services.command.methane", "controlroom.services.command.views",
    "controlroom.services.contacts", "controlroom.services.contacts.rules", "controlroom.services.exchange",
    "controlroom.services.incidents", "controlroom.services.incidents.clock",
    "controlroom.services.incidents.lifecycle", "controlroom.services.incidents.prompts",
    "controlroom.services.incidents.related", "controlroom.services.incidents.signoff",
    "controlroom.services.incidents.views", "controlroom.services.intel",
    "controlroom.services.intel.adapters", "controlroom.services.rooms", "controlroom.services.rooms.handoff",
    "controlroom.services.rooms.presence", "controlroom.services.rooms.service",
    "controlroom.services.talkgroups", "controlroom.services.talkgroups.views",
    "controlroom.services.training", "controlroom.services.units",
}
# Modules whose errors are not reported yet (the debt): this list only shrinks.
UNCHECKED_AT_MOST = {
    "controlroom.services.alerts", "controlroom.services.audit.anchor", "controlroom.services.audit.service",
    "controlroom.services.command.service", "controlroom.services.contacts.service",
    "controlroom.services.exchange.importer", "controlroom.services.exchange.service",
    "controlroom.services.incidents.service", "controlroom.services.intel.service",
    "controlroom.services.paper", "controlroom.services.recovery", "controlroom.services.reference",
    "controlroom.services.talkgroups.service", "controlroom.services.units.index",
    "controlroom.services.units.service", "controlroom.services.workforce",
}


def _mypy(*args: str, cwd: Path = ROOT, cache: str = ".mypy_cache") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # this checkout's controlroom, not an installed one
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--cache-dir", str(ROOT / cache), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout, proc.stderr, sep="\n")
    return proc


def _overrides() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]["overrides"]


def _strict_modules() -> list[str]:
    (strict,) = [o for o in _overrides() if o.get("disallow_untyped_defs")]
    return strict["module"]


def test_whole_package_type_checks_with_the_strict_set_strict():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == ["controlroom"] and config["check_untyped_defs"] is True
    proc = _mypy()
    assert proc.returncode == 0, proc.stdout
    n_files = len([p for p in (ROOT / "controlroom").rglob("*.py") if "migrations" not in p.parts])
    assert f"no issues found in {n_files} source files" in proc.stdout


def test_strict_set_did_not_shrink_and_the_unchecked_debt_did_not_grow():
    strict = set(_strict_modules())
    assert STRICT_AT_LEAST <= strict, f"left the strict set: {sorted(STRICT_AT_LEAST - strict)}"
    unchecked = {m for o in _overrides() if o.get("ignore_errors") for m in o["module"]}
    assert unchecked <= UNCHECKED_AT_MOST, f"new modules with errors ignored: {sorted(unchecked - UNCHECKED_AT_MOST)}"
    assert not unchecked & strict


def test_strict_set_passes_mypy_strict_itself():
    """The override lists the per-module flags of --strict by hand; mypy's own --strict over the
    same modules (imports followed silently) keeps that list honest if mypy adds a flag."""
    targets: list[str] = []
    for m in _strict_modules():
        targets += ["-p", m[:-2]] if m.endswith(".*") else ["-m", m]
    proc = _mypy("--strict", "--follow-imports=silent", *targets, cache=".mypy_cache/strict")
    assert proc.returncode == 0, proc.stdout


def test_session_services_are_typed_not_any(tmp_path):
    """session.incidents is an IncidentService to the checker (it was Any behind __getattr__): a
    call to a method that does not exist, or a wrong argument type, is caught before it runs."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from controlroom.session import Session\n\n\n"
        "def use(s: Session) -> None:\n"
        "    s.incidents.no_such_method()\n"
        "    s.units.set_status(callsign=42)\n"
        "    s.exercise.not_a_training_method()\n")
    proc = _mypy(str(probe), cwd=tmp_path)
    assert proc.returncode == 1
    assert '"IncidentService" has no attribute "no_such_method"' in proc.stdout
    assert '"TrainingService" has no attribute "not_a_training_method"' in proc.stdout
    assert "probe.py:6: error:" in proc.stdout  # the callsign is a str
