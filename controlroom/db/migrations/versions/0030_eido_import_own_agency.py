"""exchange: the database refuses a stored partner document that holds records in our own name

Revision ID: 0030
Revises: 0029

api.exchange_import (0027) trusted the service to leave out the records that claim our agency
(after checking them against ours). A raw SQL client in the handler group could skip that. Now
the function itself refuses a document (or a sending agency) claiming our agency: nobody can store
a note, an armed authorisation or anything else in our name. Our agency is the meta row
`agency_id` (the force's administrator sets it), else thamesvalley.police.uk.
"""
from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

API_SQL = r"""
CREATE FUNCTION cr_own_agency() RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT value FROM meta WHERE key = 'agency_id'), 'thamesvalley.police.uk')
$$;

-- Does any component of the document claim the agency (as its updater, as an agency or agent of it)?
CREATE FUNCTION cr_claims_agency(p_doc jsonb, p_agency text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM jsonb_path_query(p_doc, 'lax $.**.updatedByAgencyReference."$ref"') v
                  WHERE v #>> '{}' = p_agency)
      OR EXISTS (SELECT 1 FROM jsonb_path_query(p_doc, 'lax $.agencyComponent[*]."$id"') v
                  WHERE v #>> '{}' = p_agency)
      OR EXISTS (SELECT 1 FROM jsonb_path_query(p_doc, 'lax $.agentComponent[*].agencyReference."$ref"') v
                  WHERE v #>> '{}' = p_agency)
$$;
REVOKE ALL ON FUNCTION cr_own_agency() FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_claims_agency(jsonb, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION api.exchange_import(p_target bigint, p_incident jsonb, p_ref jsonb, p_log jsonb)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_inc incidents; v_ref incident_partner_refs; v_prior incident_partner_refs;
        v_new jsonb := coalesce(p_log, '[]'); v_headline text; v_taken text; v_room text;
        v_agency text := p_ref->>'agency'; v_reference text := left(p_ref->>'reference', 200);
        v_day text; v_n integer; v_urls text; v_own text := cr_own_agency();
BEGIN
  PERFORM cr_require('cr_handler', 'incident.import');
  SELECT * INTO v_me FROM cr_actor();
  -- nobody writes in our name: the stored document never holds a record claiming our agency
  -- (the service has checked such records against ours and left them out)
  IF v_agency = v_own OR cr_claims_agency(p_ref->'document', v_own) THEN
    RAISE EXCEPTION 'The document holds records in the name of % (us); records in our name can only come from us. Nothing was imported.',
      v_own USING ERRCODE = 'CR400';
  END IF;
  IF coalesce(v_agency, '') = '' OR coalesce(v_reference, '') = '' OR p_ref->'document' IS NULL THEN
    RAISE EXCEPTION 'An import needs the sending agency, its reference and the document.' USING ERRCODE = 'CR400';
  END IF;
  IF p_target IS NOT NULL THEN
    -- about an incident we hold: attach (or replace with a newer document from the same agency)
    SELECT * INTO v_inc FROM incidents WHERE id = p_target FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'No incident with reference %.', p_target USING ERRCODE = 'CR404';
    END IF;
    SELECT * INTO v_prior FROM incident_partner_refs WHERE incident_id = p_target AND agency = v_agency FOR UPDATE;
    IF FOUND THEN
      IF v_prior.sent_at IS NOT NULL AND (p_ref->>'sent_at')::timestamptz <= v_prior.sent_at THEN
        RAISE EXCEPTION '% incident % was already imported as % (this document is not newer); nothing was imported again.',
          v_agency, v_reference, v_inc.urn USING ERRCODE = 'CR409';
      END IF;
      SELECT coalesce(jsonb_agg(l ORDER BY ord), '[]') INTO v_new
        FROM jsonb_array_elements(coalesce(p_log, '[]')) WITH ORDINALITY AS x(l, ord)
       WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_prior.log) o
                          WHERE o->>'at' IS NOT DISTINCT FROM l->>'at' AND o->>'text' = l->>'text');
      UPDATE incident_partner_refs SET document = p_ref->'document', sent_at = (p_ref->>'sent_at')::timestamptz,
             reference = v_reference, log = coalesce(p_log, '[]'), urls = coalesce(p_ref->'urls', '[]'),
             imported_by = v_me.username, console_id = v_me.console_id, imported_at = now()
       WHERE id = v_prior.id RETURNING * INTO v_ref;
    ELSE
      v_ref := cr_partner_ref_insert(p_target, p_ref, p_log, v_me.username, v_me.console_id);
    END IF;
    v_headline := format('Update received from %s (%s)', v_agency, v_reference);
  ELSE
    SELECT coalesce(i.urn, p.reference) INTO v_taken FROM incident_partner_refs p
      LEFT JOIN incidents i ON i.id = p.incident_id WHERE p.agency = v_agency AND p.reference = v_reference;
    IF FOUND THEN
      RAISE EXCEPTION '% incident % was already imported as %; nothing was imported again.',
        v_agency, v_reference, v_taken USING ERRCODE = 'CR409';
    END IF;
    IF p_incident IS NULL THEN
      -- not ours to work (no location in our force area): kept with what it says
      v_ref := cr_partner_ref_insert(NULL, p_ref, p_log, v_me.username, v_me.console_id);
      PERFORM cr_audit('incident.imported_partner', 'partner_incident:' || v_ref.id, 'ok',
                       jsonb_build_object('agency', v_agency, 'reference', v_reference,
                                          'tracking', v_ref.tracking_id, 'why', 'no location in our force area'));
      RETURN jsonb_build_object('partner_id', v_ref.id);
    END IF;
    SELECT room_code INTO v_room FROM areas WHERE code = p_incident->>'area';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'Area % is not one of ours.', p_incident->>'area' USING ERRCODE = 'CR400';
    END IF;
    INSERT INTO urn_counter (day, n) VALUES (to_char(now() AT TIME ZONE 'Europe/London', 'YYYYMMDD'), 1)
    ON CONFLICT (day) DO UPDATE SET n = urn_counter.n + 1 RETURNING day, n INTO v_day, v_n;
    INSERT INTO incidents (urn, channel, incident_type, summary, lat, lon, address, area_code, room_code, grade,
        caller_name, caller_phone, firearms, domestic_abuse, vulnerable_person, repeat_victim, missing_person,
        created_by, updated_by, console_id, deadline_at)
    VALUES (CASE WHEN cr_db_mode() = 'training' THEN 'TRN' ELSE 'TV' END || '-' || v_day || '-' || lpad(v_n::text, 5, '0'),
        p_incident->>'channel', p_incident->>'incident_type', p_incident->>'summary',
        (p_incident->>'lat')::double precision, (p_incident->>'lon')::double precision, p_incident->>'address',
        p_incident->>'area', v_room, p_incident->>'grade', p_incident->>'caller_name', p_incident->>'caller_phone',
        coalesce((p_incident->>'firearms')::boolean, false), coalesce((p_incident->>'domestic_abuse')::boolean, false),
        coalesce((p_incident->>'vulnerable_person')::boolean, false),
        coalesce((p_incident->>'repeat_victim')::boolean, false),
        coalesce((p_incident->>'missing_person')::boolean, false),
        v_me.username, v_me.username, v_me.console_id,
        CASE WHEN p_incident->>'target_min' IS NULL THEN NULL
             ELSE now() + make_interval(mins => (p_incident->>'target_min')::integer) END)
    RETURNING * INTO v_inc;
    PERFORM cr_emit('incident.created', v_inc.id::text, v_inc.room_code, to_jsonb(v_inc));
    v_ref := cr_partner_ref_insert(v_inc.id, p_ref, p_log, v_me.username, v_me.console_id);
    v_headline := format('Received from %s as %s', v_agency, v_reference);
  END IF;
  SELECT string_agg(u, ', ') INTO v_urls FROM jsonb_array_elements_text(coalesce(p_ref->'urls', '[]')) u;
  INSERT INTO incident_log (incident_id, username, console_id, kind, text)
  VALUES (v_inc.id, v_me.username, v_me.console_id, 'exchange',
          left(format('%s: %s records', v_headline, jsonb_array_length(v_new))
               || coalesce('; links recorded, not fetched: ' || v_urls, '') || '.', 4000));
  INSERT INTO incident_log (incident_id, username, console_id, kind, text)
  SELECT v_inc.id, v_me.username, v_me.console_id, 'partner', left(l->>'line', 4000)
    FROM jsonb_array_elements(v_new) WITH ORDINALITY AS x(l, ord)
   WHERE coalesce(l->>'line', '') <> '' ORDER BY ord;
  PERFORM cr_emit('incident.imported', v_inc.id::text, v_inc.room_code,
                  jsonb_build_object('incident_id', v_inc.id, 'urn', v_inc.urn, 'agency', v_agency,
                                     'reference', v_reference, 'records', jsonb_array_length(v_new)));
  RETURN jsonb_build_object('incident_id', v_inc.id);
END $$;
"""


def upgrade() -> None:
    op.execute(API_SQL)


def downgrade() -> None:
    # the 0027 version of api.exchange_import comes back by re-running that revision's SQL
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("m0027", Path(__file__).with_name("0027_eido_import_api.py"))
    m0027 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0027)  # type: ignore[union-attr]
    op.execute("DROP FUNCTION IF EXISTS api.exchange_import(bigint, jsonb, jsonb, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS cr_partner_ref_insert(bigint, jsonb, jsonb, text, text)")
    m0027.upgrade()
    op.execute("DROP FUNCTION IF EXISTS cr_claims_agency(jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS cr_own_agency()")
