"""The force's address data: imported from the real OS formats, found as the call handler types."""
from __future__ import annotations

import psycopg
import pytest

from controlroom.geo.__main__ import main as geo_cli
from controlroom.geo.formats import FormatError
from controlroom.geo.load import Importer
from tests import geo_fixtures as fx


@pytest.fixture(scope="module")
def imported(db_url, tmp_path_factory):
    d = tmp_path_factory.mktemp("geo")
    imp = Importer(db_url)
    reports = {
        "names": imp.open_names([fx.write_open_names(d / "Data" / "SP84.csv")]),
        "cp": imp.code_point([fx.write_code_point(d / "mk.csv")]),
        "addr": imp.addresses([fx.write_addressbase(d / "AddressBasePlus_FULL_2026-11-01_001.csv")]),
    }
    return reports


def test_import_reports_what_it_took_and_what_lay_outside(imported):
    names, cp, addr = imported["names"], imported["cp"], imported["addr"]
    assert (names.read, names.imported, names.outside) == (4, 3, 1)  # the river is not a location
    assert (cp.read, cp.imported, cp.outside) == (4, 3, 1)            # PQI 90 has no position
    assert (addr.read, addr.imported, addr.outside) == (7, 6, 1)
    assert "outside the force area" in addr.summary()


def test_wolverton_finds_wolverton_first(open_as, imported):
    s = open_as("handler.north")
    top = s.incidents.suggest_places("Wolverton")[0]
    assert top.name.startswith("Wolverton") and top.kind == "place" and top.area_code == "mk"


def test_street_is_found_with_its_town(open_as, imported):
    s = open_as("handler.north")
    hits = s.incidents.suggest_places("Midsummer Boulevard")
    streets = [p for p in hits if p.kind == "street"]
    assert [p.name for p in streets] == ["Midsummer Boulevard, Milton Keynes"]  # Open Names and the
    assert streets[0].area_code == "mk" and streets[0].room_code == "north"     # address file: once
    assert s.incidents.suggest_places("midsummer boul milton")[0].kind == "street"


def test_full_postcode_gives_its_centroid_then_the_properties_there(open_as, imported):
    s = open_as("handler.north")
    hits = s.incidents.suggest_places("mk93ej")
    assert (hits[0].kind, hits[0].name) == ("postcode", "MK9 3EJ")
    assert [p.uprn for p in hits[1:3]] == [990000700, 990000701]
    assert hits[1].name.startswith("Milton Keynes City Council, Civic Offices, 1 Saxon Gate East")
    assert [p.name for p in s.incidents.suggest_places("MK9 3")][:2] == ["MK9 3DZ", "MK9 3EJ"]


def test_house_number_and_street_find_the_property(open_as, imported):
    s = open_as("handler.north")
    top = s.incidents.suggest_places("400 Midsummer Boulevard")[0]
    assert top.uprn == 990000400 and top.kind == "address" and top.postcode == "MK9 2HP"


def test_building_name_finds_the_property(open_as, imported):
    s = open_as("handler.north")
    hits = s.incidents.suggest_places("Civic Offices")
    assert hits and hits[0].uprn == 990000700
    assert {p.uprn for p in s.incidents.suggest_places("Central Court")} >= {990000501, 990000502}


def test_nothing_found_is_said_not_silent(open_as, imported):
    s = open_as("handler.north")
    assert s.incidents.suggest_places("Qwxzzy Lane") == []
    msg = s.incidents.no_match_message("Qwxzzy Lane")
    assert "Nothing matches \"Qwxzzy Lane\"" in msg and "addresses" in msg


def test_incident_at_a_uprn_keeps_it_and_its_point(open_as, imported):
    s = open_as("handler.north")
    p = next(x for x in s.incidents.suggest_places("12 Midsummer Boulevard") if x.uprn)
    inc = s.incidents.create(channel="999", incident_type="ASB", summary="Noise", lat=p.lat, lon=p.lon,
                             address=p.name, uprn=p.uprn)
    again = s.incidents.get(inc.id)
    assert (again.uprn, round(again.lat, 5), again.area_code) == (990000012, round(p.lat, 5), "mk")


