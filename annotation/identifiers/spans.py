"""The sensitive identifiers coded on a recording, as bleeps for a clip of it at the moment it is rendered.

A clip version's stored edit carries the bleeps of the sensitive identifiers coded when it was made
(``consent.clips.create_clip(..., sensitive_from=DOC)``). One confirmed later (a scan's proposal, or an
annotation added by hand) is not in that edit, and changing the edit would make a new version that needs
everyone's consent again. So the gate asks here, each time it renders a clip (an export or a review
preview), for every sensitive-identifier annotation now coded on the clip's recording, in any of its
documents, and bleeps what the stored edit does not already silence; a caption over one shows
``REMOVED`` instead of its text (the transcript's words would show the name the bleep took out). Only the
identifier is taken away, never anything added: the consent given to the version still holds (the safer
direction).

On PostgreSQL the times come from ``frontdoor_sensitive_spans`` (migrations 0008, 0009, 0010): presenters and review
stations may not read the annotation tables, and the function gives them times only. On SQLite the same
query runs directly.

Times come from the annotation's time slots; an unaligned slot takes its aligned neighbour's time outward
(the earlier one for a start, the later one for an end), and a referring annotation the slots of its nearest
time-aligned ancestor (through any number of referring tiers: a Sensitive identifier tier may hang under a
translation of a transcript), so a span is never narrower than ELAN shows it. An annotation whose time cannot
be found at all (a broken reference) is bleeped from the document's start to the end of the recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.orm import Session

from annotation.clips import CAPTION_REMOVED, DEFAULT_MARGIN
from annotation.elan import SENSITIVE_TIER
from media_tools.spec import AudioRedaction, Captions

NOTE = "sensitive identifier (coded after this version was made)"
REMOVED = CAPTION_REMOVED
_MIN = 0.001  # seconds: a sliver left by rounding is not a gap a name fits in

SPANS_SQL = f"""
SELECT q.start_ms + q.origin AS start_ms,
       CASE WHEN q.end_ms = 2147483647 THEN q.end_ms ELSE q.end_ms + q.origin END AS end_ms
FROM (
WITH RECURSIVE up(id, document_id, origin, ts1, ts2, ref, depth) AS (
  SELECT a.id, a.document_id, d.media_origin_ms, a.ts1, a.ts2, a.ref, 0
  FROM document d
  JOIN tier t ON t.document_id = d.id AND t.tier_id = '{SENSITIVE_TIER}'
  JOIN annotation a ON a.tier_pk = t.id
  WHERE d.recording_id = {{rec}}
  UNION ALL
  SELECT up.id, up.document_id, up.origin, p.ts1, p.ts2, p.ref, up.depth + 1
  FROM up JOIN annotation p ON p.document_id = up.document_id AND p.ann_id = up.ref
  WHERE (up.ts1 IS NULL OR up.ts2 IS NULL) AND up.depth < 64
)
SELECT r.origin,
       COALESCE(s1.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s1.document_id AND x.pos < s1.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos DESC LIMIT 1), 0) AS start_ms,
       COALESCE(s2.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s2.document_id AND x.pos > s2.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos LIMIT 1), 2147483647) AS end_ms
FROM up r
LEFT JOIN time_slot s1 ON s1.document_id = r.document_id AND s1.slot_id = r.ts1
LEFT JOIN time_slot s2 ON s2.document_id = r.document_id AND s2.slot_id = r.ts2
WHERE r.depth = (SELECT max(u.depth) FROM up u WHERE u.id = r.id)
) q
"""


def _has_function(s: Session) -> bool:
    key = "frontdoor.sensitive_spans"
    if key not in s.info:
        s.info[key] = s.get_bind().dialect.name == "postgresql" and (
            s.execute(text("SELECT to_regprocedure('frontdoor_sensitive_spans(integer)') IS NOT NULL")).scalar_one()
            is True
        )
    return bool(s.info[key])


def standing_sensitive_spans(s: Session, recording_id: int) -> list[tuple[int, int]]:
    """(start, end) in ms of the recording's time (each document's time origin added) of every annotation on a
    "Sensitive identifier" tier of the recording's documents."""
    if _has_function(s):
        q = text("SELECT start_ms, end_ms FROM frontdoor_sensitive_spans(:rec)")
    else:
        q = text(SPANS_SQL.format(rec=":rec"))
    rows = s.execute(q, {"rec": recording_id}).all()
    return sorted((min(a, b), max(a, b)) for a, b in rows)


def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _subtract(spans: list[tuple[float, float]], covered: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for a, b in spans:
        pieces = [(a, b)]
        for c, d in covered:
            pieces = [p for x, y in pieces for p in ((x, min(y, c)), (max(x, d), y)) if p[1] - p[0] > _MIN]
        out.extend(pieces)
    return out


def standing_sensitive_redactions(
    s: Session,
    recording_id: int,
    start: float,
    end: float,
    *,
    covered: Sequence[AudioRedaction] = (),
    margin: float = DEFAULT_MARGIN,
) -> tuple[AudioRedaction, ...]:
    """Bleeps (seconds of the source) over every sensitive identifier now coded on the recording that
    touches [start, end), widened by ``margin`` and cut to the clip, where ``covered`` (the edit's own
    mutes and bleeps) does not already silence the sound. Their note says what they are, never the text."""
    spans = [
        (max(start, a / 1000 - margin), min(end, b / 1000 + margin))
        for a, b in standing_sensitive_spans(s, recording_id)
        if b / 1000 + margin > start and a / 1000 - margin < end
    ]
    wanted = _merge(p for p in spans if p[1] - p[0] > _MIN)
    silenced = _merge((r.start, r.end) for r in covered)
    return tuple(AudioRedaction("bleep", round(a, 6), round(b, 6), note=NOTE) for a, b in _subtract(wanted, silenced))


def standing_sensitive_captions(
    s: Session, recording_id: int, captions: Captions | None, *, margin: float = DEFAULT_MARGIN
) -> Captions | None:
    """``captions`` with the text of every cue that touches a sensitive identifier now coded on the recording
    (widened by ``margin``) replaced by ``REMOVED``: a bleep takes the name out of the sound, and a caption
    from the transcript would still show it. Cues elsewhere are kept as they are."""
    if captions is None or not captions.cues:
        return captions
    spans = [(a / 1000 - margin, b / 1000 + margin) for a, b in standing_sensitive_spans(s, recording_id)]
    cues = tuple(
        replace(c, text=REMOVED) if any(c.end > a and c.start < b for a, b in spans) else c for c in captions.cues
    )
    return captions if cues == captions.cues else replace(captions, cues=cues)
