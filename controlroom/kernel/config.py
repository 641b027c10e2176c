"""Paths and force-configurable catalogues (resources/*.yaml), loaded once per process."""
from __future__ import annotations

import csv
import functools
import json
from importlib import resources as _importlib_resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the checkout (controlroom/kernel/config.py)


def _installed_dir(package: str) -> Path:
    """The folder of an installed data package (wheels unpack to the file system, so a real Path)."""
    found = _importlib_resources.files(package)
    if not isinstance(found, Path):  # e.g. a zip import: not a supported way to run the console
        raise RuntimeError(f"{package} is not installed as files on disk ({found!r})")
    return found


def _resources_dir() -> Path:
    # A source checkout reads resources/ beside the code (so a clone never reads another tree's
    # files through an editable install's finder); an installed wheel ships the same folder as the
    # data package `controlroom._resources` (setup.py maps it without moving it).
    checkout = ROOT / "resources"
    if (ROOT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return _installed_dir("controlroom._resources")


RESOURCES = _resources_dir()
MAPS = _installed_dir("maps")  # the map assets (GeoJSON, places) ship inside the maps package


def resource_path(name: str) -> Path:
    """resources/<name> (e.g. "channels.yaml", "themes/dark.qss") wherever the console runs from."""
    return RESOURCES / name


def maps_path(name: str) -> Path:
    """maps/<name> (e.g. "areas.geojson"), from the checkout or the installed package."""
    return MAPS / name

ROLES = ("call_handler", "despatcher", "supervisor", "inspector", "trainer", "auditor")


@functools.cache
def load_resource(name: str) -> dict[str, Any]:
    """Parse resources/<name>.yaml (cached: catalogues change only with a restart)."""
    with open(resource_path(f"{name}.yaml"), encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def channels() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = load_resource("channels")["channels"]
    return table


def incident_types() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = load_resource("incident_types")["incident_types"]
    return table


def grade_policy() -> dict[str, Any]:
    return load_resource("grades")


@functools.cache
def shipped_places() -> dict[str, tuple[float, float]]:
    """Town positions from maps/places.csv (kind 'place'), name -> (lat, lon)."""
    with open(maps_path("places.csv"), encoding="utf-8") as fh:
        return {r["name"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)
                if r["kind"] == "place"}


@functools.cache
def urban_towns() -> tuple[tuple[str, float, float], ...]:
    """The towns listed under `urban.towns` in resources/grades.yaml, with their positions: part of
    the grading policy (urban or rural attendance targets), which the database enforces."""
    places = shipped_places()
    towns = grade_policy().get("urban", {}).get("towns", [])
    return tuple((t, *places[t]) for t in towns if t in places)


def to_json(value: Any) -> str:
    """JSON for a jsonb parameter or column (dates and decimals as text, non-ASCII kept)."""
    return json.dumps(value, default=str, ensure_ascii=False)


def shipped_area_features(path: Path | None = None) -> list[dict[str, Any]]:
    """The force's areas as shipped (maps/areas.geojson): GeoJSON features with code, name, room."""
    with open(path or maps_path("areas.geojson"), encoding="utf-8") as fh:
        features: list[dict[str, Any]] = json.load(fh)["features"]
    return features
