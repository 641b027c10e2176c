"""Building the wheel and running commands for the tests that install the package into a fresh venv
(tests/test_package.py: the wheel runs from anywhere; tests/test_lower_bounds.py: it runs at the
lowest versions pyproject.toml allows)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run `cmd`; a non-zero exit fails the test with the tail of its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def build_wheel(out: Path) -> Path:
    """The checkout's wheel (no dependencies) in `out`."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)]
    if importlib.util.find_spec("wheel") is not None:  # build with what is here: no index needed
        cmd.insert(4, "--no-build-isolation")
    run(cmd, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    (wheel,) = out.glob("controlroom-*.whl")
    return wheel
