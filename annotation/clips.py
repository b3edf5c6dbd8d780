"""From annotations to edit specs: caption cues from a tier, and audio redactions from the "Sensitive
identifier" tier, so that a clip never lets a coded name through.

Times in the store are milliseconds; edit specs use seconds of the source recording.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from annotation.elan import SENSITIVE_TIER, Segment
from annotation.errors import NotFound
from annotation.services import document_display
from annotation.store import Document, Store, get_document_row, get_or_not_found
from media_tools.spec import AudioRedaction, Captions, Cue, EditSpec

DEFAULT_MARGIN = 0.25  # seconds of sound redacted before and after a coded identifier
CAPTION_REMOVED = "[identifier removed]"
"""What a caption over a sensitive identifier says instead of its text (the bleep takes the name out of the
sound; the transcript's words in a caption would still show it)."""


def find_document(store: Store, ref: str | int) -> int:
    """A document's id from its id or its (unique) name.

    Raises:
        NotFound: no document, or several, answer to ``ref``.
    """
    with store.session() as s:
        if isinstance(ref, int) or ref.isdigit():
            message = f"document {ref}: not found (see 'frontdoor documents')"
            return get_or_not_found(s, Document, int(ref), "document", message=message).id
        ids = s.scalars(select(Document.id).where(Document.name == ref)).all()
    if not ids:
        raise NotFound(f"document {ref!r}: not found (see 'frontdoor documents')")
    if len(ids) > 1:
        raise NotFound(
            f"document {ref!r}: {len(ids)} documents have this name; use its id ({', '.join(map(str, ids))})"
        )
    return ids[0]


def _tier_segments(store: Store, doc_id: int, tier: str) -> list[Segment]:
    display = document_display(store, doc_id)
    if tier not in display:
        names = ", ".join(sorted(display)) or "none"
        raise NotFound(f"document {doc_id}: no tier {tier!r} (tiers: {names})")
    return display[tier]


def media_origin(store: Store, doc_id: int) -> int:
    """Where in the recording the document's time 0 falls (ms): recording time = document time + this.

    Raises:
        NotFound: no such document.
    """
    with store.session() as s:
        return int(get_document_row(s, doc_id).media_origin_ms or 0)


def _in_source_time(store: Store, doc_id: int, tier: str) -> list[Segment]:
    """The tier's segments moved to the recording's time (the document's time origin added)."""
    origin = media_origin(store, doc_id)
    segs = _tier_segments(store, doc_id, tier)
    if not origin:
        return segs
    return [replace(seg, start=seg.start + origin, end=seg.end + origin) for seg in segs]


def caption_cues(store: Store, doc_id: int, tier: str, start: float, end: float) -> tuple[Cue, ...]:
    """The tier's non-empty annotations overlapping [start, end) seconds, as cues in source time."""
    lo, hi = round(start * 1000), round(end * 1000)
    return tuple(
        Cue(seg.start / 1000, seg.end / 1000, seg.value)
        for seg in _in_source_time(store, doc_id, tier)
        if seg.value.strip() and seg.end > lo and seg.start < hi
    )


def sensitive_audio_redactions(
    store: Store,
    doc_id: int,
    *,
    start: float = 0.0,
    end: float = float("inf"),
    margin: float = DEFAULT_MARGIN,
    kind: str = "bleep",
    tier: str = SENSITIVE_TIER,
) -> tuple[AudioRedaction, ...]:
    """Audio redactions covering every sensitive-identifier annotation that touches [start, end), widened
    by ``margin`` seconds on both sides (never before 0) and merged where they meet."""
    if kind not in ("mute", "bleep"):
        raise ValueError(f"kind {kind!r}: use 'mute' or 'bleep'")
    if not margin >= 0:
        raise ValueError(f"margin {margin}: must be 0 or more seconds")
    spans = sorted(
        (max(0.0, seg.start / 1000 - margin), seg.end / 1000 + margin)
        for seg in _in_source_time(store, doc_id, tier)
        if seg.end / 1000 + margin > start and seg.start / 1000 - margin < end
    )
    merged: list[tuple[float, float, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b), merged[-1][2] + 1)
        else:
            merged.append((a, b, 1))
    # the note says how many annotations, never their text: it travels into specs and manifests, and a
    # value typed into this tier may be the very name being redacted
    return tuple(
        AudioRedaction(kind, round(a, 6), round(b, 6), note=f"sensitive identifier ({n} annotation{'s' * (n > 1)})")  # type: ignore[arg-type]
        for a, b, n in merged
    )


def resolve_spec(
    store: Store, spec: EditSpec, *, redact_sensitive: str | int | None = None, margin: float = DEFAULT_MARGIN
) -> EditSpec:
    """Fill in what the store knows: caption cues named by document and tier, and (with
    ``redact_sensitive``, a document) bleeps over every sensitive identifier coded in the clip, with the text of
    any caption over one replaced by ``CAPTION_REMOVED``."""
    if spec.captions is not None and spec.captions.document is not None:
        assert spec.captions.tier is not None
        doc = find_document(store, spec.captions.document)
        cues = caption_cues(store, doc, spec.captions.tier, spec.start, spec.end)
        spec = replace(spec, captions=Captions(spec.captions.mode, cues))
    if redact_sensitive is not None:
        doc = find_document(store, redact_sensitive)
        extra = sensitive_audio_redactions(store, doc, start=spec.start, end=spec.end, margin=margin)
        spec = replace(spec, audio=spec.audio + extra)
        if spec.captions is not None and spec.captions.cues:
            cues = tuple(
                replace(c, text=CAPTION_REMOVED) if any(c.end > r.start and c.start < r.end for r in extra) else c
                for c in spec.captions.cues
            )
            spec = replace(spec, captions=replace(spec.captions, cues=cues))
    return spec
