"""incidents end to end: THRIVE, links, SLA breaches, gazetteer, location indexes

Revision ID: 0004
Revises: 0001
"""
from __future__ import annotations

import csv

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_thrive",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_incident_thrive_incident_id_incidents"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("threat", sa.Text(), nullable=False),
        sa.Column("harm", sa.Text(), nullable=False),
        sa.Column("risk", sa.Text(), nullable=False),
        sa.Column("investigation", sa.Text(), nullable=False),
        sa.Column("vulnerability", sa.Text(), nullable=False),
        sa.Column("engagement", sa.Text(), nullable=False),
        sa.Column("risk_level", sa.String(8), nullable=True),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40), nullable=True),
        sa.CheckConstraint("version >= 1", name="ck_incident_thrive_version"),
        sa.CheckConstraint("risk_level IS NULL OR risk_level IN ('high','medium','low')",
                           name="ck_incident_thrive_risk_level"),
        sa.UniqueConstraint("incident_id", "version", name="uq_incident_thrive_incident_id"),
    )
    op.create_table(
        "incident_links",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("a_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_incident_links_a_id_incidents"), nullable=False),
        sa.Column("b_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_incident_links_b_id_incidents"), nullable=False),
        sa.Column("kind", sa.String(16), server_default="related", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        # a < b makes (a, b) a canonical pair, so the unique constraint catches both directions
        sa.CheckConstraint("a_id < b_id", name="ck_incident_links_ordered"),
        sa.CheckConstraint("kind IN ('duplicate','related')", name="ck_incident_links_kind"),
        sa.UniqueConstraint("a_id", "b_id", name="uq_incident_links_a_id"),
    )
    op.create_index("ix_incident_links_b_id", "incident_links", ["b_id"])
    op.create_table(
        "incident_breaches",
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_incident_breaches_incident_id_incidents"), nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("grade", sa.String(2), nullable=True),
        sa.Column("recorded_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        # one breach per incident and deadline: consoles noticing it at once record it once
        sa.PrimaryKeyConstraint("incident_id", "deadline_at", name="pk_incident_breaches"),
    )
    op.create_table(
        "gazetteer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("area_code", sa.String(20), nullable=True),
        sa.Column("county", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('place','junction','landmark','street')", name="ck_gazetteer_kind"),
    )
    op.execute("CREATE INDEX ix_gazetteer_name_trgm ON gazetteer USING gin (name gin_trgm_ops)")
    # Location lookups (duplicates within 200 m, history within 50 m) use a GiST box search on a
    # point expression; the open-only partial index keeps the duplicate probe tiny.
    op.execute("CREATE INDEX ix_incidents_geo ON incidents USING gist (point(lon, lat))")
    op.execute("CREATE INDEX ix_incidents_geo_open ON incidents USING gist (point(lon, lat)) "
               "WHERE status <> 'closed'")
    # Breach sweep: open incidents nobody has reached yet, by deadline.
    op.execute("CREATE INDEX ix_incidents_deadline_open ON incidents (deadline_at) "
               "WHERE status <> 'closed' AND arrived_at IS NULL AND deadline_at IS NOT NULL")
    # Assessments, links and breaches are records: never edited or deleted (new rows instead).
    for table in ("incident_thrive", "incident_links", "incident_breaches"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cr_refuse_change()")
    _load_gazetteer()


def _load_gazetteer() -> None:
    from controlroom.kernel.config import MAPS

    with open(MAPS / "places.csv", encoding="utf-8") as fh:
        rows = [{"name": r["name"], "kind": r["kind"], "lat": float(r["lat"]), "lon": float(r["lon"]),
                 "area_code": r["area_code"] or None, "county": r["county"] or None}
                for r in csv.DictReader(fh)]
    table = sa.table("gazetteer", sa.column("name"), sa.column("kind"), sa.column("lat"),
                     sa.column("lon"), sa.column("area_code"), sa.column("county"))
    op.bulk_insert(table, rows)


def downgrade() -> None:
    for table in ("incident_thrive", "incident_links", "incident_breaches"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP INDEX IF EXISTS ix_incidents_deadline_open")
    op.execute("DROP INDEX IF EXISTS ix_incidents_geo_open")
    op.execute("DROP INDEX IF EXISTS ix_incidents_geo")
    op.drop_table("gazetteer")
    op.drop_table("incident_breaches")
    op.drop_index("ix_incident_links_b_id", table_name="incident_links")
    op.drop_table("incident_links")
    op.drop_table("incident_thrive")
