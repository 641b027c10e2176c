"""vehicle recovery scheme: rota of contracted operators per area, fair offers, skips, times

Revision ID: 0019
Revises: 0018

Fair rotation: each operator on an area's rota holds a turn number; the next offer goes to the
active operator with the lowest turn (then rota position), and an offer uses that operator's turn
whether they accept or are skipped — so declining never keeps an operator at the front, and the
skip (with its reason) is on record for the scheme's review. The area's rota rows are locked for
the choice, so two consoles can never offer the same turn.
"""
from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES_SQL = """
CREATE TABLE recovery_operators (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_recovery_operators PRIMARY KEY,
  code varchar(24) NOT NULL,
  name varchar(120) NOT NULL,
  area_code varchar(20) NOT NULL CONSTRAINT fk_recovery_operators_area_code_areas REFERENCES areas (code),
  phone varchar(40),
  contracted_minutes integer NOT NULL,
  rota_position integer NOT NULL,
  turn bigint NOT NULL DEFAULT 0,
  active boolean NOT NULL DEFAULT true,
  demo boolean NOT NULL DEFAULT false,
  CONSTRAINT uq_recovery_operators_area_code UNIQUE (area_code, code),
  CONSTRAINT ck_recovery_operators_contracted_minutes CHECK (contracted_minutes BETWEEN 1 AND 480)
);

CREATE TABLE recovery_jobs (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_recovery_jobs PRIMARY KEY,
  incident_id bigint NOT NULL CONSTRAINT fk_recovery_jobs_incident_id_incidents REFERENCES incidents (id),
  area_code varchar(20) NOT NULL,
  room_code varchar(20),
  vrm varchar(16) NOT NULL,
  location text NOT NULL,
  reason text NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'offered',
  operator_id bigint CONSTRAINT fk_recovery_jobs_operator_id_recovery_operators REFERENCES recovery_operators (id),
  requested_at timestamptz NOT NULL DEFAULT now(),
  requested_by varchar(64) NOT NULL,
  accepted_at timestamptz,
  eta_minutes integer,
  arrived_at timestamptz,
  cleared_at timestamptz,
  CONSTRAINT ck_recovery_jobs_status CHECK (status IN ('offered', 'accepted', 'arrived', 'cleared', 'unfilled')),
  CONSTRAINT ck_recovery_jobs_vrm CHECK (length(btrim(vrm)) BETWEEN 1 AND 16),
  CONSTRAINT ck_recovery_jobs_eta CHECK (eta_minutes IS NULL OR eta_minutes BETWEEN 1 AND 480),
  CONSTRAINT ck_recovery_jobs_times CHECK ((accepted_at IS NULL OR accepted_at >= requested_at)
      AND (arrived_at IS NULL OR arrived_at >= accepted_at) AND (cleared_at IS NULL OR cleared_at >= arrived_at))
);
CREATE INDEX ix_recovery_jobs_incident_id ON recovery_jobs (incident_id);
CREATE INDEX ix_recovery_jobs_operator_id ON recovery_jobs (operator_id, requested_at);

-- Every offer made, with its outcome: the record that the rotation was fair.
CREATE TABLE recovery_offers (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_recovery_offers PRIMARY KEY,
  job_id bigint NOT NULL CONSTRAINT fk_recovery_offers_job_id_recovery_jobs REFERENCES recovery_jobs (id),
  operator_id bigint NOT NULL CONSTRAINT fk_recovery_offers_operator_id_recovery_operators
    REFERENCES recovery_operators (id),
  offered_at timestamptz NOT NULL DEFAULT now(),
  offered_by varchar(64) NOT NULL,
  outcome varchar(10) NOT NULL DEFAULT 'pending',
  decided_at timestamptz,
  decided_by varchar(64),
  skip_reason text,
  CONSTRAINT ck_recovery_offers_outcome CHECK (outcome IN ('pending', 'accepted', 'skipped')),
  CONSTRAINT ck_recovery_offers_skip_reason CHECK ((outcome = 'skipped') = (skip_reason IS NOT NULL))
);
CREATE UNIQUE INDEX uq_recovery_offers_pending ON recovery_offers (job_id) WHERE outcome = 'pending';
CREATE INDEX ix_recovery_offers_operator_id ON recovery_offers (operator_id);
"""

