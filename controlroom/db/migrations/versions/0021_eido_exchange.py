"""exchange: NENA EIDO imports may attach to an incident we hold, or be kept as another agency's
incident (no coordinates / outside our force) with its civic location, caller and log

Revision ID: 0021
Revises: 0020
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    # One row per (incident, sending agency); incident_id is NULL for another agency's incident
    # that is not ours to work (kept with what it says, re-exported as received).
    op.drop_constraint("uq_incident_partner_refs_incident_id", "incident_partner_refs", type_="unique")
    op.alter_column("incident_partner_refs", "incident_id", nullable=True)
    op.alter_column("incident_partner_refs", "agency", type_=sa.String(200))
    op.alter_column("incident_partner_refs", "tracking_id", type_=sa.String(400))
    op.create_index("uq_incident_partner_refs_incident_agency", "incident_partner_refs",
                    ["incident_id", "agency"], unique=True, postgresql_where=sa.text("incident_id IS NOT NULL"))
    for name, col in (("sent_at", sa.Column("sent_at", TS, nullable=True)),
                      ("summary", sa.Column("summary", sa.Text(), nullable=True)),
                      ("incident_type_text", sa.Column("incident_type_text", sa.Text(), nullable=True)),
                      ("address", sa.Column("address", sa.Text(), nullable=True)),
                      ("lat", sa.Column("lat", sa.Double(), nullable=True)),
                      ("lon", sa.Column("lon", sa.Double(), nullable=True)),
                      ("caller_name", sa.Column("caller_name", sa.Text(), nullable=True)),
                      ("caller_phone", sa.Column("caller_phone", sa.String(40), nullable=True)),
                      ("urls", sa.Column("urls", postgresql.JSONB(), server_default="[]", nullable=False)),
                      ("log", sa.Column("log", postgresql.JSONB(), server_default="[]", nullable=False))):
        op.add_column("incident_partner_refs", col)


def downgrade() -> None:
    for name in ("sent_at", "summary", "incident_type_text", "address", "lat", "lon", "caller_name",
                 "caller_phone", "urls", "log"):
        op.drop_column("incident_partner_refs", name)
    op.drop_index("uq_incident_partner_refs_incident_agency", table_name="incident_partner_refs")
    op.execute("DELETE FROM incident_partner_refs WHERE incident_id IS NULL")
    op.alter_column("incident_partner_refs", "incident_id", nullable=False)
    op.create_unique_constraint("uq_incident_partner_refs_incident_id", "incident_partner_refs", ["incident_id"])
