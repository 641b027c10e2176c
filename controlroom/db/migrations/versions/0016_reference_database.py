"""reference database: versioned guidance documents, full-text search, links to incident types/flags

Revision ID: 0016
Revises: 0015 (the api kernel: cr_actor, cr_require, cr_emit new form)
"""
from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Flags an incident carries (controlroom.services.views.FLAG_NAMES): one home, checked here too.
FLAGS = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
_FLAGS_SQL = ", ".join(f"'{f}'" for f in FLAGS)

TABLES_SQL = rf"""
CREATE TABLE ref_documents (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_ref_documents PRIMARY KEY,
  kind varchar(16) NOT NULL,
  title varchar(200) NOT NULL,
  body text NOT NULL,
  owner varchar(120) NOT NULL,
  review_due date NOT NULL,
  version integer NOT NULL DEFAULT 1,
  demo boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by varchar(64) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by varchar(64) NOT NULL,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED,
  CONSTRAINT ck_ref_documents_kind CHECK (kind IN ('policy', 'procedure', 'good_practice')),
  CONSTRAINT ck_ref_documents_title CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  -- 100 kB of guidance at most; no control characters (chr(2)/chr(3) mark search matches)
  CONSTRAINT ck_ref_documents_body CHECK (length(body) BETWEEN 1 AND 100000
                                          AND body !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]'),
  CONSTRAINT ck_ref_documents_owner CHECK (length(btrim(owner)) BETWEEN 1 AND 120),
  CONSTRAINT ck_ref_documents_version CHECK (version >= 1)
);
CREATE INDEX ix_ref_documents_search ON ref_documents USING gin (search);
CREATE INDEX ix_ref_documents_review_due ON ref_documents (review_due);

-- Every version ever published, with who changed it, when and why (append-only).
CREATE TABLE ref_document_versions (
  document_id bigint NOT NULL CONSTRAINT fk_ref_document_versions_document_id_ref_documents
    REFERENCES ref_documents (id),
  version integer NOT NULL,
  kind varchar(16) NOT NULL,
  title varchar(200) NOT NULL,
  body text NOT NULL,
  owner varchar(120) NOT NULL,
  review_due date NOT NULL,
  links jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by varchar(64) NOT NULL,
  change_note text NOT NULL,
  CONSTRAINT pk_ref_document_versions PRIMARY KEY (document_id, version),
  CONSTRAINT ck_ref_document_versions_change_note CHECK (length(btrim(change_note)) BETWEEN 1 AND 500)
);
CREATE TRIGGER ref_document_versions_append_only BEFORE UPDATE OR DELETE ON ref_document_versions
  FOR EACH ROW EXECUTE FUNCTION cr_refuse_change();

-- What a document is for: an incident type (resources/incident_types.yaml) or an incident flag.
CREATE TABLE ref_document_links (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_ref_document_links PRIMARY KEY,
  document_id bigint NOT NULL CONSTRAINT fk_ref_document_links_document_id_ref_documents
    REFERENCES ref_documents (id),
  incident_type varchar(32),
  flag varchar(32),
  CONSTRAINT ck_ref_document_links_one_target CHECK ((incident_type IS NULL) <> (flag IS NULL)),
  CONSTRAINT ck_ref_document_links_flag CHECK (flag IS NULL OR flag IN ({_FLAGS_SQL}))
);
CREATE UNIQUE INDEX uq_ref_document_links_target ON ref_document_links
  (document_id, coalesce(incident_type, ''), coalesce(flag, ''));
CREATE INDEX ix_ref_document_links_incident_type ON ref_document_links (incident_type);
CREATE INDEX ix_ref_document_links_flag ON ref_document_links (flag);
"""

