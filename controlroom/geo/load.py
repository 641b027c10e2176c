"""Bulk loading of the force's address data with COPY (run as the schema owner, from the CLI).

A full address import builds a new table beside the live one (COPY, then indexes, then ANALYZE)
and swaps it in with one short transaction, so consoles keep searching the old data until the
new data is complete. A merge (`merge=True`, for change-only files) upserts through a staging table.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import psycopg
from psycopg import sql

from ..db.engine import connect
from . import AreaIndex, locate_many
from . import formats as fm

BATCH = 50_000

ADDRESS_COLS = ("uprn", "organisation", "sub_building", "building_name", "building_number", "street",
                "locality", "town", "postcode", "label", "lat", "lon", "area_code", "source")


@dataclass
class ImportReport:
    """What an import did, in the words the admin reads at the end."""

    what: str
    read: int = 0
    imported: int = 0
    outside: int = 0
    skipped: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.imported / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        s = (f"{self.what}: {self.imported:,} imported from {self.read:,} rows in {self.seconds:.1f} s "
             f"({self.rate:,.0f}/s); {self.outside:,} outside the force area, {self.skipped:,} not locations")
        return "\n".join([s, *self.notes])


@functools.cache
def _transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def bng_to_wgs84(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """British National Grid eastings/northings (EPSG:27700) -> (lats, lons) in WGS84."""
    if not xs:
        return [], []
    lons, lats = _transformer().transform(list(xs), list(ys))
    return list(lats), list(lons)


def _batches(it: Iterable[dict[str, Any]], n: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in it:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def _place(batch: list[dict[str, Any]], areas: AreaIndex) -> list[tuple[dict[str, Any], str]]:
    """Give every record lat/lon (from BNG where needed) and its area; drop those outside the force."""
    need = [r for r in batch if "lat" not in r]
    lats, lons = bng_to_wgs84([r["x"] for r in need], [r["y"] for r in need])
    for r, la, lo in zip(need, lats, lons):
        r["lat"], r["lon"] = la, lo
    codes = locate_many(areas, [r["lat"] for r in batch], [r["lon"] for r in batch])
    return [(r, c) for r, c in zip(batch, codes) if c is not None]


class Importer:
    """Imports into the database at `url` (the owner's URL); `progress` gets byte counts."""

    def __init__(self, url: str, *, progress: Callable[[str, int], Callable[[int], None]] | None = None) -> None:
        self.url = url
        self._progress = progress
        with connect(url) as conn:
            rows = conn.execute("SELECT code, name, geojson FROM areas").fetchall()
        if not rows:
            raise fm.FormatError("The database has no areas yet; set it up first (python -m controlroom.db init).")
        self.areas = AreaIndex.from_geojson({"properties": {"code": c, "name": n}, "geometry": g}
                                            for c, n, g in rows)

    def _rows(self, paths: Sequence[Path], label: str) -> Iterator[tuple[str, list[str]]]:
        source = fm.Source([Path(p) for p in paths])
        tick = self._progress(label, source.total_bytes()) if self._progress else None
        return fm.csv_rows(source, tick)

    # ---- OS Open Names ---------------------------------------------------------------------
    def open_names(self, paths: Sequence[Path]) -> ImportReport:
        """Places and streets into the gazetteer, postcodes into postcodes (replacing earlier Open Names)."""
        rep, t0 = ImportReport("OS Open Names"), time.perf_counter()
        counted = _Counting(fm.open_names(self._rows(paths, "OS Open Names")), rep)
        with connect(self.url) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM gazetteer WHERE source = 'os-open-names'")
            cur.execute("CREATE TEMP TABLE pc_stage (postcode text, lat float8, lon float8, area_code text, "
                        "quality smallint) ON COMMIT DROP")
            for batch in _batches(counted):
                placed = _place(batch, self.areas)
                rep.outside += len(batch) - len(placed)
                with cur.copy("COPY gazetteer (name, kind, lat, lon, area_code, county, town, postcode, "
                              "source, ref) FROM STDIN") as cp:
                    for r, code in placed:
                        if r["kind"] != "postcode":
                            cp.write_row((r["name"], r["kind"], r["lat"], r["lon"], code, r["county"],
                                          r["town"], r["postcode"], "os-open-names", r["ref"]))
                with cur.copy("COPY pc_stage FROM STDIN") as cp:
                    for r, code in placed:
                        if r["kind"] == "postcode":
                            cp.write_row((fm.normalise_postcode(r["name"]) or r["name"], r["lat"], r["lon"],
                                          code, None))
                rep.imported += len(placed)
            _merge_postcodes(cur, "os-open-names", keep_better=True)
            conn.commit()
        rep.skipped = rep.read - rep.imported - rep.outside
        rep.seconds = time.perf_counter() - t0
        return rep

    # ---- Code-Point Open -------------------------------------------------------------------
    def code_point(self, paths: Sequence[Path]) -> ImportReport:
        """Postcode unit centroids (Code-Point wins over Open Names for the same postcode)."""
        rep, t0 = ImportReport("Code-Point Open"), time.perf_counter()
        counted = _Counting(fm.code_point(self._rows(paths, "Code-Point Open")), rep)
        with connect(self.url) as conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE pc_stage (postcode text, lat float8, lon float8, area_code text, "
                        "quality smallint) ON COMMIT DROP")
            for batch in _batches(counted):
                placed = _place(batch, self.areas)
                rep.outside += len(batch) - len(placed)
                with cur.copy("COPY pc_stage FROM STDIN") as cp:
                    for r, code in placed:
                        cp.write_row((r["postcode"], r["lat"], r["lon"], code, r["quality"]))
                rep.imported += len(placed)
            _merge_postcodes(cur, "code-point-open", keep_better=False)
            conn.commit()
        rep.skipped = rep.read - rep.imported - rep.outside
        rep.seconds = time.perf_counter() - t0
        return rep

    # ---- AddressBase-style addresses -------------------------------------------------------
    def addresses(self, paths: Sequence[Path], *, header: Path | None = None, merge: bool = False,
                  source: str = "addressbase") -> ImportReport:
        """UPRN addresses; a full import replaces all addresses at once, a merge upserts."""
        rep, t0 = ImportReport("Addresses (AddressBase-style)"), time.perf_counter()
        head = None
        if header is not None:
            head = next(fm.csv_rows(fm.Source([Path(header)])))[1]
        counted = _Counting(fm.addressbase(self._rows(paths, "Addresses"), head), rep)
        target = "addresses_stage" if merge else "addresses_load"
        with connect(self.url) as conn, conn.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cur.execute(f"DROP TABLE IF EXISTS {target}")
            cur.execute(f"CREATE {'TEMP ' if merge else ''}TABLE {target} (LIKE addresses INCLUDING DEFAULTS "
                        "INCLUDING GENERATED INCLUDING CONSTRAINTS)")
            cols = sql.SQL(", ").join(map(sql.Identifier, ADDRESS_COLS))
            for batch in _batches(counted):
                placed = _place(batch, self.areas)
                rep.outside += len(batch) - len(placed)
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(target), cols)) as cp:
                    for r, code in placed:
                        cp.write_row((r["uprn"], r["organisation"], r["sub_building"], r["building_name"],
                                      r["building_number"], r["street"], r["locality"], r["town"],
                                      r["postcode"], r["label"], r["lat"], r["lon"], code, source))
                rep.imported += len(placed)
            row = cur.execute(f"SELECT count(*) - count(DISTINCT uprn) FROM {target}").fetchone()
            dupes = row[0] if row else 0
            if dupes:
                conn.rollback()
                raise fm.FormatError(f"The file repeats {dupes:,} UPRN(s); a full supply lists each once. "
                                     "Nothing was imported.")
            if merge:
                _upsert_addresses(cur)
                _derive_streets(cur, "addresses")
            else:
                _build_like(cur, "addresses", target)
                cur.execute(f"ANALYZE {target}")
                _derive_streets(cur, target)
                _swap_in(cur, "addresses", target)
            conn.commit()
            cur.execute("ANALYZE gazetteer")
            conn.commit()
        rep.skipped = rep.read - rep.imported - rep.outside
        rep.seconds = time.perf_counter() - t0
        return rep


