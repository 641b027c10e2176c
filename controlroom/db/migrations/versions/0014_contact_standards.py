"""inspection-grade standards: state machines by trigger, reclaim flags, prompts, sign-offs, back-records

Revision ID: 0014
Revises: 0001 (depends on 0004 incidents, 0011 contacts)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    # Work returned to the queue from a console that died is flagged, with who and where it was.
    op.add_column("contacts", sa.Column("reclaimed_at", TS, nullable=True))
    op.add_column("contacts", sa.Column("reclaimed_from", sa.String(40), nullable=True))
    op.add_column("contacts", sa.Column("reclaimed_user", sa.String(64), nullable=True))
    op.add_column("contacts", sa.Column("reclaim_count", sa.Integer(), nullable=False, server_default="0"))
    # reclaim_orphans joins held contacts to their console: this keeps that join on a tiny index.
    op.create_index("ix_contacts_held_console", "contacts", ["taken_console"],
                    postgresql_where=sa.text("state IN ('taken','answered','assessed')"))
    # Answer banding aggregates by channel and time straight from contacts.
    op.create_index("ix_contacts_channel_received", "contacts", ["channel", "received_at"],
                    postgresql_include=["answered_at", "abandoned_at"])

    # Paper fallback: an entry re-keyed from a paper log keeps the time it was written on paper.
    op.add_column("incident_log", sa.Column("original_at", TS, nullable=True))
    op.create_check_constraint("ck_incident_log_back_record", "incident_log",
                               "(kind = 'back_record') = (original_at IS NOT NULL)")

    op.create_table(
        "incident_prompts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name="fk_incident_prompts_incident_id_incidents"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        # What raised it (e.g. 'G2@45', 'contact:812', 'eta:1700000000'): each cause raises once.
        sa.Column("cause", sa.String(64), nullable=False),
        sa.Column("room_code", sa.String(20), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("raised_by", sa.String(64), nullable=True),
        sa.Column("acknowledged_at", TS), sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("resolved_at", TS), sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolution", sa.Text()),
        sa.CheckConstraint("kind IN ('ageing','victim_update','reassess')", name="ck_incident_prompts_kind"),
        sa.CheckConstraint("(resolved_at IS NULL) = (resolved_by IS NULL)", name="ck_incident_prompts_resolved"),
        sa.UniqueConstraint("incident_id", "kind", "cause", name="uq_incident_prompts_cause"),
    )
    op.create_index("ix_incident_prompts_open", "incident_prompts", ["room_code", "raised_at"],
                    postgresql_where=sa.text("resolved_at IS NULL"))

    op.create_table(
        "victim_promises",
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name="fk_victim_promises_incident_id_incidents"), primary_key=True),
        sa.Column("promised_at", TS, nullable=False),
        sa.Column("set_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("set_by", sa.String(64), nullable=False),
    )

    op.create_table(
        "grade_signoffs",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(),
                  sa.ForeignKey("incidents.id", name="fk_grade_signoffs_incident_id_incidents"), nullable=False),
        sa.Column("from_grade", sa.String(2), nullable=False),
        sa.Column("to_grade", sa.String(2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_console", sa.String(40)),
        sa.Column("requested_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("decided_by", sa.String(64)), sa.Column("decided_at", TS),
        sa.Column("decision_reason", sa.Text()),
        sa.CheckConstraint("status IN ('pending','approved','rejected','withdrawn')", name="ck_grade_signoffs_status"),
        sa.CheckConstraint("to_grade > from_grade", name="ck_grade_signoffs_is_downgrade"),
        sa.CheckConstraint("length(reason) BETWEEN 1 AND 2000", name="ck_grade_signoffs_reason"),
        # Sign-off means a second person: the database refuses a self-approval whatever the code does.
        sa.CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="ck_grade_signoffs_second_person"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_grade_signoffs_decided"),
    )
    op.create_index("uq_grade_signoffs_pending", "grade_signoffs", ["incident_id"], unique=True,
                    postgresql_where=sa.text("status = 'pending'"))
    op.execute(STATE_MACHINES_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incident_thrive_resolves_prompts ON incident_thrive")
    op.execute("DROP FUNCTION IF EXISTS cr_thrive_resolves_prompts()")
    op.execute("DROP TRIGGER IF EXISTS contacts_state_machine ON contacts")
    op.execute("DROP TRIGGER IF EXISTS incidents_status_machine ON incidents")
    op.execute("DROP FUNCTION IF EXISTS cr_contacts_transition()")
    op.execute("DROP FUNCTION IF EXISTS cr_incidents_transition()")
    op.drop_table("grade_signoffs")
    op.drop_table("victim_promises")
    op.drop_table("incident_prompts")
    op.drop_constraint("ck_incident_log_back_record", "incident_log")
    op.drop_column("incident_log", "original_at")
    op.drop_index("ix_contacts_channel_received", table_name="contacts")
    op.drop_index("ix_contacts_held_console", table_name="contacts")
    for col in ("reclaim_count", "reclaimed_user", "reclaimed_from", "reclaimed_at"):
        op.drop_column("contacts", col)


# The queue states are a state machine the DATABASE enforces: whatever code (or hand-written SQL)
# updates a row, an illegal step is refused, so no contact or incident can ever be "in between".
# 'taken -> queued' and 'answered/assessed -> callback' are the reclaim of work from a dead console.
STATE_MACHINES_SQL = r"""
CREATE FUNCTION cr_contacts_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.state, NEW.state) IN (
      ('queued','taken'), ('queued','abandoned'), ('queued','callback'),
      ('callback','taken'), ('callback','abandoned'),
      ('taken','answered'), ('taken','abandoned'), ('taken','callback'), ('taken','assessed'),
      ('taken','resolved'), ('taken','to_incident'), ('taken','queued'),
      ('answered','callback'), ('answered','assessed'), ('answered','resolved'), ('answered','to_incident'),
      ('assessed','resolved'), ('assessed','to_incident'), ('assessed','callback'),
      ('abandoned','callback')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'contact % cannot go from % to %', OLD.id, OLD.state, NEW.state
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_contacts_transition';
END $$;
CREATE TRIGGER contacts_state_machine BEFORE UPDATE OF state ON contacts
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION cr_contacts_transition();

CREATE FUNCTION cr_incidents_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.status, NEW.status) IN (
      ('open','despatched'), ('open','at_scene'), ('open','closed'),
      ('despatched','at_scene'), ('despatched','closed'),
      ('at_scene','closed'), ('closed','open')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'incident % cannot go from % to %', OLD.urn, OLD.status, NEW.status
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_incidents_transition';
END $$;
CREATE TRIGGER incidents_status_machine BEFORE UPDATE OF status ON incidents
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION cr_incidents_transition();

-- A reassessment is a new THRIVE version: recording one answers every open reassessment prompt.
CREATE FUNCTION cr_thrive_resolves_prompts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE incident_prompts SET resolved_at = NEW.at, resolved_by = NEW.username,
         resolution = 'THRIVE version ' || NEW.version
   WHERE incident_id = NEW.incident_id AND kind = 'reassess' AND resolved_at IS NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER incident_thrive_resolves_prompts AFTER INSERT ON incident_thrive
  FOR EACH ROW EXECUTE FUNCTION cr_thrive_resolves_prompts();
"""
