"""contacts: multi-channel virtual queue, emergency-content flags, hourly demand rollup

Revision ID: 0011
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHANNELS = ("999", "999-text", "101", "switchboard", "direct", "alarm", "fire", "ambulance",
            "online", "sms", "email", "webchat", "fax", "internal")
STATES = ("queued", "callback", "taken", "answered", "abandoned", "assessed", "resolved", "to_incident")
TS = postgresql.TIMESTAMP(timezone=True)


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN (" + ",".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("base_priority", sa.SmallInteger(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("from_addr", sa.Text(), nullable=False),
        sa.Column("from_key", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("received_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("queue_time", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("taken_at", TS), sa.Column("taken_by", sa.String(64)),
        sa.Column("taken_console", sa.String(40)),
        sa.Column("answered_at", TS), sa.Column("abandoned_at", TS), sa.Column("assessed_at", TS),
        sa.Column("thrive", postgresql.JSONB()),
        sa.Column("callback_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("callback_at", TS),
        sa.Column("resolved_at", TS), sa.Column("resolution", sa.Text()),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id", name="fk_contacts_incident_id_incidents")),
        sa.Column("flagged_emergency", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("needs_review", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("flag_reason", sa.Text()),
        sa.Column("review_outcome", sa.String(12)), sa.Column("reviewed_by", sa.String(64)),
        sa.Column("reviewed_at", TS), sa.Column("review_reason", sa.Text()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.CheckConstraint(_in("channel", CHANNELS), name="ck_contacts_channel"),
        sa.CheckConstraint(_in("state", STATES), name="ck_contacts_state"),
        sa.CheckConstraint("priority BETWEEN 1 AND 4 AND base_priority BETWEEN 1 AND 4",
                           name="ck_contacts_priority"),
        # Who holds a contact is part of its state: the queue never has a holder, a taken one always has.
        sa.CheckConstraint("state NOT IN ('queued','callback') OR taken_by IS NULL", name="ck_contacts_queued_unheld"),
        sa.CheckConstraint("state IN ('queued','callback','abandoned') OR taken_by IS NOT NULL",
                           name="ck_contacts_taken_has_holder"),
        sa.CheckConstraint("state <> 'to_incident' OR incident_id IS NOT NULL", name="ck_contacts_incident_link"),
        sa.CheckConstraint("state NOT IN ('resolved','to_incident') OR resolved_at IS NOT NULL",
                           name="ck_contacts_resolved_at"),
        sa.CheckConstraint("NOT flagged_emergency OR priority = 1", name="ck_contacts_flag_priority"),
        sa.CheckConstraint("NOT needs_review OR flagged_emergency", name="ck_contacts_review_flagged"),
        sa.CheckConstraint("review_outcome IS NULL OR review_outcome IN ('confirmed','dismissed')",
                           name="ck_contacts_review_outcome"),
        sa.CheckConstraint("length(text) <= 4000 AND length(from_addr) <= 200", name="ck_contacts_len"),
    )
    # The queue: next_contact walks this small partial index in (priority, queue_time, id) order.
    op.create_index("ix_contacts_queue", "contacts", ["priority", "queue_time", "id"],
                    postgresql_where=sa.text("state IN ('queued','callback')"))
    op.create_index("ix_contacts_active", "contacts", ["id"],
                    postgresql_where=sa.text("state IN ('taken','answered','assessed')"))
    op.create_index("ix_contacts_review", "contacts", ["id"], postgresql_where=sa.text("needs_review"))
    op.create_index("ix_contacts_received_at", "contacts", ["received_at"])
    op.create_index("ix_contacts_from_key", "contacts", ["from_key", "received_at"])
    op.create_table(
        "contacts_hourly",
        sa.Column("hour", TS, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("answered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("answer_wait_s", sa.Double(), nullable=False, server_default="0"),
        sa.Column("abandoned", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("callbacks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("assessed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("resolved", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("to_incident", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("flagged", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("hour", "channel", name="pk_contacts_hourly"),
    )
    op.create_index("ix_contacts_hourly_channel", "contacts_hourly", ["channel", "hour"])
    op.execute(ROLLUP_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS contacts_rollup ON contacts")
    op.execute("DROP TRIGGER IF EXISTS contacts_rollup_ins ON contacts")
    op.execute("DROP FUNCTION IF EXISTS cr_contacts_rollup()")
    op.execute("DROP FUNCTION IF EXISTS cr_contacts_rollup_add(contacts, integer)")
    op.drop_table("contacts_hourly")
    op.drop_table("contacts")


# The hourly rollup follows every single-row write (receive, answer, abandon, …) by trigger, so the
# dashboards never scan history. Bulk loaders (controlroom.demo.demand) set controlroom.bulk_load = on,
# skip the trigger and rebuild the rollup for their range with one GROUP BY.
ROLLUP_SQL = r"""
CREATE FUNCTION cr_contacts_rollup_add(c contacts, sgn integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO contacts_hourly AS h (hour, channel, received, answered, answer_wait_s, abandoned,
                                    callbacks, assessed, resolved, to_incident, flagged)
  VALUES (date_trunc('hour', c.received_at), c.channel, sgn,
          sgn * (c.answered_at IS NOT NULL)::int,
          sgn * coalesce(extract(epoch FROM c.answered_at - c.received_at), 0),
          sgn * (c.abandoned_at IS NOT NULL)::int,
          sgn * c.callback_count,
          sgn * (c.assessed_at IS NOT NULL)::int,
          sgn * (c.state = 'resolved')::int,
          sgn * (c.state = 'to_incident')::int,
          sgn * (c.flagged_emergency OR c.review_outcome IS NOT NULL)::int)
  ON CONFLICT (hour, channel) DO UPDATE SET
    received = h.received + EXCLUDED.received, answered = h.answered + EXCLUDED.answered,
    answer_wait_s = h.answer_wait_s + EXCLUDED.answer_wait_s,
    abandoned = h.abandoned + EXCLUDED.abandoned, callbacks = h.callbacks + EXCLUDED.callbacks,
    assessed = h.assessed + EXCLUDED.assessed, resolved = h.resolved + EXCLUDED.resolved,
    to_incident = h.to_incident + EXCLUDED.to_incident, flagged = h.flagged + EXCLUDED.flagged
$$;

CREATE FUNCTION cr_contacts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('controlroom.bulk_load', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM cr_contacts_rollup_add(OLD, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM cr_contacts_rollup_add(NEW, 1);
  END IF;
  RETURN NULL;
END $$;

-- Taking a contact changes nothing the rollup counts: the WHEN keeps next_contact cheap.
CREATE TRIGGER contacts_rollup_ins AFTER INSERT OR DELETE ON contacts
  FOR EACH ROW EXECUTE FUNCTION cr_contacts_rollup();
CREATE TRIGGER contacts_rollup AFTER UPDATE ON contacts
  FOR EACH ROW WHEN (OLD.answered_at IS DISTINCT FROM NEW.answered_at
                     OR OLD.abandoned_at IS DISTINCT FROM NEW.abandoned_at
                     OR OLD.callback_count IS DISTINCT FROM NEW.callback_count
                     OR OLD.assessed_at IS DISTINCT FROM NEW.assessed_at
                     OR (OLD.state IN ('resolved','to_incident')) <> (NEW.state IN ('resolved','to_incident'))
                     OR OLD.flagged_emergency IS DISTINCT FROM NEW.flagged_emergency
                     OR OLD.review_outcome IS DISTINCT FROM NEW.review_outcome
                     OR OLD.received_at IS DISTINCT FROM NEW.received_at)
  EXECUTE FUNCTION cr_contacts_rollup();
"""