def test_two_incidents_in_one_street_are_not_duplicates_beyond_the_rule(open_as, imported):
    s = open_as("handler.north")
    a, b = (next(x for x in s.incidents.suggest_places(q) if x.uprn)
            for q in ("12 Midsummer Boulevard", "400 Midsummer Boulevard"))
    first = s.incidents.create(channel="999", incident_type="ASB", summary="Shouting", lat=a.lat, lon=a.lon,
                               uprn=a.uprn, address=a.name)
    rel = s.incidents.find_related(lat=b.lat, lon=b.lon, uprn=b.uprn)
    assert first.id not in {d.id for d in rel.duplicates}
    assert first.id not in {h.id for h in rel.history}
    same = s.incidents.find_related(lat=a.lat, lon=a.lon, uprn=a.uprn)
    assert [d.reason for d in same.duplicates if d.id == first.id] == ["same address"]


def test_history_of_a_flat_is_not_the_flat_next_door(open_as, imported, db_url):
    s = open_as("handler.north")
    f1, f2 = sorted((x for x in s.incidents.suggest_places("Central Court") if x.uprn), key=lambda p: p.uprn)
    inc = s.incidents.create(channel="101", incident_type="ASB", summary="Flat 1", lat=f1.lat, lon=f1.lon,
                             uprn=f1.uprn)
    with psycopg.connect(db_url, autocommit=True) as c:  # last week's call: history, not a duplicate
        c.execute("UPDATE incidents SET created_at = now() - interval '7 days' WHERE id = %s", (inc.id,))
    rel1 = s.incidents.find_related(lat=f1.lat, lon=f1.lon, uprn=f1.uprn)
    rel2 = s.incidents.find_related(lat=f2.lat, lon=f2.lon, uprn=f2.uprn)
    unknown = s.incidents.find_related(lat=f2.lat, lon=f2.lon)  # a point typed in, no property chosen
    assert [h.reason for h in rel1.history if h.id == inc.id] == ["same address"]
    assert inc.id not in {h.id for h in rel2.history}      # same point, the flat next door
    assert inc.id in {h.id for h in unknown.history}       # without a UPRN: distance, as before


def test_wrong_file_type_is_refused_with_a_clear_message_and_nothing_written(db_url, tmp_path):
    bad = fx.write_code_point(tmp_path / "codepoint.csv")
    with psycopg.connect(db_url) as c:
        before = c.execute("SELECT count(*) FROM gazetteer").fetchone()[0]
    with pytest.raises(FormatError, match="OS Open Names row has 34 columns"):
        Importer(db_url).open_names([bad])
    with pytest.raises(FormatError, match="column header"):
        Importer(db_url).addresses([bad])
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM gazetteer").fetchone()[0] == before


def test_full_import_replaces_and_merge_updates(db_url, tmp_path, imported):
    rows = fx.address_rows()
    header = fx.write_addressbase_header(tmp_path / "ABP_header.csv")
    changed = [dict(rows[0], BUILDING_NAME="THE OLD BANK")]
    Importer(db_url).addresses([fx.write_addressbase(tmp_path / "cou.csv", changed, header_in_file=False)],
                               header=header, merge=True)
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT building_name FROM addresses WHERE uprn = 990000012").fetchone() == ("The Old Bank",)
        assert c.execute("SELECT count(*) FROM addresses").fetchone()[0] == 6
    Importer(db_url).addresses([fx.write_addressbase(tmp_path / "full.csv", rows[:2])])
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM addresses").fetchone()[0] == 2
        # the swapped-in table keeps its indexes under their names
        idx = {r[0] for r in c.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'addresses'")}
        assert {"addresses_pkey", "ix_addresses_postcode", "ix_addresses_building_fts"} <= idx
    Importer(db_url).addresses([fx.write_addressbase(tmp_path / "all.csv", rows)])  # back for the others


def test_cli_imports_with_a_progress_bar(db_url, tmp_path, capsys):
    f = fx.write_code_point(tmp_path / "cp.csv")
    assert geo_cli(["--database-url", db_url, "import", "code-point", str(f)]) == 0
    out = capsys.readouterr()
    assert "Code-Point Open: 3 imported from 4 rows" in out.out
    assert "Code-Point Open" in out.err and "100%" in out.err      # tqdm's bar on stderr
    assert geo_cli(["--database-url", db_url, "import", "open-names", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
