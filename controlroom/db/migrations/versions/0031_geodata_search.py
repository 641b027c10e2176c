"""gazetteer search at force scale: building names by full text, no parallel scans for suggestions

Revision ID: 0031
Revises: 0030

Measured at 1.5 M addresses (tests/perf/test_gazetteer_perf.py): a GiST trigram KNN over building
names cost 40-100 ms per keystroke; a GIN full-text index on them answers word prefixes in
well under a millisecond. Suggestions are tiny reads: a parallel plan's worker start-up costs more
than it saves, so the planner is told not to use one on these tables.
"""
from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_addresses_building_trgm")
    op.execute("CREATE INDEX ix_addresses_building_fts ON addresses USING gin "
               "(to_tsvector('simple', building_name)) WHERE building_name IS NOT NULL")
    op.execute("ALTER TABLE addresses SET (parallel_workers = 0)")
    op.execute("ALTER TABLE gazetteer SET (parallel_workers = 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE gazetteer RESET (parallel_workers)")
    op.execute("ALTER TABLE addresses RESET (parallel_workers)")
    op.execute("DROP INDEX IF EXISTS ix_addresses_building_fts")
    op.execute("CREATE INDEX ix_addresses_building_trgm ON addresses USING gist (building_name gist_trgm_ops) "
               "WHERE building_name IS NOT NULL")
