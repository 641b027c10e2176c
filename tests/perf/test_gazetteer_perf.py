"""Gazetteer at force scale: 1.5 M generated addresses in the AddressBase layout, imported with the
real importer (CSV parse, BNG -> WGS84, area lookup, COPY, index build, swap), then searched as a
call handler types. Figures beside raw PostgreSQL baselines from the same run.

Generated data only (synthetic street names around the demo force's towns); nothing here is real.
"""
from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from controlroom.geo.load import Importer
from tests import geo_fixtures as fx

from .baselines import report

pytestmark = pytest.mark.perf

N_ADDRESSES = 1_500_000
PER_POSTCODE = 15
WORDS = ["Oak", "Ash", "Mill", "Church", "Station", "High", "Park", "Manor", "Victoria", "Queens", "Kings",
         "Elm", "Willow", "Meadow", "Orchard", "Bridge", "Castle", "Abbey", "Chapel", "School", "Green",
         "Hill", "Brook", "Farm", "Grange", "Priory", "Windmill", "Rectory", "Beech", "Cedar"]
SUFFIXES = ["Road", "Street", "Lane", "Close", "Avenue", "Way", "Drive", "Gardens", "Court", "Crescent",
            "Place", "Grove", "View", "Rise", "Walk"]
SYL = ["bar", "den", "fold", "ham", "ley", "mar", "nor", "ock", "pen", "ridge", "stow", "ton", "wick",
       "worth", "bury", "cote", "dale", "field", "gate", "hurst"]
BUILDINGS = ["House", "Court", "Lodge", "Cottage", "Mews", "Works", "Centre", "Chambers", "Hall", "Barn"]


def _towns(url: str) -> list[tuple[str, float, float]]:
    with psycopg.connect(url) as c:
        return c.execute("SELECT name, lat, lon FROM gazetteer WHERE kind = 'place' AND source = 'demo' "
                         "AND area_code IS NOT NULL ORDER BY name").fetchall()


