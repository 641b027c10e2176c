"""foundation schema: tables, append-only triggers, event/audit functions

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:23:46.263145
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('console_id', sa.String(length=40), nullable=True),
    sa.Column('room_code', sa.String(length=20), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), server_default='ok', nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_entity'), 'audit_log', ['entity'], unique=False)
    op.create_index(op.f('ix_audit_log_username'), 'audit_log', ['username'], unique=False)
    op.create_table('events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('room_code', sa.String(length=20), nullable=True),
    sa.Column('console_id', sa.String(length=40), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_events'))
    )
    op.create_index(op.f('ix_events_at'), 'events', ['at'], unique=False)
    op.create_table('meta',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('rooms',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('site', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_rooms'))
    )
    op.create_table('urn_counter',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_urn_counter'))
    )
    op.create_table('areas',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('room_code', sa.String(length=20), nullable=False),
    sa.Column('home_room_code', sa.String(length=20), nullable=False),
    sa.Column('geojson', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['home_room_code'], ['rooms.code'], name=op.f('fk_areas_home_room_code_rooms')),
    sa.ForeignKeyConstraint(['room_code'], ['rooms.code'], name=op.f('fk_areas_room_code_rooms')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_areas'))
    )
    op.create_table('consoles',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('room_code', sa.String(length=20), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('started_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['room_code'], ['rooms.code'], name=op.f('fk_consoles_room_code_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consoles'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('home_room_code', sa.String(length=20), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked', sa.Boolean(), server_default='false', nullable=False),
    sa.CheckConstraint("role IN ('call_handler','despatcher','supervisor','inspector','trainer','auditor')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['home_room_code'], ['rooms.code'], name=op.f('fk_users_home_room_code_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('urn', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('incident_type', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('area_code', sa.String(length=20), nullable=False),
    sa.Column('room_code', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=2), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('caller_name', sa.Text(), nullable=True),
    sa.Column('caller_phone', sa.String(length=40), nullable=True),
    sa.Column('firearms', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('domestic_abuse', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('vulnerable_person', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('repeat_victim', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('missing_person', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('console_id', sa.String(length=40), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('deadline_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('despatched_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('arrived_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closing_code', sa.String(length=32), nullable=True),
    sa.Column('closing_qualifier', sa.String(length=64), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('firearms_declared_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('armed_authorised_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('armed_authorised_by', sa.String(length=64), nullable=True),
    sa.Column('major_kind', sa.String(length=16), nullable=True),
    sa.CheckConstraint("channel IN ('999','999-text','101','switchboard','direct','alarm','fire','ambulance','online','sms','email','webchat','fax','internal')", name=op.f('ck_incidents_channel')),
    sa.CheckConstraint("grade IS NULL OR grade IN ('G1','G2','G3','G4')", name=op.f('ck_incidents_grade')),
    sa.CheckConstraint("status IN ('open','despatched','at_scene','closed')", name=op.f('ck_incidents_status')),
    sa.CheckConstraint('lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180', name=op.f('ck_incidents_latlon')),
    sa.CheckConstraint('length(summary) BETWEEN 1 AND 2000', name=op.f('ck_incidents_summary_len')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_incidents_version')),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_incidents_area_code_areas')),
    sa.ForeignKeyConstraint(['room_code'], ['rooms.code'], name=op.f('fk_incidents_room_code_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('urn', name=op.f('uq_incidents_urn'))
    )
    op.create_index('ix_incidents_area_open', 'incidents', ['area_code'], unique=False, postgresql_where=sa.text("status <> 'closed'"))
    op.create_index('ix_incidents_caller_phone', 'incidents', ['caller_phone'], unique=False, postgresql_where=sa.text('caller_phone IS NOT NULL'))
    op.create_index('ix_incidents_open', 'incidents', ['created_at'], unique=False, postgresql_where=sa.text("status <> 'closed'"))
    op.create_table('incident_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('console_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=32), server_default='note', nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.CheckConstraint('length(text) BETWEEN 1 AND 4000', name=op.f('ck_incident_log_text_len')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_log_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_log'))
    )
    op.create_index(op.f('ix_incident_log_incident_id'), 'incident_log', ['incident_id'], unique=False)
    op.create_table('talk_groups',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('area_code', sa.String(length=20), nullable=True),
    sa.Column('room_code', sa.String(length=20), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('incident_id', sa.BigInteger(), nullable=True),
    sa.Column('allocated_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('primary','incident','hailing','partner','training')", name=op.f('ck_talk_groups_kind')),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_talk_groups_area_code_areas')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_talk_groups_incident_id_incidents')),
    sa.ForeignKeyConstraint(['room_code'], ['rooms.code'], name=op.f('fk_talk_groups_room_code_rooms')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_talk_groups'))
    )
    op.create_table('units',
    sa.Column('callsign', sa.String(length=16), nullable=False),
    sa.Column('capabilities', sa.ARRAY(sa.String(length=8)), nullable=False),
    sa.Column('home_area_code', sa.String(length=20), nullable=False),
    sa.Column('area_code', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='available', nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('position_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('incident_id', sa.BigInteger(), nullable=True),
    sa.Column('talk_group', sa.String(length=40), nullable=True),
    sa.Column('status_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('available','at_station','en_route','at_scene','transporting','committed','refreshments','off_duty')", name=op.f('ck_units_status')),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_units_area_code_areas')),
    sa.ForeignKeyConstraint(['home_area_code'], ['areas.code'], name=op.f('fk_units_home_area_code_areas')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_units_incident_id_incidents')),
    sa.PrimaryKeyConstraint('callsign', name=op.f('pk_units'))
    )
    op.execute(FUNCTIONS_SQL)


def downgrade() -> None:
    op.execute(DROP_FUNCTIONS_SQL)
    op.drop_table('units')
    op.drop_table('talk_groups')
    op.drop_index(op.f('ix_incident_log_incident_id'), table_name='incident_log')
    op.drop_table('incident_log')
    op.drop_index('ix_incidents_open', table_name='incidents', postgresql_where=sa.text("status <> 'closed'"))
    op.drop_index('ix_incidents_caller_phone', table_name='incidents', postgresql_where=sa.text('caller_phone IS NOT NULL'))
    op.drop_index('ix_incidents_area_open', table_name='incidents', postgresql_where=sa.text("status <> 'closed'"))
    op.drop_table('incidents')
    op.drop_table('users')
    op.drop_table('consoles')
    op.drop_table('areas')
    op.drop_table('urn_counter')
    op.drop_table('rooms')
    op.drop_table('meta')
    op.drop_index(op.f('ix_events_at'), table_name='events')
    op.drop_table('events')
    op.drop_index(op.f('ix_audit_log_username'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_entity'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')


# Events and audit rows are appended only through these functions. One advisory transaction lock
# serialises seq/id allocation, so commit order equals seq order: a listener that sees seq N knows
# every seq below N is either committed already or was rolled back (never a late arrival).
FUNCTIONS_SQL = r"""
CREATE SEQUENCE events_seq AS bigint;
CREATE SEQUENCE audit_log_id_seq AS bigint;

