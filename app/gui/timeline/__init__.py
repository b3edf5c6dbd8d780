"""The timeline: ``TimelineView`` (tiers of annotations against time), its painting, its input handling,
the ruler's labels, sizes and colours, the per-tier data it draws from, the in-place value editor, and the
face tracks shown as rows under the tiers (``FaceRow``)."""

from __future__ import annotations

from app.gui.timeline.face_rows import FaceRow
from app.gui.timeline.view import TimelineView

__all__ = ["FaceRow", "TimelineView"]
