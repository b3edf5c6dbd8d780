"""face tracks: a scan of a recording's video (by its SHA-256), the tracks it found and whose face each is, and
every track's box on every frame

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:30:00

``annotation.faces`` writes them (``frontdoor faces detect``); ``consent.faces`` assigns a track to a
participant and the export gate checks that a redacted person's tracks are covered on every frame of a clip
(``consent.export.face_coverage``), which is why a presenter may read them (``consent.server.roles``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_sha256", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("frame_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_scan")),
    )
    op.create_index(op.f("ix_face_scan_recording_sha256"), "face_scan", ["recording_sha256"])
    op.create_table(
        "face_track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["face_scan.id"], name=op.f("fk_face_track_scan_id_face_scan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_track")),
        sa.UniqueConstraint("scan_id", "number", name=op.f("uq_face_track_scan_id")),
    )
    op.create_index(op.f("ix_face_track_scan_id"), "face_track", ["scan_id"])
    op.create_index(op.f("ix_face_track_participant_id"), "face_track", ["participant_id"])
    op.create_table(
        "face_box",
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("time_ms", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("w", sa.Float(), nullable=False),
        sa.Column("h", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["track_id"], ["face_track.id"], name=op.f("fk_face_box_track_id_face_track"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("track_id", "frame", name=op.f("pk_face_box")),
    )


def downgrade() -> None:
    op.drop_table("face_box")
    op.drop_index(op.f("ix_face_track_participant_id"), table_name="face_track")
    op.drop_index(op.f("ix_face_track_scan_id"), table_name="face_track")
    op.drop_table("face_track")
    op.drop_index(op.f("ix_face_scan_recording_sha256"), table_name="face_scan")
    op.drop_table("face_scan")
