"""talk groups: allocation history, patches, radio log; exclusivity guaranteed by the database

Revision ID: 0007
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    # Only pool groups (incident / training) can ever carry an incident: a primary or partner
    # group allocated by mistake is refused by the database, not just by the service.
    op.create_check_constraint(op.f("ck_talk_groups_allocatable"), "talk_groups",
                               "incident_id IS NULL OR kind IN ('incident','training')")
    op.create_index("ix_talk_groups_free", "talk_groups", ["kind", "name"],
                    postgresql_where=sa.text("incident_id IS NULL"))
    op.create_index("ix_talk_groups_incident", "talk_groups", ["incident_id"],
                    postgresql_where=sa.text("incident_id IS NOT NULL"))
    op.create_foreign_key(op.f("fk_units_talk_group_talk_groups"), "units", "talk_groups",
                          ["talk_group"], ["name"], onupdate="CASCADE")

    op.create_table(
        "talk_group_allocations",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("talk_group", sa.String(40), sa.ForeignKey("talk_groups.name"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("allocated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("allocated_by", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40)),
        sa.Column("released_at", TS),
        sa.Column("released_by", sa.String(64)),
        sa.Column("release_reason", sa.String(32)),
    )
    # Second guarantee, independent of talk_groups.incident_id: one open allocation per group.
    op.create_index("uq_talk_group_allocations_open", "talk_group_allocations", ["talk_group"],
                    unique=True, postgresql_where=sa.text("released_at IS NULL"))
    op.create_index("ix_talk_group_allocations_incident", "talk_group_allocations", ["incident_id"])

    op.create_table(
        "talk_group_patches",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_group", sa.String(40), sa.ForeignKey("talk_groups.name"), nullable=False),
        sa.Column("other_group", sa.String(40), sa.ForeignKey("talk_groups.name"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("patched_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("patched_by", sa.String(64), nullable=False),
        sa.Column("unpatched_at", TS),
        sa.Column("unpatched_by", sa.String(64)),
        sa.CheckConstraint("incident_group <> other_group", name=op.f("ck_talk_group_patches_distinct_groups")),
    )
    # A partner or hailing group is patched into at most one incident group at a time.
    op.create_index("uq_talk_group_patches_open", "talk_group_patches", ["other_group"],
                    unique=True, postgresql_where=sa.text("unpatched_at IS NULL"))
    op.create_index("ix_talk_group_patches_incident_group", "talk_group_patches", ["incident_group"],
                    postgresql_where=sa.text("unpatched_at IS NULL"))

    op.create_table(
        "talkgroup_transmissions",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("talk_group", sa.String(40), sa.ForeignKey("talk_groups.name"), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id")),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40)),
        sa.Column("callsign", sa.String(16)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 2000", name=op.f("ck_talkgroup_transmissions_text_len")),
    )
    op.create_index("ix_talkgroup_transmissions_group", "talkgroup_transmissions", ["talk_group", "id"])
    op.create_index("ix_talkgroup_transmissions_incident", "talkgroup_transmissions", ["incident_id"],
                    postgresql_where=sa.text("incident_id IS NOT NULL"))
    # The radio log is a record like the incident log: append-only.
    op.execute("CREATE TRIGGER talkgroup_transmissions_append_only BEFORE UPDATE OR DELETE "
               "ON talkgroup_transmissions FOR EACH ROW EXECUTE FUNCTION cr_refuse_change()")


def downgrade() -> None:
    op.drop_table("talkgroup_transmissions")
    op.drop_table("talk_group_patches")
    op.drop_table("talk_group_allocations")
    op.drop_constraint("fk_units_talk_group_talk_groups", "units", type_="foreignkey")
    op.drop_index("ix_talk_groups_incident", table_name="talk_groups")
    op.drop_index("ix_talk_groups_free", table_name="talk_groups")
    op.drop_constraint("ck_talk_groups_allocatable", "talk_groups", type_="check")
