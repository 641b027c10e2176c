"""The layer contracts (issue 24, docs/ARCHITECTURE.md): `lint-imports` keeps every contract in
pyproject.toml, and each contract really catches the import it forbids (planted in a copy of the
code, never in the checkout). No database: this runs in a second or two."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("controlroom", "ui", "maps")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    # The copy's packages first on the path, so an editable install of another tree is never analysed.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def _contracts() -> list[str]:
    return [c["name"] for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]]


def test_every_layer_contract_is_kept_and_none_was_dropped():
    names = _contracts()
    for expected in ("controlroom (domain, services, DB) never imports Qt",
                     "maps (the base map builder) never imports ui or Qt",
                     "controlroom layers: demo > session > replay > services > geo | exchange | workforce"
                     " > db > models > kernel",
                     "ui layers: shell > cli > features > kit",
                     "services layers: contacts | exchange | units > independent features > the services' kernel",
                     "services: contacts and exchange build on incidents only",
                     "services: units builds on alerts only",
                     "ui: the incident form embeds only the despatch tab and the procedure",
                     "ui: the boards embed only the contacts queue",
                     "ui: the replay window embeds only the map"):
        assert expected in names
    res = _lint(REPO)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert f"Contracts: {len(names)} kept, 0 broken." in res.stdout, res.stdout[-4000:]


@pytest.fixture(scope="module")
def copy_tree(tmp_path_factory) -> Path:
    """The Python files of the three packages and pyproject.toml, in a temp dir."""
    root = tmp_path_factory.mktemp("arch")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for pkg in PACKAGES:
        for src in (REPO / pkg).rglob("*.py"):
            dst = root / src.relative_to(REPO)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    return root


@pytest.mark.parametrize("module, planted, contract", [
    # (planted where no service imports the module: a service reaching a feature through it would
    # break the services layers contract as well)
    ("controlroom/kernel/palette.py", "from controlroom.session import open_session",
     "controlroom layers"),                                   # the kernel reaching up to the facade
    ("controlroom/db/multiplex.py", "import controlroom.services.incidents",
     "controlroom layers"),                                   # the database layer using a service
    ("controlroom/services/incidents/service.py", "import PySide6.QtCore",
     "controlroom (domain, services, DB) never imports Qt"),
    ("maps/builder.py", "import ui.kit.ops", "maps (the base map builder) never imports ui or Qt"),
    ("ui/kit/ops.py", "import ui.shell.main_window", "ui layers"),           # the kit reaching up to the shell
    ("ui/incidents/form.py", "from ui.cli.verbs import COMMANDS", "ui layers"),  # a feature using the cli
    # ui features: one independent feature using another; an embedding feature using a third
    ("ui/talkgroups/panel.py", "import ui.command.panel", "ui layers"),
    ("ui/incidents/form.py", "import ui.map.panel", "ui: the incident form embeds only the despatch tab"),
    ("ui/dashboards/performance.py", "import ui.map.panel", "ui: the boards embed only the contacts queue"),
    ("ui/replay/window.py", "import ui.contacts.panel", "ui: the replay window embeds only the map"),
    # services by feature: one independent feature using another, the services' kernel reaching up
    # to a feature, and an upper feature using a feature other than the one it builds on
    ("controlroom/services/talkgroups/service.py", "import controlroom.services.command", "services layers"),
    ("controlroom/services/validate.py", "from controlroom.services.alerts import AlertService",
     "services layers"),
    ("controlroom/services/exchange/service.py", "import controlroom.services.talkgroups",
     "services: contacts and exchange build on incidents only"),
    ("controlroom/services/units/despatch.py", "from controlroom.services.incidents import IncidentService",
     "services: units builds on alerts only"),
])
def test_each_contract_catches_the_import_it_forbids(copy_tree, module, planted, contract):
    path = copy_tree / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{planted}  # planted by tests/test_architecture.py\n")
        res = _lint(copy_tree)
    finally:
        path.write_text(original)
    assert res.returncode != 0, res.stdout[-3000:]
    flat = " ".join(res.stdout.split())  # the report wraps long contract names
    verdict = flat[flat.index(contract):].split(" KEPT")[0].split(" BROKEN")[0]
    assert f"{verdict} BROKEN" in flat and "1 broken" in flat, res.stdout[-3000:]


def test_the_command_line_knows_every_verb_without_any_panel_imported():
    """Verbs are registered in one place (ui/cli/verbs.py), not as a side effect of importing the
    panel that happens to use them: a fresh interpreter that imports only the line has them all."""
    code = ("import sys; from ui.cli.line import COMMANDS\n"
            "verbs = 'HELP N G1 G4 L C D DV ARR CLR ST REC TG TGR TGM TGP FA ACK REPLAY'.split()\n"
            "print('missing', [v for v in verbs if COMMANDS.find(v)[0] is None])\n"
            "print('panels', sorted(m for m in sys.modules if m.startswith(('ui.talkgroups', 'ui.command.',"
            " 'ui.replay', 'ui.incidents.list_panel', 'ui.despatch.units_panel'))))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "missing []" in res.stdout and "panels []" in res.stdout, res.stdout
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "ui").rglob("*.py")
                 if "COMMANDS.register(" in p.read_text() and p.name != "verbs.py"]
    assert offenders == []


def test_the_ui_talks_to_the_session_facade_not_its_engine_or_service_context():
    """Issue 24: ui/ reaches the database only through the session's services and facade
    methods (session.area_features(), session.base_map(), session.replayer(), ...), never its
    SQLAlchemy engine or the services' shared context."""
    import re

    reach = re.compile(r"\bsession\.(engine|ctx|conninfo|_\w+)\b")
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in sorted((REPO / "ui").rglob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if reach.search(line) and not line.lstrip().startswith("#")]
    assert found == []
