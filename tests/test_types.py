"""Type checking in CI (issue 24): `python -m mypy` with the [tool.mypy] section of pyproject.toml
checks the whole controlroom package with every check of `mypy --strict`. A type error anywhere in
controlroom/ fails this test (mypy's output is printed); so does an override that exempts a module."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # this checkout's controlroom, not an installed one
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--cache-dir", str(ROOT / ".mypy_cache"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout, proc.stderr, sep="\n")
    return proc


def test_the_whole_controlroom_package_type_checks_strictly():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == ["controlroom"] and config["strict"] is True
    # The one override is for third-party packages without type information: none relaxes a check
    # of ours (ignore_errors, allow_untyped_defs, disable_error_code, …).
    for override in config.get("overrides", []):
        assert set(override) == {"module", "ignore_missing_imports"}, override
        assert not any(m.startswith("controlroom") for m in override["module"]), override
    proc = _mypy()
    assert proc.returncode == 0, proc.stdout
    n_files = len([p for p in (ROOT / "controlroom").rglob("*.py") if "migrations" not in p.parts])
    assert f"no issues found in {n_files} source files" in proc.stdout


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
