"""real geography: address gazetteer (UPRN addresses, postcodes, streets), base-map and road config

Revision ID: 0024
Revises: 0023

Consoles only read these tables; the importers (`python -m controlroom.geo import …`) run as the
schema owner from the command line, and the base-map choice is written by the owner's CLI too.
"""
from __future__ import annotations

import json

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# The demo data coded these Milton Keynes places to Buckinghamshire, and one landmark carried
# an internal name (issue 18 item 9). Databases seeded before the fix are corrected here.
_MK_FIXES = ("Bletchley", "Stadium MK", "Bletchley Park")

UPGRADE_SQL = """
-- gazetteer: streets, places and postcodes from the force's own files sit beside the demo seed
ALTER TABLE gazetteer ADD COLUMN town text;
ALTER TABLE gazetteer ADD COLUMN postcode text;
ALTER TABLE gazetteer ADD COLUMN source text NOT NULL DEFAULT 'demo';
ALTER TABLE gazetteer ADD COLUMN ref text;
ALTER TABLE gazetteer ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', name || ' ' || coalesce(town, '') || ' ' || coalesce(postcode, ''))) STORED;
CREATE INDEX ix_gazetteer_search ON gazetteer USING gin (search);
CREATE INDEX ix_gazetteer_name_prefix ON gazetteer (lower(name) text_pattern_ops);
CREATE UNIQUE INDEX ux_gazetteer_source_ref ON gazetteer (source, ref) WHERE ref IS NOT NULL;

-- one row per addressable property (UPRN), from an AddressBase-style CSV
CREATE TABLE addresses (
    uprn bigint PRIMARY KEY,
    organisation text,
    sub_building text,
    building_name text,
    building_number text,
    street text,
    locality text,
    town text,
    postcode text,
    postcode_key text GENERATED ALWAYS AS (upper(replace(postcode, ' ', ''))) STORED,
    street_key text GENERATED ALWAYS AS (lower(street) || '|' || lower(coalesce(town, ''))) STORED,
    label text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    area_code varchar(20),
    source text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_addresses_postcode ON addresses (postcode_key);
CREATE INDEX ix_addresses_street_number ON addresses (street_key, building_number);
CREATE INDEX ix_addresses_building_trgm ON addresses USING gist (building_name gist_trgm_ops)
    WHERE building_name IS NOT NULL;
CREATE INDEX ix_addresses_geo ON addresses USING gist (point(lon, lat));

-- postcode unit centroids (Code-Point Open, or the postcodes in OS Open Names)
CREATE TABLE postcodes (
    postcode_key text PRIMARY KEY,
    postcode text NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    area_code varchar(20),
    quality smallint,
    source text NOT NULL
);
CREATE INDEX ix_postcodes_prefix ON postcodes (postcode_key text_pattern_ops);

-- force-wide geography configuration (base map, road network state): one row per key
CREATE TABLE geo_config (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT session_user
);

-- the road graph a force imports (OS Open Roads / OpenStreetMap), for drive-time ETAs
CREATE TABLE road_nodes (
    id bigint PRIMARY KEY,
    lat double precision NOT NULL,
    lon double precision NOT NULL
);
CREATE TABLE road_edges (
    source bigint NOT NULL REFERENCES road_nodes (id),
    target bigint NOT NULL REFERENCES road_nodes (id),
    length_m real NOT NULL CHECK (length_m >= 0),
    speed_kph real NOT NULL CHECK (speed_kph > 0),
    oneway boolean NOT NULL DEFAULT false,
    road_class text,
    PRIMARY KEY (source, target)
);

-- an incident keeps what the call handler picked: the property (UPRN) or the postcode/street
ALTER TABLE incidents ADD COLUMN uprn bigint;
ALTER TABLE incidents ADD COLUMN location_ref text;
CREATE INDEX ix_incidents_uprn ON incidents (uprn, created_at) WHERE uprn IS NOT NULL;
"""

GRANTS_SQL = """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cr_console') THEN
    GRANT SELECT ON addresses, postcodes, geo_config, road_nodes, road_edges, gazetteer TO cr_console;
  END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    op.execute(GRANTS_SQL)
    _fix_demo_places()


def _fix_demo_places() -> None:
    from controlroom.kernel.config import MAPS

    names = ", ".join(f"'{n}'" for n in _MK_FIXES)
    op.execute(f"UPDATE gazetteer SET area_code = 'mk', county = 'Milton Keynes' "
               f"WHERE source = 'demo' AND name IN ({names}) AND area_code = 'bucks'")
    op.execute("UPDATE gazetteer SET name = 'Central Milton Keynes' WHERE source = 'demo' AND name = 'centre:mk'")
    op.execute("INSERT INTO gazetteer (name, kind, lat, lon, area_code, county) "
               "SELECT 'Wolverton', 'place', 52.0627, -0.8105, 'mk', 'Milton Keynes' "
               "WHERE NOT EXISTS (SELECT 1 FROM gazetteer WHERE name = 'Wolverton')")
    # The demo's own area shapes follow the corrected coding (a force's imported boundaries,
    # marked in meta, are never touched).
    with open(MAPS / "areas.geojson", encoding="utf-8") as fh:
        shipped = {f["properties"]["code"]: f["geometry"] for f in json.load(fh)["features"]}
    conn = op.get_bind()
    from sqlalchemy import text

    imported = conn.execute(text("SELECT 1 FROM meta WHERE key = 'boundaries_source'")).scalar()
    if imported:
        return
    for code in ("mk", "bucks"):
        if code in shipped:
            conn.execute(text("UPDATE areas SET geojson = CAST(:g AS jsonb) WHERE code = :c"),
                         {"g": json.dumps(shipped[code]), "c": code})


def downgrade() -> None:
    op.execute("""
DROP INDEX IF EXISTS ix_incidents_uprn;
ALTER TABLE incidents DROP COLUMN IF EXISTS location_ref;
ALTER TABLE incidents DROP COLUMN IF EXISTS uprn;
DROP TABLE IF EXISTS road_edges;
DROP TABLE IF EXISTS road_nodes;
DROP TABLE IF EXISTS geo_config;
DROP TABLE IF EXISTS postcodes;
DROP TABLE IF EXISTS addresses;
DELETE FROM gazetteer WHERE source <> 'demo';
DROP INDEX IF EXISTS ux_gazetteer_source_ref;
DROP INDEX IF EXISTS ix_gazetteer_name_prefix;
DROP INDEX IF EXISTS ix_gazetteer_search;
ALTER TABLE gazetteer DROP COLUMN search, DROP COLUMN ref, DROP COLUMN source, DROP COLUMN postcode,
    DROP COLUMN town;
""")
