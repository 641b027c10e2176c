"""One schema (issue 24): the SQLAlchemy models in controlroom/models are Alembic's target_metadata
and must describe exactly what the migrations build — tables, columns, types, nullability, server
defaults, generated columns, indexes (partial and expression ones included), unique constraints and
foreign keys. A migration that changes a table without the model (or the reverse) fails here.

What Alembic's compare cannot see, and so is not checked: CHECK constraints (autogenerate does not
compare them at all), functions and the `api` schema, triggers, grants/row security, and table
storage options (e.g. parallel_workers). Those live only in the migrations, which are SQL-first;
the models describe tables, not behaviour."""
from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, exc as sa_exc

from controlroom.models import Base


def test_models_match_the_migrated_database(db_url):
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # a warning here means a comparison was skipped (an unknown column type, an index
            # expression Alembic could not compare): that must fail, not pass silently
            warnings.simplefilter("error", sa_exc.SAWarning)
            warnings.simplefilter("error", UserWarning)
            ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                        "compare_server_default": True})
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    for d in diffs:
        print(d)
    assert diffs == [], f"{len(diffs)} differences between controlroom/models and the migrations"

