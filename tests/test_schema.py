"""One schema (issue 24): the SQLAlchemy models in controlroom/models are Alembic's target_metadata
and must describe exactly what the migrations build. A migration that changes a table without the
model (or the reverse) fails here.

Two checks against a migrated database:
1. Alembic's compare_metadata (what `alembic check` runs): tables, columns, types, nullability,
   server defaults, indexes (partial and expression ones included), unique constraints, foreign keys.
2. What Alembic does not compare — CHECK constraints, generated columns' kind (PostgreSQL 18 makes
   them VIRTUAL unless told STORED) and nullability, index methods/operator classes/INCLUDE lists:
   the models are built in a scratch schema of the same database (inside a transaction that is
   rolled back) and PostgreSQL's own rendering of both (pg_get_constraintdef, pg_get_indexdef,
   format_type) is compared table by table.

Not checked, because the models cannot express them (they live only in the SQL-first migrations):
functions (the `api` schema, cr_emit, …), triggers, grants and row security, table storage options
(parallel_workers), sequences' own settings. Constraint NAMES are not compared either (tables the
migrations created in plain SQL have PostgreSQL's default names, e.g. alerts_pkey); index names are.
"""
from __future__ import annotations

import warnings
from collections import Counter

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, create_engine, exc as sa_exc, text

from controlroom.models import Base
from controlroom.models.core import PGName

SCRATCH = "cr_model_check"


def _engine(db_url):
    return create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))


def _compare_type(_ctx, _inspected, _metadata, inspected_type, metadata_type):
    # PostgreSQL's `name` reflects as String (SQLAlchemy has no NAME type); the model says PGName
    if isinstance(metadata_type, PGName) and isinstance(inspected_type, String):
        return False
    return None  # Alembic's own comparison


def test_alembic_finds_no_difference_between_models_and_migrations(db_url):
    engine = _engine(db_url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # a warning here means a comparison was skipped (an unknown column type, an index
            # expression Alembic could not compare): that must fail, not pass silently
            warnings.simplefilter("error", sa_exc.SAWarning)
            warnings.simplefilter("error", UserWarning)
            ctx = MigrationContext.configure(conn, opts={"compare_type": _compare_type,
                                                        "compare_server_default": True})
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    for d in diffs:
        print(d)
    assert diffs == [], f"{len(diffs)} differences between controlroom/models and the migrations"


CATALOGUE = {
    "constraint": """SELECT c.relname, k.contype::text || ' ' || pg_get_constraintdef(k.oid)
                     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s""",
    # the primary key's own index is named by convention in one and by PostgreSQL in the other;
    # the key itself is compared above as a constraint
    "index": """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = :s AND NOT i.indisprimary""",
    "column": """SELECT c.relname, a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                        || ' not null=' || a.attnotnull || ' generated=' || a.attgenerated::text
                        || ' identity=' || a.attidentity::text
                        || coalesce(' as ' || CASE WHEN a.attgenerated <> ''
                                                   THEN pg_get_expr(d.adbin, d.adrelid) END, '')
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE n.nspname = :s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""",
}


def _catalogue(conn, schema):
    out: dict[tuple[str, str], Counter] = {}
    for kind, query in CATALOGUE.items():
        for table, definition in conn.execute(text(query), {"s": schema}):
            definition = definition.replace(f"{SCRATCH}.", "").replace("public.", "")
            out.setdefault((table, kind), Counter())[definition] += 1
    return out


def test_models_build_what_the_migrations_build(db_url):
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                conn.execute(text(f"CREATE SCHEMA {SCRATCH}"))
                Base.metadata.create_all(conn.execution_options(schema_translate_map={None: SCRATCH}))
                migrated, modelled = _catalogue(conn, "public"), _catalogue(conn, SCRATCH)
            finally:
                tx.rollback()  # nothing of the scratch schema stays
    finally:
        engine.dispose()
    tables = set(Base.metadata.tables)
    problems = []
    for key in sorted(set(migrated) | set(modelled)):
        if key[0] not in tables:
            continue  # alembic_version (and anything not modelled is caught by the test above)
        db, model = migrated.get(key, Counter()), modelled.get(key, Counter())
        problems += [f"{key[0]} {key[1]}: migrations only: {d}" for d in sorted(db - model)]
        problems += [f"{key[0]} {key[1]}: models only: {d}" for d in sorted(model - db)]
    print("\n".join(problems))
    assert problems == []


def test_views_and_replay_records_name_real_columns():
    """Column lists kept outside the models (service views, the replay reducer's records, which must
    not import SQLAlchemy) name only columns the tables have, so a renamed or dropped column cannot
    silently leave a view field that is never filled."""
    import dataclasses

    from controlroom.models import Incident, IncidentLog, Unit
    from controlroom.replay import state
    from controlroom.services.units.service import UNIT_COLUMNS, UnitView
    from controlroom.services.views import IncidentView, LogEntryView

    def columns(model):
        return [c.name for c in model.__table__.columns]

    def fields(view):
        return {f.name for f in dataclasses.fields(view)}

    assert fields(UnitView) == set(columns(Unit)) == set(UNIT_COLUMNS.split(", "))
    assert tuple(state.UNIT_KEYS) == tuple(columns(Unit))
    assert fields(LogEntryView) == set(columns(IncidentLog))
    assert fields(IncidentView) <= set(columns(Incident))
    assert set(state.INCIDENT_KEYS) <= set(columns(Incident))
