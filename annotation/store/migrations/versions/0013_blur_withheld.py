"""blur withheld: a project's stored leave to offer someone who withheld a version with their face blurred

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:40:00

``consent_policy.blur_withheld`` (false unless set): whether the project's ethics approval allows
``frontdoor clip blur-withheld`` (set by ``frontdoor project set-blur-withheld``, audited with its reason).
The column is on a table every group already has its grants and row-level policy on, so no grant changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_policy") as batch:
        batch.add_column(sa.Column("blur_withheld", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("consent_policy") as batch:
        batch.drop_column("blur_withheld")
