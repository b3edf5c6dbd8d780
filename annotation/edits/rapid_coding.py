"""Rapid coding, as in behavioural-observation tools: a key per code starts a segment at the playhead and
the same key ends it; a point event is one frame long; codes on one tier exclude each other, so starting
one ends the one still open on that tier. A tier never gets overlapping annotations: a segment coded inside
one already there ends that one where it starts, and stops where the next one begins (``trim``, see
:mod:`annotation.edits.overlaps`), as an observation tool stops a running state. Pure logic: the window
turns key presses into these calls and pushes the edit commands they return onto its undo stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotation.edits.commands import CreateAnnotation

__all__ = ["RapidCoder"]


@dataclass
class RapidCoder:
    """Segments being coded: ``open`` maps ``"tier:n"`` to (start ms, value)."""

    open: dict[str, tuple[int, str]] = field(default_factory=dict)

    def press(
        self, doc_id: int, tier: str, n: int, value: str, now: int, frame: int, *, point: bool = False
    ) -> tuple[list[CreateAnnotation], str]:
        """The edits a key press makes (in order) and a line for the status bar."""
        frame = max(1, int(frame))
        if point:
            return [CreateAnnotation(doc_id, tier, now, now + frame, value, trim=True)], ""
        key = f"{tier}:{n}"
        if key not in self.open:
            edits = [self._close(doc_id, k, now, frame) for k in [k for k in self.open if k.startswith(f"{tier}:")]]
            self.open[key] = (now, value)
            return edits, f"coding {value!r} from {now / 1000:.3f} s: press {n} again to end"
        return [self._close(doc_id, key, now, frame)], ""

    def _close(self, doc_id: int, key: str, now: int, frame: int) -> CreateAnnotation:
        tier = key.rsplit(":", 1)[0]
        start, value = self.open.pop(key)
        end = now if now > start else start + frame
        return CreateAnnotation(doc_id, tier, start, end, value, trim=True)

    def clear(self) -> None:
        self.open.clear()
