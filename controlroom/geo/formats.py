"""Readers for the open UK address formats, in their published column layouts.

- OS Open Names (CSV, no header row; 34 columns, header in Doc/OS_Open_Names_Header.csv).
- Code-Point Open (CSV, no header row; 10 columns, Doc/Code-Point_Open_Column_Headers.csv).
- AddressBase-style CSV: AddressBase Plus column names (UPRN, X_COORDINATE, Y_COORDINATE,
  LATITUDE, LONGITUDE, SUB_BUILDING_NAME, BUILDING_NAME, BUILDING_NUMBER, THOROUGHFARE,
  DEPENDENT_LOCALITY, POST_TOWN, POSTCODE_LOCATOR …), header row in the file or given separately
  (OS supplies it as a separate header file).

Each reader yields plain dicts; coordinates stay as they are in the file (British National Grid
metres unless the file carries latitude/longitude). `bng.to_wgs84` converts them in bulk.
"""
from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

OPEN_NAMES_COLUMNS = (
    "ID", "NAMES_URI", "NAME1", "NAME1_LANG", "NAME2", "NAME2_LANG", "TYPE", "LOCAL_TYPE",
    "GEOMETRY_X", "GEOMETRY_Y", "MOST_DETAIL_VIEW_RES", "LEAST_DETAIL_VIEW_RES", "MBR_XMIN",
    "MBR_YMIN", "MBR_XMAX", "MBR_YMAX", "POSTCODE_DISTRICT", "POSTCODE_DISTRICT_URI",
    "POPULATED_PLACE", "POPULATED_PLACE_URI", "POPULATED_PLACE_TYPE", "DISTRICT_BOROUGH",
    "DISTRICT_BOROUGH_URI", "DISTRICT_BOROUGH_TYPE", "COUNTY_UNITARY", "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE", "REGION", "REGION_URI", "COUNTRY", "COUNTRY_URI",
    "RELATED_SPATIAL_OBJECT", "SAME_AS_DBPEDIA", "SAME_AS_GEONAMES",
)

CODE_POINT_COLUMNS = (
    "Postcode", "Positional_quality_indicator", "Eastings", "Northings", "Country_code",
    "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code", "Admin_district_code",
    "Admin_ward_code",
)

# Open Names LOCAL_TYPE values -> gazetteer kind (anything else is not offered as a location).
OPEN_NAMES_PLACE_TYPES = frozenset({"City", "Town", "Village", "Hamlet", "Suburban Area",
                                    "Other Settlement"})
OPEN_NAMES_ROAD_TYPES = frozenset({"Named Road", "Section Of Named Road", "Numbered Road",
                                   "Section Of Numbered Road"})

# AddressBase-style header names we read (the first non-empty one wins) -> our field.
ADDRESS_FIELDS: dict[str, tuple[str, ...]] = {
    "uprn": ("UPRN",),
    "organisation": ("ORGANISATION_NAME", "RM_ORGANISATION_NAME", "LA_ORGANISATION", "ORGANISATION"),
    "sub_building": ("SUB_BUILDING_NAME", "SAO_TEXT", "SUB_BUILDING"),
    "building_name": ("BUILDING_NAME", "PAO_TEXT"),
    "building_number": ("BUILDING_NUMBER", "PAO_START_NUMBER"),
    "street": ("THOROUGHFARE", "STREET_DESCRIPTION", "STREET_NAME", "STREET"),
    "locality": ("DEPENDENT_LOCALITY", "LOCALITY", "DOUBLE_DEPENDENT_LOCALITY"),
    "town": ("POST_TOWN", "TOWN_NAME", "TOWN"),
    "postcode": ("POSTCODE_LOCATOR", "POSTCODE"),
    "x": ("X_COORDINATE", "EASTING", "EASTINGS"),
    "y": ("Y_COORDINATE", "NORTHING", "NORTHINGS"),
    "lat": ("LATITUDE", "LAT"),
    "lon": ("LONGITUDE", "LON", "LNG"),
}

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?(\s*[0-9][A-Z]{0,2})?$")


class FormatError(ValueError):
    """The file is not in the layout the importer was asked for (message for the admin)."""


