"""The installed package runs: wheel -> fresh venv -> console started from outside the checkout.

Offline by design: the new venv has no dependencies of its own; a .pth file puts this
interpreter's site-packages (which has them: /work/venv, or .ci/run's .venv) on its path. A plain
path line in a .pth does not run that directory's own .pth files, so an editable install of the
checkout there (its import finder) stays inactive and `controlroom`, `ui` and `maps` can only come
from the wheel. About a minute: a first start migrates and seeds a new embedded PostgreSQL.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from .venvs import build_wheel as _build_wheel, run as _run


@pytest.fixture(scope="module")
def installed() -> Iterator[dict]:
    """A venv holding only the built wheel, and an environment whose every dir is a temp dir."""
    # Not tmp_path_factory: a concurrent pytest run of the same user prunes old basetemp dirs,
    # which can pull the data dir from under initdb.
    tmp = Path(tempfile.mkdtemp(prefix="controlroom-package-"))
    try:
        yield _install(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(tmp: Path) -> dict:
    wheel = _build_wheel(tmp / "dist")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_controlroom_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    outside = tmp / "elsewhere"  # the working directory: nothing of the checkout in it
    run_dir = tmp / "run"
    for d in (outside, run_dir):
        d.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CONTROLROOM_", "XDG_"))}
    env.update(XDG_DATA_HOME=str(tmp / "data"), XDG_CACHE_HOME=str(tmp / "cache"),
               XDG_CONFIG_HOME=str(tmp / "config"), XDG_RUNTIME_DIR=str(run_dir),
               QT_QPA_PLATFORM="offscreen", QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu")
    return {"venv": venv, "py": py, "site": site, "cwd": outside, "env": env}


def test_installed_console_starts_from_any_directory_and_draws(installed):
    shot = installed["cwd"] / "console.png"
    proc = _run([str(installed["venv"] / "bin" / "controlroom"), "--user", "despatch.north", "--password", "demo",
                 "--no-demo-avl", "--screenshot", str(shot)],
                cwd=installed["cwd"], env=installed["env"], timeout=420)
    assert "screenshot saved" in proc.stdout
    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert not img.isNull() and (img.width(), img.height()) == (1680, 1000)
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 100, f"the console PNG is nearly blank ({len(colours)} colours)"


def test_installed_package_reads_its_own_resources_and_creates_an_incident(installed):
    """The first incident used to fail on resources/channels.yaml when run from a wheel."""
    script = textwrap.dedent("""
        import controlroom, controlroom.kernel.config as config, maps, ui
        from controlroom.db import init_database
        from controlroom.db.embedded import start_embedded
        from controlroom.session import open_session
        for mod in (controlroom, maps, ui):
            assert mod.__file__.startswith(SITE), mod.__file__
        assert config.resource_path("channels.yaml").is_file(), config.RESOURCES
        assert str(config.RESOURCES).startswith(SITE) and str(config.MAPS).startswith(SITE)
        server = start_embedded()
        url = server.get_uri("controlroom")
        init_database(url, demo=True)
        session = open_session(url, "handler.north", "demo", "PKG-01")
        view = session.incidents.create(channel="999", incident_type="BURGLARY", summary="Shed broken into",
                                        lat=52.0406, lon=-0.7594, caller_name="A Caller")
        print("created", view.urn, view.area_code, view.room_code)
        session.close()
    """)
    proc = _run([str(installed["py"]), "-c", f"SITE = {str(installed['site'])!r}\n{script}"],
                cwd=installed["cwd"], env=installed["env"], timeout=300)
    assert proc.stdout.startswith("created TV-"), proc.stdout
    assert proc.stdout.split()[2:] == ["mk", "north"], proc.stdout


def test_python_m_controlroom_hands_over_to_the_console(installed):
    proc = _run([str(installed["py"]), "-m", "controlroom", "--help"], cwd=installed["cwd"], env=installed["env"])
    assert "Police control-room console" in proc.stdout and "--screenshot" in proc.stdout
