"""Geography administration, run as the schema owner (never from a console).

    python -m controlroom.geo import open-names  opname_csv_gb.zip
    python -m controlroom.geo import code-point  codepo_gb.zip
    python -m controlroom.geo import addresses   AddressBasePlus_FULL_*.csv --header ABP_header.csv
    python -m controlroom.geo import boundaries  bcu.geojson|bcu.shp [--code-field F --name-field F]
    python -m controlroom.geo import roads       roads.geojson
    python -m controlroom.geo basemap mbtiles    zoomstack.mbtiles [--night night.mbtiles] [--style S]
    python -m controlroom.geo basemap wms        URL --layers L     |  basemap wmts URL_TEMPLATE
    python -m controlroom.geo basemap schematic  (the demo map again)
    python -m controlroom.geo status

The database comes from --database-url or CONTROLROOM_DATABASE_URL; --embedded uses the
embedded demo server of `python main.py`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable

from ..kernel.errors import ControlRoomError
from .formats import FormatError


_BARS: list[Any] = []  # the tqdm bars, closed at exit


def _progress(label: str, total: int) -> Callable[[int], None]:
    """A tqdm bar over the bytes of the input files (on stderr; the summary goes to stdout)."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
               mininterval=0.5, smoothing=0.1)
    _BARS.append(bar)

    def advance(n_bytes: int) -> None:
        bar.update(n_bytes)
    return advance


def _url(args: argparse.Namespace) -> str:
    if args.embedded:
        from ..db.embedded import start_embedded

        return start_embedded().get_uri("controlroom")
    if not args.database_url:
        raise SystemExit("Give --database-url (the schema owner's URL) or set CONTROLROOM_DATABASE_URL.")
    return str(args.database_url)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m controlroom.geo", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"))
    p.add_argument("--embedded", action="store_true", help="the embedded demo database")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="load a force data file").add_subparsers(dest="what", required=True)
    for name, help_ in (("open-names", "OS Open Names CSV files / zip / folder"),
                        ("code-point", "Code-Point Open CSV files / zip / folder"),
                        ("addresses", "AddressBase-style address CSV (UPRN, address, postcode, coordinates)")):
        s = imp.add_parser(name, help=help_)
        s.add_argument("paths", nargs="+", type=Path)
        if name == "addresses":
            s.add_argument("--header", type=Path, help="header CSV when the data files have none (AddressBase)")
            s.add_argument("--merge", action="store_true", help="upsert (change-only file) instead of replacing")
    b = imp.add_parser("boundaries", help="area (BCU) polygons from GeoJSON or a Shapefile")
    b.add_argument("path", type=Path)
    b.add_argument("--code-field", default="code")
    b.add_argument("--name-field", default="name")
    r = imp.add_parser("roads", help="road graph (GeoJSON LineStrings, OS Open Roads or OSM extract)")
    r.add_argument("path", type=Path)
    bm = sub.add_parser("basemap", help="choose the force's base map").add_subparsers(dest="kind", required=True)
    m = bm.add_parser("mbtiles")
    m.add_argument("day", type=Path)
    m.add_argument("--night", type=Path, help="a second MBTiles for the night theme")
    m.add_argument("--style", type=Path, help="MapLibre style JSON for vector tiles (day)")
    m.add_argument("--night-style", type=Path, help="MapLibre style JSON for vector tiles (night)")
    w = bm.add_parser("wms")
    w.add_argument("url")
    w.add_argument("--layers", required=True)
    w.add_argument("--format", default="image/png")
    t = bm.add_parser("wmts")
    t.add_argument("url", help="tile URL template with {z}/{x}/{y}")
    bm.add_parser("schematic")
    sub.add_parser("status", help="what geography the database holds")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        url = _url(args)
        if args.cmd == "import":
            print(_import(url, args))
        elif args.cmd == "basemap":
            from .basemap import configure

            print(configure(url, args))
        else:
            from .basemap import status

            print(status(url))
    except (FormatError, ControlRoomError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _import(url: str, args: argparse.Namespace) -> str:
    if args.what == "boundaries":
        from .boundaries import import_boundaries

        return import_boundaries(url, args.path, code_field=args.code_field, name_field=args.name_field)
    if args.what == "roads":
        from .roads import import_roads

        return import_roads(url, args.path)
    from .load import Importer

    imp = Importer(url, progress=_progress)
    try:
        if args.what == "open-names":
            rep = imp.open_names(args.paths)
        elif args.what == "code-point":
            rep = imp.code_point(args.paths)
        else:
            rep = imp.addresses(args.paths, header=args.header, merge=args.merge)
    finally:
        while _BARS:
            _BARS.pop().close()
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