API_SQL = r"""
-- Create (p_document_id NULL) or publish a new version of a guidance document. Supervisors and up.
CREATE FUNCTION api.reference_save(p_document_id bigint, p_expected_version integer, p_kind text,
    p_title text, p_body text, p_owner text, p_review_due date, p_change_note text,
    p_incident_types jsonb, p_flags jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_me record; v_doc ref_documents; v_links jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_supervisor', 'reference.edit');
  SELECT * INTO v_me FROM cr_actor();
  IF p_kind IS NULL OR p_kind NOT IN ('policy', 'procedure', 'good_practice') THEN
    RAISE EXCEPTION 'A document is a policy, a procedure or good practice.' USING ERRCODE = 'CR400';
  END IF;
  IF coalesce(btrim(p_title), '') = '' OR coalesce(btrim(p_body), '') = '' OR coalesce(btrim(p_owner), '') = '' THEN
    RAISE EXCEPTION 'A document needs a title, a body and an owner.' USING ERRCODE = 'CR400';
  END IF;
  IF p_review_due IS NULL THEN
    RAISE EXCEPTION 'A document needs a review date.' USING ERRCODE = 'CR400';
  END IF;
  IF coalesce(btrim(p_change_note), '') = '' THEN
    RAISE EXCEPTION 'Say what changed (the change note is kept in the version history).' USING ERRCODE = 'CR400';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(p_flags, '[]')) f WHERE f NOT IN (
      'firearms', 'domestic_abuse', 'vulnerable_person', 'repeat_victim', 'missing_person')) THEN
    RAISE EXCEPTION 'Unknown incident flag in the links.' USING ERRCODE = 'CR400';
  END IF;
  IF p_document_id IS NULL THEN
    INSERT INTO ref_documents (kind, title, body, owner, review_due, created_by, updated_by)
    VALUES (p_kind, btrim(p_title), p_body, btrim(p_owner), p_review_due, v_me.username, v_me.username)
    RETURNING * INTO v_doc;
  ELSE
    UPDATE ref_documents SET kind = p_kind, title = btrim(p_title), body = p_body, owner = btrim(p_owner),
           review_due = p_review_due, version = version + 1, updated_at = now(), updated_by = v_me.username
     WHERE id = p_document_id AND version = p_expected_version
    RETURNING * INTO v_doc;
    IF NOT FOUND THEN
      IF EXISTS (SELECT 1 FROM ref_documents WHERE id = p_document_id) THEN
        RAISE EXCEPTION 'Someone published a newer version of this document meanwhile; reload it and make your change again.'
          USING ERRCODE = 'CR409';
      END IF;
      RAISE EXCEPTION 'Document % not found.', p_document_id USING ERRCODE = 'CR404';
    END IF;
    DELETE FROM ref_document_links WHERE document_id = v_doc.id;
  END IF;
  INSERT INTO ref_document_links (document_id, incident_type)
    SELECT DISTINCT v_doc.id, t FROM jsonb_array_elements_text(coalesce(p_incident_types, '[]')) t WHERE btrim(t) <> '';
  INSERT INTO ref_document_links (document_id, flag)
    SELECT DISTINCT v_doc.id, f FROM jsonb_array_elements_text(coalesce(p_flags, '[]')) f;
  v_links := jsonb_build_object(
    'incident_types', (SELECT coalesce(jsonb_agg(incident_type ORDER BY incident_type), '[]')
                         FROM ref_document_links WHERE document_id = v_doc.id AND incident_type IS NOT NULL),
    'flags', (SELECT coalesce(jsonb_agg(flag ORDER BY flag), '[]')
                FROM ref_document_links WHERE document_id = v_doc.id AND flag IS NOT NULL));
  INSERT INTO ref_document_versions (document_id, version, kind, title, body, owner, review_due, links,
                                     changed_at, changed_by, change_note)
  VALUES (v_doc.id, v_doc.version, v_doc.kind, v_doc.title, v_doc.body, v_doc.owner, v_doc.review_due,
          v_links, v_doc.updated_at, v_me.username, btrim(p_change_note));
  -- The body stays out of the event (it can be 100 kB); consoles read it when they show it.
  v_payload := (to_jsonb(v_doc) - 'body' - 'search') || v_links;
  PERFORM cr_emit('reference.saved', v_doc.id::text, NULL, v_payload, true,
                  v_payload || jsonb_build_object('change_note', btrim(p_change_note)));
  RETURN v_payload;
END $$;
REVOKE ALL ON FUNCTION api.reference_save(bigint, integer, text, text, text, text, date, text, jsonb, jsonb) FROM PUBLIC;
"""

# Groups exist once the kernel (0015) has made them; on a bare server without them this is skipped.
GRANTS_SQL = """
DO $$ BEGIN
  IF to_regrole('cr_console') IS NOT NULL THEN
    GRANT SELECT ON ref_documents, ref_document_versions, ref_document_links TO cr_console;
    GRANT EXECUTE ON FUNCTION api.reference_save(bigint, integer, text, text, text, text, date, text, jsonb, jsonb)
      TO cr_supervisor;
  END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(TABLES_SQL)
    op.execute(API_SQL)
    op.execute(GRANTS_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.reference_save(bigint, integer, text, text, text, text, date, text, jsonb, jsonb)")
    op.execute("DROP TABLE IF EXISTS ref_document_links")
    op.execute("DROP TABLE IF EXISTS ref_document_versions")
    op.execute("DROP TABLE IF EXISTS ref_documents")
