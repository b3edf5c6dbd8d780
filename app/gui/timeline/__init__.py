"""The timeline: ``TimelineView`` (tiers of annotations against time), its painting, its input handling,
the ruler's labels, sizes and colours, the per-tier data it draws from and the in-place value editor."""

from __future__ import annotations

from app.gui.timeline.view import TimelineView

__all__ = ["TimelineView"]
