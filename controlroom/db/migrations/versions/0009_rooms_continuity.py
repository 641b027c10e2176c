"""rooms and continuity: room presence, area transfer history, incidents follow their area's room

Revision ID: 0009
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    # A console that signs out stops counting towards its room at once (not after the TTL).
    op.add_column("consoles", sa.Column("signed_out_at", TS, nullable=True))
    op.create_index("ix_consoles_room_last_seen", "consoles", ["room_code", "last_seen"])
    # The last staffed state announced per room: heartbeats flip it with a conditional upsert, so
    # exactly one console announces each change (console.presence) however many heartbeat at once.
    op.create_table(
        "room_presence",
        sa.Column("room_code", sa.String(20), sa.ForeignKey("rooms.code", name="fk_room_presence_room_code_rooms"),
                  nullable=False),
        sa.Column("staffed", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("changed_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("room_code", name="pk_room_presence"),
    )
    op.create_table(
        "area_transfers",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("area_code", sa.String(20), sa.ForeignKey("areas.code", name="fk_area_transfers_area_code_areas"),
                  nullable=False),
        sa.Column("from_room", sa.String(20), nullable=False),
        sa.Column("to_room", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40), nullable=True),
        sa.Column("incidents_moved", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('transfer','take_over','hand_back')", name="ck_area_transfers_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_area_transfers"),
    )
    op.create_index("ix_area_transfers_at", "area_transfers", ["at"])
    op.create_index("ix_incidents_room_open", "incidents", ["room_code"],
                    postgresql_where=sa.text("status <> 'closed'"))
    op.execute(ROOM_FOLLOWS_AREA_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incidents_room_follows_area ON incidents")
    op.execute("DROP FUNCTION IF EXISTS cr_incident_room_from_area()")
    op.drop_index("ix_incidents_room_open", table_name="incidents")
    op.drop_index("ix_area_transfers_at", table_name="area_transfers")
    op.drop_table("area_transfers")
    op.drop_table("room_presence")
    op.drop_index("ix_consoles_room_last_seen", table_name="consoles")
    op.drop_column("consoles", "signed_out_at")


# The owning room of an incident is its area's current room, decided by the database: FOR SHARE
# waits for a transfer in flight to commit and then reads the new owner, so an incident created
# during a transfer can never keep the old room (a Python read-then-insert could).
ROOM_FOLLOWS_AREA_SQL = """
CREATE FUNCTION cr_incident_room_from_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT room_code INTO NEW.room_code FROM areas WHERE code = NEW.area_code FOR SHARE;
  RETURN NEW;
END $$;
CREATE TRIGGER incidents_room_follows_area BEFORE INSERT OR UPDATE OF area_code ON incidents
  FOR EACH ROW EXECUTE FUNCTION cr_incident_room_from_area();
"""
