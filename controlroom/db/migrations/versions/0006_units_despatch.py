"""units and despatch: assignment history, unit status log, one-open-assignment guard

Revision ID: 0006
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_assignments_incident_id_incidents"), nullable=False),
        sa.Column("callsign", sa.String(16), sa.ForeignKey("units.callsign", name="fk_assignments_callsign_units"), nullable=False),
        sa.Column("assigned_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("arrived_at", TS, nullable=True),
        sa.Column("cleared_at", TS, nullable=True),
        sa.Column("cleared_by", sa.String(64), nullable=True),
        sa.Column("diverted_from", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_assignments_diverted_from_incidents"), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.CheckConstraint("cleared_at IS NULL OR cleared_at >= assigned_at", name="ck_assignments_cleared_after"),
    )
    # The database, not Python, keeps a unit on at most one incident: units.incident_id is one
    # column, and at most one open assignment row may exist per callsign.
    op.create_index("uq_assignments_open_callsign", "assignments", ["callsign"], unique=True,
                    postgresql_where=sa.text("cleared_at IS NULL"))
    op.create_index("ix_assignments_incident", "assignments", ["incident_id"])
    op.create_index("ix_assignments_callsign_at", "assignments", ["callsign", "assigned_at"])
    op.create_table(
        "unit_status_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("callsign", sa.String(16), sa.ForeignKey("units.callsign", name="fk_unit_status_log_callsign_units"), nullable=False),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_unit_status_log_callsign_at", "unit_status_log", ["callsign", "at"])
    op.execute("CREATE TRIGGER unit_status_log_append_only BEFORE UPDATE OR DELETE ON unit_status_log "
               "FOR EACH ROW EXECUTE FUNCTION cr_refuse_change()")
    # Position history is the unit.position events themselves; this index lets a unit's timeline
    # read its recent positions without scanning the whole event stream.
    op.create_index("ix_events_unit_position", "events", ["entity_id", "seq"],
                    postgresql_where=sa.text("kind = 'unit.position'"))
    op.create_index("ix_units_incident", "units", ["incident_id"],
                    postgresql_where=sa.text("incident_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_units_incident", table_name="units")
    op.drop_index("ix_events_unit_position", table_name="events")
    op.execute("DROP TRIGGER IF EXISTS unit_status_log_append_only ON unit_status_log")
    op.drop_table("unit_status_log")
    op.drop_table("assignments")