CREATE FUNCTION cr_audit_text(p_id bigint, p_at timestamptz, p_username text, p_role text,
    p_console text, p_room text, p_action text, p_entity text, p_outcome text, p_details jsonb,
    p_prev text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws('|', p_id::text, ((extract(epoch FROM p_at) * 1000000)::bigint)::text,
         coalesce(p_username, ''), coalesce(p_role, ''), coalesce(p_console, ''),
         coalesce(p_room, ''), p_action, coalesce(p_entity, ''), p_outcome,
         coalesce(p_details, '{}'::jsonb)::text, p_prev)
$$;

CREATE FUNCTION cr_audit(p_username text, p_role text, p_console text, p_room text,
    p_action text, p_entity text, p_outcome text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint; v_prev text; v_at timestamptz := now();
BEGIN
  PERFORM pg_advisory_xact_lock(7261001);
  SELECT hash INTO v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_id := nextval('audit_log_id_seq');
  INSERT INTO audit_log (id, at, username, role, console_id, room_code, action, entity, outcome,
                         details, prev_hash, hash)
  VALUES (v_id, v_at, p_username, p_role, p_console, p_room, p_action, p_entity, p_outcome,
          coalesce(p_details, '{}'::jsonb), v_prev,
          encode(sha256(convert_to(cr_audit_text(v_id, v_at, p_username, p_role, p_console,
                 p_room, p_action, p_entity, p_outcome, coalesce(p_details, '{}'::jsonb), v_prev),
                 'UTF8')), 'hex'));
  RETURN v_id;
END $$;

CREATE FUNCTION cr_emit(p_kind text, p_entity_id text, p_room text, p_payload jsonb,
    p_username text, p_role text, p_console text, p_audit boolean DEFAULT true,
    p_details jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint; v_msg text;
BEGIN
  PERFORM pg_advisory_xact_lock(7261001);
  v_seq := nextval('events_seq');
  INSERT INTO events (seq, at, kind, entity_id, room_code, console_id, username, payload)
  VALUES (v_seq, now(), p_kind, p_entity_id, p_room, p_console, p_username,
          coalesce(p_payload, '{}'::jsonb));
  IF p_audit THEN
    PERFORM cr_audit(p_username, p_role, p_console, p_room, p_kind,
                     split_part(p_kind, '.', 1) || ':' || coalesce(p_entity_id, ''), 'ok',
                     coalesce(p_details, p_payload));
  END IF;
  v_msg := json_build_object('seq', v_seq, 'kind', p_kind, 'entity_id', p_entity_id,
                             'room', p_room, 'at', now(), 'console', p_console,
                             'user', p_username, 'payload', coalesce(p_payload, '{}'::jsonb))::text;
  IF octet_length(v_msg) > 7900 THEN  -- NOTIFY payloads stop at 8000 bytes: send the seq only
    v_msg := json_build_object('seq', v_seq)::text;
  END IF;
  PERFORM pg_notify('controlroom', v_msg);
  RETURN v_seq;
END $$;

CREATE FUNCTION cr_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION cr_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cr_refuse_change();
CREATE TRIGGER incident_log_append_only BEFORE UPDATE OR DELETE ON incident_log
  FOR EACH ROW EXECUTE FUNCTION cr_refuse_change();
CREATE TRIGGER incident_log_no_truncate BEFORE TRUNCATE ON incident_log
  FOR EACH STATEMENT EXECUTE FUNCTION cr_refuse_change();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION cr_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION cr_refuse_change();
"""

DROP_FUNCTIONS_SQL = """
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS incident_log_append_only ON incident_log;
DROP TRIGGER IF EXISTS incident_log_no_truncate ON incident_log;
DROP TRIGGER IF EXISTS events_append_only ON events;
DROP TRIGGER IF EXISTS events_no_truncate ON events;
DROP FUNCTION IF EXISTS cr_refuse_change();
DROP FUNCTION IF EXISTS cr_emit(text, text, text, jsonb, text, text, text, boolean, jsonb);
DROP FUNCTION IF EXISTS cr_audit(text, text, text, text, text, text, text, jsonb);
DROP FUNCTION IF EXISTS cr_audit_text(bigint, timestamptz, text, text, text, text, text, text, text, jsonb, text);
DROP SEQUENCE IF EXISTS events_seq;
DROP SEQUENCE IF EXISTS audit_log_id_seq;
"""
