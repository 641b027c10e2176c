"""intelligence checks: requests from units on patrol with a required purpose, results, relays

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Why a check may be made (resources/intel.yaml gives the labels): data-protection law asks why.
PURPOSES = ("stop_search", "vehicle_stop", "suspected_offence", "safeguarding", "incident_enquiry",
            "warrant", "missing_person", "officer_safety")
_PURPOSES_SQL = ", ".join(f"'{p}'" for p in PURPOSES)

TABLES_SQL = f"""
CREATE TABLE intel_checks (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_intel_checks PRIMARY KEY,
  callsign varchar(16) NOT NULL CONSTRAINT fk_intel_checks_callsign_units REFERENCES units (callsign),
  incident_id bigint CONSTRAINT fk_intel_checks_incident_id_incidents REFERENCES incidents (id),
  subject_kind varchar(10) NOT NULL,
  subject varchar(200) NOT NULL,
  purpose varchar(24) NOT NULL,
  reason text NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'requested',
  room_code varchar(20),
  requested_at timestamptz NOT NULL DEFAULT now(),
  requested_by varchar(64) NOT NULL,
  requested_console varchar(40),
  ran_at timestamptz,
  ran_by varchar(64),
  source varchar(64),
  result_summary text,
  result jsonb,
  relayed_at timestamptz,
  relayed_by varchar(64),
  relay_note text,
  CONSTRAINT ck_intel_checks_subject_kind CHECK (subject_kind IN ('person', 'vehicle', 'address')),
  CONSTRAINT ck_intel_checks_subject CHECK (length(btrim(subject)) BETWEEN 1 AND 200),
  CONSTRAINT ck_intel_checks_purpose CHECK (purpose IN ({_PURPOSES_SQL})),
  CONSTRAINT ck_intel_checks_reason CHECK (length(btrim(reason)) BETWEEN 3 AND 500),
  CONSTRAINT ck_intel_checks_status CHECK (status IN ('requested', 'returned', 'relayed')),
  CONSTRAINT ck_intel_checks_returned CHECK ((status = 'requested') = (ran_at IS NULL)),
  CONSTRAINT ck_intel_checks_relayed CHECK ((status = 'relayed') = (relayed_at IS NOT NULL))
);
CREATE INDEX ix_intel_checks_requested_at ON intel_checks (requested_at);
CREATE INDEX ix_intel_checks_requested_by ON intel_checks (requested_by, requested_at);
CREATE INDEX ix_intel_checks_incident_id ON intel_checks (incident_id) WHERE incident_id IS NOT NULL;
"""

API_SQL = r"""
-- An officer asks over the radio: record who asked, about what, and why. Despatchers and up.
CREATE FUNCTION api.intel_request(p_callsign text, p_incident_id bigint, p_subject_kind text,
    p_subject text, p_purpose text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_row intel_checks; v_room text;
BEGIN
  PERFORM cr_require('cr_despatcher', 'intel.check');
  SELECT * INTO v_me FROM cr_actor();
  IF coalesce(btrim(p_purpose), '') = '' OR coalesce(length(btrim(p_reason)), 0) < 3 THEN
    RAISE EXCEPTION 'A check needs its purpose and the reason given by the officer (data protection: every search must say why).'
      USING ERRCODE = 'CR400';
  END IF;
  IF p_purpose NOT IN ('stop_search', 'vehicle_stop', 'suspected_offence', 'safeguarding', 'incident_enquiry',
                       'warrant', 'missing_person', 'officer_safety') THEN
    RAISE EXCEPTION 'Purpose % is not one the force recognises.', p_purpose USING ERRCODE = 'CR400';
  END IF;
  IF p_subject_kind IS NULL OR p_subject_kind NOT IN ('person', 'vehicle', 'address') THEN
    RAISE EXCEPTION 'A check is on a person, a vehicle or an address.' USING ERRCODE = 'CR400';
  END IF;
  SELECT a.room_code INTO v_room FROM units u JOIN areas a ON a.code = u.home_area_code WHERE u.callsign = p_callsign;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Unit % not found.', p_callsign USING ERRCODE = 'CR404';
  END IF;
  IF p_incident_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM incidents WHERE id = p_incident_id) THEN
    RAISE EXCEPTION 'Incident % not found.', p_incident_id USING ERRCODE = 'CR404';
  END IF;
  INSERT INTO intel_checks (callsign, incident_id, subject_kind, subject, purpose, reason, room_code,
                            requested_by, requested_console)
  VALUES (p_callsign, p_incident_id, p_subject_kind, btrim(p_subject), p_purpose, btrim(p_reason),
          coalesce(v_room, v_me.room_code), v_me.username, v_me.console_id)
  RETURNING * INTO v_row;
  PERFORM cr_emit('intel.requested', v_row.id::text, v_row.room_code, to_jsonb(v_row));
  RETURN to_jsonb(v_row);
