"""firearms declarations waiting for an inspector keep the declaration itself in their alert

Revision ID: 0037
Revises: 0036

An inspector console that signs in (or restarts after a crash) while a firearms declaration is
waiting for an Initial Tactical Firearms Commander shows it again, exactly as it was announced,
from the alert row (issue 18 item 3) — no search through the event log.
"""
from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE OR REPLACE FUNCTION cr_alerts_from_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  p jsonb := NEW.payload;
  v_incident bigint;
  v_urn text; v_type text; v_grade text; v_room text;
BEGIN
  v_incident := CASE
    WHEN NEW.kind LIKE 'incident.%' OR NEW.kind LIKE 'command.%' THEN nullif(NEW.entity_id, '')::bigint
    ELSE nullif(coalesce(p->>'incident_id', ''), '')::bigint END;
  IF v_incident IS NOT NULL THEN
    SELECT urn, incident_type, grade, room_code INTO v_urn, v_type, v_grade, v_room
      FROM incidents WHERE id = v_incident;
  END IF;
  v_room := coalesce(NEW.room_code, v_room);
  CASE NEW.kind
    WHEN 'incident.created', 'incident.graded', 'incident.updated' THEN
      IF v_grade = 'G1' AND NOT EXISTS (SELECT 1 FROM alerts WHERE kind = 'g1_new'
                                          AND subject = v_incident::text) THEN
        PERFORM cr_alert_raise('g1_new', v_incident::text, v_room,
                               format('New G1 %s: %s', v_urn, v_type), v_incident);
      END IF;
      IF NEW.kind = 'incident.graded' AND p ? 'signoff' THEN
        PERFORM cr_alert_close('downgrade_signoff', v_incident::text, 'signed off');
      END IF;
      IF NEW.kind = 'incident.graded' AND v_grade IS DISTINCT FROM 'G1' THEN
        PERFORM cr_alert_close('g1_new', v_incident::text, 'regraded');
      END IF;
    WHEN 'incident.breached' THEN
      IF coalesce(p->'breach'->>'grade', v_grade) = 'G1' THEN
        PERFORM cr_alert_raise('g1_breach', v_incident::text, v_room,
                               format('G1 %s past its target: %s', v_urn, v_type), v_incident);
      END IF;
    WHEN 'incident.closed' THEN
      PERFORM cr_alert_close(k, v_incident::text, 'incident closed')
         FROM unnest(ARRAY['g1_new', 'g1_breach', 'firearms_itfc', 'downgrade_signoff']) AS k;
    WHEN 'command.firearms_declared' THEN
      PERFORM cr_alert_raise('firearms_itfc', v_incident::text, v_room,
                             format('Firearms declared %s: awaiting an Initial Tactical Firearms Commander', v_urn),
                             v_incident, NULL, jsonb_build_object('declaration', p));
    WHEN 'command.firearms_acknowledged' THEN
      PERFORM cr_alert_ack_by_event('firearms_itfc', v_incident::text);
    WHEN 'command.firearms_accepted' THEN
      PERFORM cr_alert_close('firearms_itfc', v_incident::text, 'ITFC accepted');
    WHEN 'signoff.requested' THEN
      PERFORM cr_alert_raise('downgrade_signoff', v_incident::text, v_room,
                             format('Downgrade of %s needs a supervisor''s sign-off', v_urn),
                             v_incident, NULL, jsonb_build_object('signoff_id', NEW.entity_id));
    WHEN 'signoff.rejected' THEN
      PERFORM cr_alert_close('downgrade_signoff', v_incident::text, 'rejected');
    WHEN 'prompt.raised' THEN
      PERFORM cr_alert_raise('prompt', 'prompt:' || NEW.entity_id, v_room,
                             coalesce(p->>'message', 'Prompt') || coalesce(' — ' || v_urn, ''),
                             v_incident, NULL, jsonb_build_object('prompt_id', NEW.entity_id));
    WHEN 'prompt.acknowledged' THEN
      PERFORM cr_alert_close('prompt', 'prompt:' || NEW.entity_id, 'acknowledged');
    ELSE NULL;
  END CASE;
  RETURN NULL;
END $$;

UPDATE alerts a SET details = a.details || jsonb_build_object('declaration', d.payload)
  FROM (SELECT DISTINCT ON (entity_id) entity_id, payload FROM events
         WHERE kind = 'command.firearms_declared' ORDER BY entity_id, seq DESC) d
 WHERE a.kind = 'firearms_itfc' AND a.state <> 'cleared' AND d.entity_id = a.incident_id::text
   AND NOT a.details ? 'declaration';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    pass  # the extra detail is harmless to the earlier trigger