class _Counting:
    """Counts records as they stream past (for the report)."""

    def __init__(self, it: Iterable[dict[str, Any]], rep: ImportReport) -> None:
        self.it, self.rep = it, rep

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for r in self.it:
            self.rep.read += 1
            yield r


def _merge_postcodes(cur: psycopg.Cursor, source: str, *, keep_better: bool) -> None:
    """pc_stage -> postcodes; with keep_better a Code-Point row already there is not overwritten."""
    guard = "WHERE postcodes.source <> 'code-point-open'" if keep_better else ""
    cur.execute(f"""
        INSERT INTO postcodes (postcode_key, postcode, lat, lon, area_code, quality, source)
        SELECT DISTINCT ON (upper(replace(postcode, ' ', ''))) upper(replace(postcode, ' ', '')), postcode,
               lat, lon, area_code, quality, %s
        FROM pc_stage ORDER BY upper(replace(postcode, ' ', ''))
        ON CONFLICT (postcode_key) DO UPDATE SET postcode = EXCLUDED.postcode, lat = EXCLUDED.lat,
            lon = EXCLUDED.lon, area_code = EXCLUDED.area_code, quality = EXCLUDED.quality,
            source = EXCLUDED.source {guard}""", (source,))


def _upsert_addresses(cur: psycopg.Cursor) -> None:
    cols = ", ".join(ADDRESS_COLS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in ADDRESS_COLS if c != "uprn")
    cur.execute(f"INSERT INTO addresses ({cols}) SELECT {cols} FROM addresses_stage "
                f"ON CONFLICT (uprn) DO UPDATE SET {sets}, imported_at = now()")


