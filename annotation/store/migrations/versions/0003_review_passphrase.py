"""consent review stations: the researcher's passphrase, kept only as a slow salted hash

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_policy") as batch:
        batch.add_column(sa.Column("passphrase_hash", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_policy") as batch:
        batch.drop_column("passphrase_hash")
