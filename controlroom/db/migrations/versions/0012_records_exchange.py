"""records: partner references of imported (EIDO) incidents, auditors' QA reviews

Revision ID: 0012
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    # One row per import: the partner agency's reference and the document exactly as received, so
    # the partner's components (notes, units, command…) are re-exported with their own authorship.
    op.create_table(
        "incident_partner_refs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("tracking_id", sa.String(300), nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.Column("imported_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40), nullable=True),
        sa.UniqueConstraint("incident_id", name="uq_incident_partner_refs_incident_id"),
    )
    # A partner's incident is imported once: a second import of the same reference is refused.
    op.create_index("uq_incident_partner_refs_agency_reference", "incident_partner_refs",
                    ["agency", "reference"], unique=True)
    # The auditor's findings are part of the record: append-only, a second look is a new row.
    op.create_table(
        "qa_reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("sample_percent", sa.Double(), nullable=True),
        sa.Column("checklist", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("console_id", sa.String(40), nullable=True),
        sa.CheckConstraint("outcome IN ('compliant','advice','non_compliant')", name="ck_qa_reviews_outcome"),
        sa.CheckConstraint("length(findings) BETWEEN 1 AND 4000", name="ck_qa_reviews_findings_len"),
    )
    op.create_index("ix_qa_reviews_incident_id", "qa_reviews", ["incident_id"])
    op.execute("CREATE TRIGGER qa_reviews_append_only BEFORE UPDATE OR DELETE ON qa_reviews "
               "FOR EACH ROW EXECUTE FUNCTION cr_refuse_change()")
    op.execute("CREATE TRIGGER qa_reviews_no_truncate BEFORE TRUNCATE ON qa_reviews "
               "FOR EACH STATEMENT EXECUTE FUNCTION cr_refuse_change()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS qa_reviews_append_only ON qa_reviews")
    op.execute("DROP TRIGGER IF EXISTS qa_reviews_no_truncate ON qa_reviews")
    op.drop_table("qa_reviews")
    op.drop_table("incident_partner_refs")
