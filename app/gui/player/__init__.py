"""The video player: ``PlayerWidget`` over one ``PlayerEngine`` (libvlc, else QtMultimedia, else stills
only), the exact still laid over the video when paused, followers (more media of a recording in step), the
transport bar and loading a document's media."""

from __future__ import annotations

from app.gui.player import qtmm_backend, vlc_backend
from app.gui.player.media_loader import load_media
from app.gui.player.transport import TransportBar
from app.gui.player.widget import DEFAULT_FPS, PlayerWidget, format_time

__all__ = ["DEFAULT_FPS", "PlayerWidget", "TransportBar", "format_time", "load_media", "qtmm_backend", "vlc_backend"]