END $$;

-- What the force systems returned (through the console's adapter), recorded by who ran it.
CREATE FUNCTION api.intel_record_result(p_check_id bigint, p_source text, p_summary text, p_result jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_row intel_checks;
BEGIN
  PERFORM cr_require('cr_despatcher', 'intel.check');
  SELECT * INTO v_me FROM cr_actor();
  IF coalesce(btrim(p_source), '') = '' OR p_summary IS NULL THEN
    RAISE EXCEPTION 'A result needs its source and a summary.' USING ERRCODE = 'CR400';
  END IF;
  UPDATE intel_checks SET status = 'returned', ran_at = now(), ran_by = v_me.username, source = p_source,
         result_summary = p_summary, result = coalesce(p_result, '{}'::jsonb)
   WHERE id = p_check_id AND status = 'requested'
  RETURNING * INTO v_row;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM intel_checks WHERE id = p_check_id) THEN
      RAISE EXCEPTION 'Check % already has its result recorded.', p_check_id USING ERRCODE = 'CR409';
    END IF;
    RAISE EXCEPTION 'Check % not found.', p_check_id USING ERRCODE = 'CR404';
  END IF;
  PERFORM cr_emit('intel.returned', v_row.id::text, v_row.room_code, to_jsonb(v_row));
  RETURN to_jsonb(v_row);
END $$;

-- The result was passed to the officer (over the radio), with what was said if anything.
CREATE FUNCTION api.intel_relay(p_check_id bigint, p_note text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_row intel_checks;
BEGIN
  PERFORM cr_require('cr_despatcher', 'intel.check');
  SELECT * INTO v_me FROM cr_actor();
  UPDATE intel_checks SET status = 'relayed', relayed_at = now(), relayed_by = v_me.username,
         relay_note = nullif(btrim(p_note), '')
   WHERE id = p_check_id AND status = 'returned'
  RETURNING * INTO v_row;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM intel_checks WHERE id = p_check_id AND status = 'requested') THEN
      RAISE EXCEPTION 'Check % has no result yet to relay.', p_check_id USING ERRCODE = 'CR409';
    ELSIF EXISTS (SELECT 1 FROM intel_checks WHERE id = p_check_id) THEN
      RAISE EXCEPTION 'Check % was already relayed.', p_check_id USING ERRCODE = 'CR409';
    END IF;
    RAISE EXCEPTION 'Check % not found.', p_check_id USING ERRCODE = 'CR404';
  END IF;
  PERFORM cr_emit('intel.relayed', v_row.id::text, v_row.room_code,
                  jsonb_build_object('id', v_row.id, 'status', v_row.status, 'callsign', v_row.callsign,
                                     'relayed_at', v_row.relayed_at, 'relayed_by', v_row.relayed_by,
                                     'relay_note', v_row.relay_note));
  RETURN to_jsonb(v_row);
END $$;
REVOKE ALL ON FUNCTION api.intel_request(text, bigint, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.intel_record_result(bigint, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.intel_relay(bigint, text) FROM PUBLIC;
"""

GRANTS_SQL = """
DO $$ BEGIN
  IF to_regrole('cr_console') IS NOT NULL THEN
    -- who searched for whom is itself sensitive: despatchers (who run checks) and auditors read it
    GRANT SELECT ON intel_checks TO cr_despatcher, cr_auditor;
    GRANT EXECUTE ON FUNCTION api.intel_request(text, bigint, text, text, text, text),
                              api.intel_record_result(bigint, text, text, jsonb),
                              api.intel_relay(bigint, text) TO cr_despatcher;
  END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(TABLES_SQL)
    op.execute(API_SQL)
    op.execute(GRANTS_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.intel_relay(bigint, text)")
    op.execute("DROP FUNCTION IF EXISTS api.intel_record_result(bigint, text, text, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS api.intel_request(text, bigint, text, text, text, text)")
    op.execute("DROP TABLE IF EXISTS intel_checks")