API_SQL = r"""
-- Offer the job to the next operator on the area's rota (internal: called by the api functions).
CREATE FUNCTION cr_recovery_offer_next(p_job recovery_jobs, p_by text) RETURNS recovery_operators
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v_op recovery_operators;
BEGIN
  PERFORM 1 FROM recovery_operators WHERE area_code = p_job.area_code FOR UPDATE;
  SELECT * INTO v_op FROM recovery_operators o
   WHERE o.area_code = p_job.area_code AND o.active
     AND NOT EXISTS (SELECT 1 FROM recovery_offers f WHERE f.job_id = p_job.id AND f.operator_id = o.id)
   ORDER BY o.turn, o.rota_position LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE recovery_operators SET turn = (SELECT max(turn) + 1 FROM recovery_operators WHERE area_code = p_job.area_code)
   WHERE id = v_op.id;
  INSERT INTO recovery_offers (job_id, operator_id, offered_by) VALUES (p_job.id, v_op.id, p_by);
  UPDATE recovery_jobs SET operator_id = v_op.id WHERE id = p_job.id;
  RETURN v_op;
END $$;
REVOKE ALL ON FUNCTION cr_recovery_offer_next(recovery_jobs, text) FROM PUBLIC;

CREATE FUNCTION cr_recovery_payload(p_job_id bigint) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT to_jsonb(j) || jsonb_build_object('urn', i.urn, 'operator_code', o.code, 'operator_name', o.name,
         'operator_phone', o.phone, 'contracted_minutes', o.contracted_minutes)
  FROM recovery_jobs j JOIN incidents i ON i.id = j.incident_id
  LEFT JOIN recovery_operators o ON o.id = j.operator_id WHERE j.id = p_job_id
$$;
REVOKE ALL ON FUNCTION cr_recovery_payload(bigint) FROM PUBLIC;

CREATE FUNCTION api.recovery_request(p_incident_id bigint, p_vrm text, p_location text, p_reason text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_inc record; v_job recovery_jobs; v_op recovery_operators; v_p jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'recovery.request');
  SELECT * INTO v_me FROM cr_actor();
  IF coalesce(btrim(p_vrm), '') = '' OR coalesce(btrim(p_location), '') = '' OR coalesce(btrim(p_reason), '') = '' THEN
    RAISE EXCEPTION 'A recovery needs the vehicle (VRM), where it is and why it is being recovered.' USING ERRCODE = 'CR400';
  END IF;
  SELECT i.id, i.urn, i.area_code, a.room_code INTO v_inc FROM incidents i JOIN areas a ON a.code = i.area_code
   WHERE i.id = p_incident_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Incident % not found.', p_incident_id USING ERRCODE = 'CR404';
  END IF;
  INSERT INTO recovery_jobs (incident_id, area_code, room_code, vrm, location, reason, requested_by)
  VALUES (v_inc.id, v_inc.area_code, v_inc.room_code, upper(btrim(p_vrm)), btrim(p_location), btrim(p_reason),
          v_me.username)
  RETURNING * INTO v_job;
  v_op := cr_recovery_offer_next(v_job, v_me.username);
  IF v_op.id IS NULL THEN
    RAISE EXCEPTION 'No contracted recovery operator is on the rota for area %.', v_inc.area_code USING ERRCODE = 'CR409';
  END IF;
  v_p := cr_recovery_payload(v_job.id);
  PERFORM cr_emit('recovery.requested', v_job.id::text, v_job.room_code, v_p);
  RETURN v_p;
END $$;

-- The offered operator cannot or will not take it (or cannot be reached): record why, offer the next.
CREATE FUNCTION api.recovery_skip(p_job_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_job recovery_jobs; v_offer recovery_offers; v_op recovery_operators; v_p jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'recovery.request');
  SELECT * INTO v_me FROM cr_actor();
  IF coalesce(btrim(p_reason), '') = '' THEN
    RAISE EXCEPTION 'Say why the operator is skipped (the scheme reviews every skip).' USING ERRCODE = 'CR400';
  END IF;
  SELECT * INTO v_job FROM recovery_jobs WHERE id = p_job_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Recovery job % not found.', p_job_id USING ERRCODE = 'CR404';
  END IF;
  UPDATE recovery_offers SET outcome = 'skipped', decided_at = now(), decided_by = v_me.username,
         skip_reason = btrim(p_reason)
   WHERE job_id = v_job.id AND outcome = 'pending' RETURNING * INTO v_offer;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Recovery job % has no offer waiting for an answer.', p_job_id USING ERRCODE = 'CR409';
  END IF;
  v_op := cr_recovery_offer_next(v_job, v_me.username);
  IF v_op.id IS NULL THEN
    UPDATE recovery_jobs SET status = 'unfilled', operator_id = NULL WHERE id = v_job.id;
  END IF;
  v_p := cr_recovery_payload(v_job.id);
  PERFORM cr_emit('recovery.skipped', v_job.id::text, v_job.room_code, v_p, true,
                  v_p || jsonb_build_object('skipped_operator_id', v_offer.operator_id, 'skip_reason', v_offer.skip_reason));
  RETURN v_p || jsonb_build_object('skipped_operator_id', v_offer.operator_id);
END $$;

CREATE FUNCTION api.recovery_accept(p_job_id bigint, p_eta_minutes integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_job recovery_jobs; v_p jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'recovery.request');
  SELECT * INTO v_me FROM cr_actor();
  IF p_eta_minutes IS NULL OR p_eta_minutes NOT BETWEEN 1 AND 480 THEN
    RAISE EXCEPTION 'Record the ETA the operator gave, in minutes (1 to 480).' USING ERRCODE = 'CR400';
  END IF;
  UPDATE recovery_offers SET outcome = 'accepted', decided_at = now(), decided_by = v_me.username
   WHERE job_id = p_job_id AND outcome = 'pending';
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM recovery_jobs WHERE id = p_job_id) THEN
      RAISE EXCEPTION 'Recovery job % not found.', p_job_id USING ERRCODE = 'CR404';
    END IF;
    RAISE EXCEPTION 'Recovery job % has no offer waiting for an answer.', p_job_id USING ERRCODE = 'CR409';
  END IF;
  UPDATE recovery_jobs SET status = 'accepted', accepted_at = now(), eta_minutes = p_eta_minutes
   WHERE id = p_job_id RETURNING * INTO v_job;
  v_p := cr_recovery_payload(v_job.id);
  PERFORM cr_emit('recovery.accepted', v_job.id::text, v_job.room_code, v_p);
  RETURN v_p;
END $$;

-- The operator arrived at the vehicle / the vehicle is cleared from the scene.
CREATE FUNCTION api.recovery_mark(p_job_id bigint, p_stage text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_job recovery_jobs; v_p jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'recovery.request');
  SELECT * INTO v_me FROM cr_actor();
  IF p_stage = 'arrived' THEN
    UPDATE recovery_jobs SET status = 'arrived', arrived_at = now() WHERE id = p_job_id AND status = 'accepted'
    RETURNING * INTO v_job;
  ELSIF p_stage = 'cleared' THEN
    UPDATE recovery_jobs SET status = 'cleared', cleared_at = now() WHERE id = p_job_id AND status = 'arrived'
    RETURNING * INTO v_job;
  ELSE
    RAISE EXCEPTION 'A recovery is marked arrived or cleared.' USING ERRCODE = 'CR400';
  END IF;
  IF v_job.id IS NULL THEN
    IF NOT EXISTS (SELECT 1 FROM recovery_jobs WHERE id = p_job_id) THEN
      RAISE EXCEPTION 'Recovery job % not found.', p_job_id USING ERRCODE = 'CR404';
    END IF;
    RAISE EXCEPTION 'Recovery job % cannot be marked % now (it is %).', p_job_id, p_stage,
      (SELECT status FROM recovery_jobs WHERE id = p_job_id) USING ERRCODE = 'CR409';
  END IF;
  v_p := cr_recovery_payload(v_job.id);
  PERFORM cr_emit('recovery.' || p_stage, v_job.id::text, v_job.room_code, v_p);
  RETURN v_p;
END $$;

REVOKE ALL ON FUNCTION api.recovery_request(bigint, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.recovery_skip(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.recovery_accept(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.recovery_mark(bigint, text) FROM PUBLIC;
GRANT SELECT ON recovery_operators, recovery_jobs, recovery_offers TO cr_console;
GRANT EXECUTE ON FUNCTION api.recovery_request(bigint, text, text, text), api.recovery_skip(bigint, text),
  api.recovery_accept(bigint, integer), api.recovery_mark(bigint, text) TO cr_despatcher;
"""


def upgrade() -> None:
    op.execute(TABLES_SQL)
    op.execute(API_SQL)


def downgrade() -> None:
    for fn in ("api.recovery_mark(bigint, text)", "api.recovery_accept(bigint, integer)",
               "api.recovery_skip(bigint, text)", "api.recovery_request(bigint, text, text, text)",
               "cr_recovery_payload(bigint)", "cr_recovery_offer_next(recovery_jobs, text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for t in ("recovery_offers", "recovery_jobs", "recovery_operators"):
        op.execute(f"DROP TABLE IF EXISTS {t}")