def _build_like(cur: psycopg.Cursor, live: str, load: str) -> None:
    """Give the load table the live table's primary key and indexes (names suffixed _load)."""
    for name, ddl in cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                 "AND tablename = %s ORDER BY indexname", (live,)).fetchall():
        if name == f"{live}_pkey":
            cur.execute(f"ALTER TABLE {load} ADD CONSTRAINT {load}_pkey PRIMARY KEY (uprn)")
            continue
        ddl = ddl.replace(f"INDEX {name} ON public.{live} ", f"INDEX {name}_load ON public.{load} ", 1)
        cur.execute(ddl)


def _swap_in(cur: psycopg.Cursor, live: str, load: str) -> None:
    """Replace `live` by `load` in one short transaction, keeping its grants and index names."""
    grants = cur.execute(f"""
        SELECT a.grantee::regrole::text, a.privilege_type
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = '{live}'::regclass AND a.grantee <> 0 AND a.grantee <> c.relowner""").fetchall()
    names = [r[0] for r in cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                                       "AND tablename = %s", (load,)).fetchall()]
    row = cur.execute(f"SELECT reloptions FROM pg_class WHERE oid = '{live}'::regclass").fetchone()
    options = (row[0] if row else None) or []
    cur.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
    cur.execute(f"DROP TABLE {live}")
    cur.execute(f"ALTER TABLE {load} RENAME TO {live}")
    for n in names:
        cur.execute(f"ALTER INDEX {n} RENAME TO {n.replace(load, live) if n == load + '_pkey' else n[:-5]}")
    if options:  # e.g. parallel_workers = 0 (suggestions are tiny OLTP reads)
        cur.execute(f"ALTER TABLE {live} SET ({', '.join(options)})")
    for grantee, priv in grants:
        cur.execute(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(priv), sql.Identifier(live),
                                                           sql.Identifier(grantee)))


def _derive_streets(cur: psycopg.Cursor, table: str) -> None:
    """One gazetteer street per (street, town) in the addresses, unless OS Open Names has it."""
    cur.execute("DELETE FROM gazetteer WHERE source = 'addressbase'")
    cur.execute(f"""
        INSERT INTO gazetteer (name, kind, lat, lon, area_code, town, postcode, source, ref)
        SELECT s.name, 'street', s.lat, s.lon, s.area_code, s.town, NULL, 'addressbase', s.street_key
        FROM (SELECT street_key, min(street) AS name, avg(lat) AS lat, avg(lon) AS lon, min(town) AS town,
                     mode() WITHIN GROUP (ORDER BY area_code) AS area_code
              FROM {table} WHERE street IS NOT NULL GROUP BY street_key) s
        WHERE NOT EXISTS (SELECT 1 FROM gazetteer g WHERE lower(g.name) = lower(s.name) AND g.kind = 'street'
                          AND g.source = 'os-open-names' AND lower(coalesce(g.town, '')) = lower(coalesce(s.town, '')))""")