def normalise_postcode(text: str | None) -> str | None:
    """'mk93ep' / 'MK9  3EP' -> 'MK9 3EP'; None when it is not a full postcode."""
    if not text:
        return None
    m = _POSTCODE.match(re.sub(r"\s+", " ", text.strip().upper()))
    return f"{m.group(1)} {m.group(2)}" if m else None


def postcode_key(text: str) -> str:
    return re.sub(r"\s+", "", text.upper())


def looks_like_postcode_prefix(text: str) -> bool:
    """True for 'MK9', 'MK9 3', 'MK93E', 'MK9 3EP' (what a call handler types for a postcode)."""
    return bool(_OUTWARD.match(text.strip().upper())) and any(c.isdigit() for c in text)


# ---- sources: files, directories and the zips OS supplies ---------------------------------
@dataclass
class Source:
    """All the CSV members of the paths given, with their total size for the progress bar."""

    paths: list[Path]

    def members(self) -> Iterator[tuple[str, int, Callable[[], IO[bytes]]]]:
        for p in self.paths:
            if p.is_dir():
                for f in sorted(p.rglob("*.csv")):
                    if not _is_doc(f.name):
                        yield str(f), f.stat().st_size, _file_opener(f)
            elif p.suffix.lower() == ".zip":
                zf = zipfile.ZipFile(p)
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if info.filename.lower().endswith(".csv") and not _is_doc(info.filename):
                        yield f"{p}:{info.filename}", info.file_size, partial(zf.open, info)
            elif p.exists():
                yield str(p), p.stat().st_size, _file_opener(p)
            else:
                raise FormatError(f"{p}: no such file or directory.")

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self.members())


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: open(path, "rb")


def _is_doc(name: str) -> bool:
    low = name.lower()
    return "/doc/" in f"/{low}" or "header" in low.rsplit("/", 1)[-1]


def csv_rows(source: Source, progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, list[str]]]:
    """(member name, row) for every CSV row; `progress(n_bytes)` is called as bytes are read."""
    for name, _size, opener in source.members():
        with opener() as fh:
            def lines(fh: IO[bytes] = fh) -> Iterator[str]:
                for raw in fh:
                    if progress:
                        progress(len(raw))
                    yield raw.decode("utf-8-sig")
            for row in csv.reader(lines()):
                if row:
                    yield name, row