def generate(path: Path, url: str, n: int, seed: int = 22) -> dict[str, list[str]]:
    """Write an AddressBase-style CSV of n addresses; returns samples of what exists, to search for."""
    rng = random.Random(seed)
    towns = _towns(url)
    n_streets = n // 25
    streets = []
    for i in range(n_streets):
        t = towns[i % len(towns)]
        name = f"{rng.choice(WORDS)}{rng.choice(SYL)} {rng.choice(SUFFIXES)}"
        streets.append((name, t, rng.uniform(-0.03, 0.03), rng.uniform(-0.045, 0.045)))
    idx = np.arange(n)
    st = idx % n_streets
    lat = np.array([streets[s][1][1] + streets[s][2] for s in st]) + np.random.default_rng(seed).normal(0, 0.0015, n)
    lon = np.array([streets[s][1][2] + streets[s][3] for s in st]) + np.random.default_rng(seed + 1).normal(0, 0.002, n)
    from pyproj import Transformer
    xs, ys = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon, lat)
    samples: dict[str, list[str]] = {"postcode": [], "numbered": [], "street": [], "building": []}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(fx.ADDRESSBASE_HEADER)
        col = {c: i for i, c in enumerate(fx.ADDRESSBASE_HEADER)}
        blank = [""] * len(fx.ADDRESSBASE_HEADER)
        for i in range(n):
            s = st[i]
            name, town = streets[s][0], streets[s][1][0]
            number = str(1 + i // n_streets)
            pc_n = i // PER_POSTCODE
            pc = f"ZZ{pc_n // 6760 + 1} {pc_n % 10}{chr(65 + pc_n // 10 % 26)}{chr(65 + pc_n // 260 % 26)}"
            row = list(blank)
            row[col["UPRN"]] = str(100_000_000 + i)
            row[col["X_COORDINATE"]] = f"{xs[i]:.2f}"
            row[col["Y_COORDINATE"]] = f"{ys[i]:.2f}"
            row[col["BUILDING_NUMBER"]] = number
            row[col["THOROUGHFARE"]] = name.upper()
            row[col["POST_TOWN"]] = town.upper()
            row[col["POSTCODE_LOCATOR"]] = pc
            if i % 10 == 3:
                bname = f"{rng.choice(WORDS)}{rng.choice(SYL)} {rng.choice(BUILDINGS)}"
                row[col["BUILDING_NAME"]] = bname.upper()
                if len(samples["building"]) < 400 and rng.random() < 0.01:
                    samples["building"].append(bname)
            w.writerow(row)
            if rng.random() < 0.0005:
                samples["postcode"].append(pc)
                samples["numbered"].append(f"{number} {name}")
                samples["street"].append(name)
    return samples


def typed(word: str) -> list[str]:
    """What the field holds as a name is typed: every prefix from 3 characters on."""
    return [word[:k] for k in range(3, len(word) + 1, 2)] + [word]


def test_gazetteer_at_one_and_a_half_million_addresses(open_as, fresh_db_url, tmp_path):
    t0 = time.perf_counter()
    samples = generate(tmp_path / "AddressBasePlus_FULL_perf.csv", fresh_db_url, N_ADDRESSES)
    gen = time.perf_counter() - t0
    size_mb = (tmp_path / "AddressBasePlus_FULL_perf.csv").stat().st_size / 1e6
    print(f"generate_addressbase_csv: {gen:.1f} s ({size_mb:.0f} MB)")

    rep = Importer(fresh_db_url).addresses([tmp_path / "AddressBasePlus_FULL_perf.csv"])
    print(f"address_import_total: {rep.seconds:.1f} s")
    print(f"address_import_rate: {rep.rate:,.0f} addresses/s")
    print(f"address_import_rows: {rep.imported} imported, {rep.outside} outside")
    with psycopg.connect(fresh_db_url) as c:
        n_streets = c.execute("SELECT count(*) FROM gazetteer WHERE source = 'addressbase'").fetchone()[0]
        c.execute("INSERT INTO postcodes (postcode_key, postcode, lat, lon, area_code, source) "
                  "SELECT DISTINCT ON (postcode_key) postcode_key, postcode, lat, lon, area_code, 'perf' "
                  "FROM addresses ORDER BY postcode_key")
        c.commit()
        c.execute("ANALYZE postcodes")
    print(f"derived_streets: {n_streets} count")

    # Raw PostgreSQL baselines: a round trip, a primary-key read, one trigram probe.
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        rt, pk = [], []
        for i in range(300):
            t1 = time.perf_counter()
            c.execute("SELECT 1").fetchone()
            rt.append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            c.execute("SELECT label FROM addresses WHERE uprn = %s", (100_000_000 + i * 4999,)).fetchone()
            pk.append(time.perf_counter() - t1)
    report("raw_select_1", rt)
    report("raw_pk_lookup_1_5m", pk)

    s = open_as("handler.north", url=fresh_db_url)
    svc = s.incidents
    rng = random.Random(7)
    queries: dict[str, list[str]] = {
        "postcode": samples["postcode"][:60] + [p[:5] for p in samples["postcode"][:30]],
        "numbered": samples["numbered"][:60],
        "street": [q for st in samples["street"][:40] for q in typed(st)],
        "building": [q for b in samples["building"][:30] for q in typed(b)],
        "town": [q for t in ("Wolverton", "Aylesbury", "Milton Keynes", "High Wycombe") for q in typed(t)],
        "typo": ["Aylesbry", "Wolvertn", "Bletchly", "Readng", "Banbry"],
    }
    for qs in queries.values():
        for q in qs[:5]:
            svc.suggest_places(q)  # warm the plan cache and the pages
    everything, empty = [], 0
    for kind, qs in queries.items():
        times = []
        for q in qs:
            t1 = time.perf_counter()
            hits = svc.suggest_places(q)
            times.append(time.perf_counter() - t1)
            empty += not hits
        everything += times
        report(f"gazetteer_suggest_1_5m_{kind}", times)
    rng.shuffle(everything)
    report("gazetteer_suggest_1_5m", everything)
    print(f"gazetteer_suggest_1_5m_queries: {len(everything)} count, {empty} with no result")
    # the service's answers are right, not just fast
    pc = samples["postcode"][0]
    assert svc.suggest_places(pc)[0].name == pc
    st = samples["numbered"][0]
    assert svc.suggest_places(st)[0].kind == "address"
