"""A document's media into the player: the primary medium at its time origin, the others' sound alongside it.
A medium that cannot be found or played is named (one line each); the rest still open."""

from __future__ import annotations

from collections.abc import Sequence

from annotation.store import DocumentMedia
from app.gui.player.widget import PlayerWidget
from media_tools.errors import MediaError


def load_media(player: PlayerWidget, media: Sequence[DocumentMedia]) -> tuple[DocumentMedia | None, list[str]]:
    """Open the media in ``player``; returns the primary medium that opened (None if none did) and the
    problems to show (the player's own backend note first)."""
    problems = [m.problem for m in media if m.problem and not m.extracted_from]
    primary = next((m for m in media if m.primary and m.path), None)
    opened = None
    if primary is not None and primary.path is not None:
        try:
            player.load(primary.path, primary.time_origin_ms)
        except MediaError as exc:
            problems.insert(0, str(exc))
        else:
            opened = primary
            for m in media:
                if m.primary or m.path is None or m.extracted_from:
                    continue
                try:
                    player.add_follower(m.path, m.time_origin_ms)
                except MediaError as exc:
                    problems.append(str(exc))
    if player.backend_error:
        problems.insert(0, player.backend_error)
    return opened, [p for p in problems if p]
