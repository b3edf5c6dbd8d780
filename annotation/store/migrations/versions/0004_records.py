"""referral records: sampled referrals (no identifier columns), their links to video annotations, the
per-project key of the referral-reference hash

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_key",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_record_key_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_record_key")),
    )
    op.create_table(
        "referral_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("ref_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("period", sa.String(length=50), nullable=False),
        sa.Column("referrer_type", sa.String(length=100), nullable=False),
        sa.Column("professional", sa.Boolean(), nullable=True),
        sa.Column("concern", sa.String(length=100), nullable=False),
        sa.Column("age_band", sa.String(length=30), nullable=True),
        sa.Column("previous_referrals", sa.Integer(), nullable=True),
        sa.Column("response", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("decision_minutes", sa.Integer(), nullable=True),
        sa.Column("initial_assessment", sa.Boolean(), nullable=True),
        sa.Column("feedback", sa.Boolean(), nullable=True),
        sa.Column("manager_consulted", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_referral_record_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_record")),
        sa.UniqueConstraint("project_id", "ref_hash", name="uq_referral_record_project_ref"),
    )
    with op.batch_alter_table("referral_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_record_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_record_project_id"), ["project_id"], unique=False)

    op.create_table(
        "record_segment",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ann_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_record_segment_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["referral_record.id"],
            name=op.f("fk_record_segment_record_id_referral_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "document_id", "ann_id", name=op.f("pk_record_segment")),
    )
    with op.batch_alter_table("record_segment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_segment_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_segment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_segment_document_id"))
    op.drop_table("record_segment")
    with op.batch_alter_table("referral_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_record_project_id"))
        batch_op.drop_index(batch_op.f("ix_referral_record_period"))
    op.drop_table("referral_record")
    op.drop_table("record_key")
