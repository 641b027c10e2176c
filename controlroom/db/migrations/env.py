"""Alembic environment: run with a connection handed in by controlroom.db.migrate()."""
from __future__ import annotations

from alembic import context

from controlroom.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata,
                      transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("controlroom migrations run online only (python -m controlroom.db migrate)")
run_migrations_online()
