"""Type checking in CI (issue 24): `python -m mypy` with the [tool.mypy] section of pyproject.toml
checks the kernel, the database layer, the models and the session facade strictly. A type error
introduced there fails this test (mypy's output is printed)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # this checkout's controlroom, not an installed one
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--cache-dir", str(ROOT / ".mypy_cache"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout, proc.stderr, sep="\n")
    return proc


def test_kernel_db_models_and_session_type_check_strictly():
    proc = _mypy()
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