# ---- per-format parsing ------------------------------------------------------------------
def _num(v: str, what: str, where: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise FormatError(f"{where}: {what} {v!r} is not a number; is this the right file type?") from None


def open_names(rows: Iterable[tuple[str, list[str]]]) -> Iterator[dict[str, Any]]:
    """OS Open Names rows -> {'kind': place|street|postcode, name, x, y, town, postcode, county, ref}."""
    n_cols = len(OPEN_NAMES_COLUMNS)
    for name, row in rows:
        if row[0] == "ID" and row[2] == "NAME1":
            continue  # a header row someone prepended
        if len(row) != n_cols:
            raise FormatError(f"{name}: an OS Open Names row has {n_cols} columns, this one has {len(row)}.")
        r = dict(zip(OPEN_NAMES_COLUMNS, row))
        local = r["LOCAL_TYPE"]
        if local == "Postcode":
            kind = "postcode"
        elif r["TYPE"] == "populatedPlace" and local in OPEN_NAMES_PLACE_TYPES:
            kind = "place"
        elif r["TYPE"] == "transportNetwork" and local in OPEN_NAMES_ROAD_TYPES:
            kind = "street"
        else:
            continue
        yield {"kind": kind, "name": r["NAME1"], "ref": r["ID"],
               "x": _num(r["GEOMETRY_X"], "GEOMETRY_X", name), "y": _num(r["GEOMETRY_Y"], "GEOMETRY_Y", name),
               "town": r["POPULATED_PLACE"] or r["DISTRICT_BOROUGH"] or None,
               "postcode": r["POSTCODE_DISTRICT"] or None,
               "county": r["COUNTY_UNITARY"] or r["DISTRICT_BOROUGH"] or None}


def code_point(rows: Iterable[tuple[str, list[str]]]) -> Iterator[dict[str, Any]]:
    """Code-Point Open rows -> {postcode, quality, x, y}; postcodes with no position (PQI 90) skipped."""
    for name, row in rows:
        if row[0].lower() in ("postcode", "pc"):
            continue  # header row (full or abbreviated)
        if len(row) != len(CODE_POINT_COLUMNS):
            raise FormatError(f"{name}: a Code-Point Open row has {len(CODE_POINT_COLUMNS)} columns, "
                              f"this one has {len(row)}.")
        pc = normalise_postcode(row[0])
        if pc is None:
            raise FormatError(f"{name}: {row[0]!r} is not a postcode; is this a Code-Point Open file?")
        quality = int(_num(row[1], "positional quality indicator", name))
        x, y = _num(row[2], "Eastings", name), _num(row[3], "Northings", name)
        if quality >= 90 or (x == 0 and y == 0):
            continue
        yield {"postcode": pc, "quality": quality, "x": x, "y": y}


def addressbase(rows: Iterable[tuple[str, list[str]]], header: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """AddressBase-style rows -> address dicts (uprn, text fields, x/y or lat/lon)."""
    index: dict[str, list[int]] | None = None
    if header:
        index = _address_index(header, "the header file")
    for name, row in rows:
        if index is None or (row and row[0].strip().upper() == "UPRN"):
            if not row or row[0].strip().upper() != "UPRN":
                raise FormatError(f"{name}: the first row must be the column header (UPRN, …); "
                                  "AddressBase supplies it as a separate file: pass it with --header.")
            index = _address_index(row, name)
            continue
        columns = index

        def get(f: str, row: list[str] = row) -> str | None:
            return next((row[i].strip() for i in columns.get(f, []) if i < len(row) and row[i].strip()), None)

        uprn = get("uprn")
        if not uprn or not uprn.isdigit():
            raise FormatError(f"{name}: UPRN {uprn!r} is not a number.")
        out: dict[str, Any] = {f: get(f) for f in ("organisation", "sub_building", "building_name", "building_number",
                                   "street", "locality", "town")}
        out["uprn"] = int(uprn)
        out["postcode"] = normalise_postcode(get("postcode")) or get("postcode")
        lat, lon, x, y = get("lat"), get("lon"), get("x"), get("y")
        if lat and lon:
            out["lat"], out["lon"] = _num(lat, "LATITUDE", name), _num(lon, "LONGITUDE", name)
        elif x and y:
            out["x"], out["y"] = _num(x, "X_COORDINATE", name), _num(y, "Y_COORDINATE", name)
        else:
            raise FormatError(f"{name}: UPRN {uprn} has no coordinates.")
        for k in ("building_name", "street", "locality", "town", "organisation", "sub_building"):
            if out[k]:
                out[k] = _tidy(out[k])
        out["label"] = address_label(out)
        yield out


def _address_index(header: list[str], where: str) -> dict[str, list[int]]:
    """Field -> the columns that may carry it, in order of preference (first non-empty wins)."""
    cols = {h.strip().upper(): i for i, h in enumerate(header)}
    index = {field: [cols[n] for n in names if n in cols] for field, names in ADDRESS_FIELDS.items()}
    index = {f: v for f, v in index.items() if v}
    if "uprn" not in index:
        raise FormatError(f"{where}: no UPRN column in the header.")
    if not ({"lat", "lon"} <= index.keys() or {"x", "y"} <= index.keys()):
        raise FormatError(f"{where}: the header needs LATITUDE/LONGITUDE or X_COORDINATE/Y_COORDINATE.")
    return index


def _tidy(text: str) -> str:
    """AddressBase text is upper case; call handlers read 'Midsummer Boulevard'."""
    if not text.isupper():
        return text
    return " ".join(w if (any(c.isdigit() for c in w) and len(w) <= 4) else w.capitalize()
                    for w in text.split())


def address_label(a: dict[str, Any]) -> str:
    """One line as a call handler reads it: 'Flat 2, Civic Offices, 1 Saxon Gate East, Milton Keynes, MK9 3EJ'."""
    first = " ".join(p for p in (a.get("building_number"), a.get("street")) if p)
    parts = [a.get("organisation"), a.get("sub_building"), a.get("building_name"), first,
             a.get("locality"), a.get("town"), a.get("postcode")]
    return ", ".join(p for p in parts if p)
