"""command: firearms/major command roles, armed authorisations, NDM decision log, METHANE reports

Revision ID: 0008
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)
ROLES = ("ITFC", "TFC", "SFC", "OFC", "GOLD", "SILVER", "BRONZE")
APPEND_ONLY = ("command_roles", "armed_authorisations", "decision_log", "methane_reports")


def _who() -> list[sa.Column]:
    return [sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
            sa.Column("by", sa.String(64), nullable=False),
            sa.Column("console_id", sa.String(40), nullable=True)]


def upgrade() -> None:
    # History of who holds each command role; the current holder is the row with the highest n.
    # (incident_id, role, n) unique: two consoles handing over the same role at once cannot both
    # win (the loser hits the index and is told to refresh). holder NULL = role stood down.
    op.create_table(
        "command_roles",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name=op.f("fk_command_roles_incident_id_incidents")),
                  nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("accredited", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("from_holder", sa.String(120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        *_who(),
        sa.CheckConstraint("role IN (" + ",".join(f"'{r}'" for r in ROLES) + ")",
                           name=op.f("ck_command_roles_role")),
        sa.CheckConstraint("n >= 1", name=op.f("ck_command_roles_n")),
        sa.UniqueConstraint("incident_id", "role", "n", name=op.f("uq_command_roles_incident_role_n")),
    )
    op.create_table(
        "armed_authorisations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name=op.f("fk_armed_authorisations_incident_id_incidents")),
                  nullable=False),
        sa.Column("threat_assessment", sa.Text(), nullable=False),
        sa.Column("working_strategy", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        *_who(),
        # One authorisation per incident (a second would be a silent overwrite of the record).
        sa.UniqueConstraint("incident_id", name=op.f("uq_armed_authorisations_incident_id")),
    )
    op.create_table(
        "decision_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name=op.f("fk_decision_log_incident_id_incidents")),
                  nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("options_considered", sa.Text(), nullable=True),
        *_who(),
        sa.CheckConstraint("stage BETWEEN 1 AND 5", name=op.f("ck_decision_log_stage")),
    )
    op.create_index("ix_decision_log_incident_id", "decision_log", ["incident_id", "id"])
    op.create_table(
        "methane_reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name=op.f("fk_methane_reports_incident_id_incidents")),
                  nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("major_incident", sa.Text(), nullable=True),
        sa.Column("exact_location", sa.Text(), nullable=True),
        sa.Column("incident_type", sa.Text(), nullable=True),
        sa.Column("hazards", sa.Text(), nullable=True),
        sa.Column("access", sa.Text(), nullable=True),
        sa.Column("casualties", sa.Text(), nullable=True),
        sa.Column("emergency_services", sa.Text(), nullable=True),
        *_who(),
        sa.CheckConstraint("version >= 1", name=op.f("ck_methane_reports_version")),
        sa.UniqueConstraint("incident_id", "version", name=op.f("uq_methane_reports_incident_version")),
    )
    # Command records are evidence: the database refuses edits, deletions and truncation.
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cr_refuse_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION cr_refuse_change()")
    # "Incidents under command" is a frequent panel query; firearms/major incidents are few.
    op.create_index("ix_incidents_under_command", "incidents", ["id"],
                    postgresql_where=sa.text("status <> 'closed' AND (firearms OR major_kind IS NOT NULL)"))
    op.execute("ALTER TABLE incidents ADD CONSTRAINT ck_incidents_major_kind "
               "CHECK (major_kind IS NULL OR major_kind IN ('major','critical'))")


def downgrade() -> None:
    op.execute("ALTER TABLE incidents DROP CONSTRAINT IF EXISTS ck_incidents_major_kind")
    op.drop_index("ix_incidents_under_command", table_name="incidents")
    for table in reversed(APPEND_ONLY):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.drop_table(table)
