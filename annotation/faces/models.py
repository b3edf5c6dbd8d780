"""The tables of face tracks: a scan of a recording's video (cached by the recording's SHA-256), its tracks,
and every track's box on every frame (frame number and start time in ms of the recording, as found)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation.store import Base, now


class FaceScan(Base):
    """One detection pass over a recording's video: the recording is named by its content (SHA-256), so a
    moved or relinked file keeps its tracks, and a second ``faces detect`` reuses them."""

    __tablename__ = "face_scan"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sha256: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    frame_count: Mapped[int] = mapped_column(Integer)
    frame_ms: Mapped[float] = mapped_column(Float)
    """The typical frame duration in ms (the median), for ranges and clip boundaries."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class FaceTrackRow(Base):
    """A face followed through the video. ``participant_id`` is whose face it is (a participant of the
    consent tables, which this package does not know; ``consent.faces`` sets it and checks it)."""

    __tablename__ = "face_track"
    __table_args__ = (UniqueConstraint("scan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("face_scan.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(Integer, index=True)


class FaceBoxRow(Base):
    """A track's box on one frame: (x, y, w, h) as fractions of the picture, the detector's score and the
    frame's state (``media_tools.faces.STATES``)."""

    __tablename__ = "face_box"
    track_id: Mapped[int] = mapped_column(ForeignKey("face_track.id", ondelete="CASCADE"), primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    time_ms: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(10))
