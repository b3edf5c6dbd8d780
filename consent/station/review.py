"""What a consent review station may show one participant, and the previews it plays.

A review station hands the screen to one filmed member of staff. It shows the current version of every
clip they are present in, played exactly as the gate would export it (``consent.export.gate.export_spec``: the
stored edit with its bleeps and the redactions asked for as conditions, burned in by ``media_tools``),
watermarked ``PREVIEW_MARK``; and their own decisions. Nothing here names or counts anyone else, nor says
what anyone else decided, and nothing carries a recording's path: the station's screen is the participant's.

Previews are rendered once per clip version into a private folder of the cache (``preview_dir``: mode 0700,
files 0600) and kept there while the station is open, so a second viewing starts at once;
``clear_previews`` empties it when the station is left. Every preview handed out is audited ("participant
X reviewed version V"): it is evidence of what the person saw before deciding.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Project, Store
from consent import audit, conditions
from consent.errors import InvalidRequest, PreviewFailed, UnknownThing
from consent.export import export_spec
from consent.models import Clip, ClipVersion, Decision, Participant, Presence
from consent.rows import current_version, participant, write
from consent.server import access
from media_tools import cache
from media_tools.errors import Cancelled, MediaError
from media_tools.ffmpeg_bin import Progress
from media_tools.files import replace_durably
from media_tools.render import render

log = logging.getLogger(__name__)

PREVIEW_MARK = "CONSENT REVIEW — NOT FOR USE"
"""Written on every frame of a preview (after the edit's own watermark, where the gate writes the scope)."""
PREVIEWS = "review-previews"  # the cache folder of review previews (retention deletes a destroyed version's)


@dataclass(frozen=True)
class Reviewer:
    """The participant a station is for."""

    participant_id: int
    pseudonym: str
    project: str


@dataclass(frozen=True)
class OwnDecision:
    """The participant's own latest decision for one scope on one version."""

    scope: str
    decision: str  # "granted" or "withheld"
    conditions: tuple[dict[str, Any], ...]
    described: tuple[str, ...]  # the conditions in plain words
    method: str
    recorded_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    """One clip version the participant is present in, as the station shows it."""

    clip_id: int
    label: str  # the clip's name
    title: str | None  # the title card's text, when the edit has one
    version_number: int
    version_hash: str
    duration_s: float  # how long the preview plays (the title card included)
    start_s: float  # where the clip starts and ends in the recording (conditions are given in its time)
    end_s: float
    title_s: float  # the title card's length: the preview shows clip time t at title_s + t
    decisions: Mapping[str, OwnDecision]  # scope -> the participant's own latest decision on this version
    hidden: tuple[str, ...] = ()  # what the version already hides, in plain words (see ``hidden_in``)


# ---------------------------------------------------------------------------------------------- the list


def reviewer(store: Store, participant_ref: str | int, *, project: str | None = None) -> Reviewer:
    """The participant a station would be for.

    Raises:
        UnknownThing: no such participant (or project).
        InvalidRequest: the participant has withdrawn.
    """
    with store.session() as s:
        p = _participant(s, participant_ref, project)
        name = s.scalar(select(Project.name).where(Project.id == p.project_id))
        assert name is not None
        return Reviewer(p.id, p.pseudonym, name)


def review_items(store: Store, participant_ref: str | int, *, project: str | None = None) -> list[ReviewItem]:
    """The current version of every clip the participant is present in, in clip order, with their own
    latest decision per scope on it.

    Raises:
        UnknownThing: no such participant (or project).
        InvalidRequest: the participant has withdrawn: nothing is shown.
    """
    out: list[ReviewItem] = []
    with store.session() as s:
        p = _participant(s, participant_ref, project)
        clip_ids = (
            select(ClipVersion.clip_id)
            .join(Presence, Presence.clip_version_id == ClipVersion.id)
            .where(Presence.participant_id == p.id)
        )
        for c in s.scalars(select(Clip).where(Clip.id.in_(clip_ids)).order_by(Clip.id)):
            v = current_version(s, c)
            if s.get(Presence, (v.id, p.id)) is None:  # in an older version only
                continue
            out.append(_item(s, c, v, p.id))
    return out


def _item(s: Session, c: Clip, v: ClipVersion, pid: int) -> ReviewItem:
    own: dict[str, OwnDecision] = {}
    for d in s.scalars(
        select(Decision).where(Decision.clip_version_id == v.id, Decision.participant_id == pid).order_by(Decision.id)
    ):
        conds = tuple(dict(x) for x in d.conditions)
        own[d.scope] = OwnDecision(
            d.scope, d.decision, conds, tuple(conditions.describe(x) for x in conds), d.method, d.recorded_at
        )
    spec = v.spec
    title = spec.get("title") or None
    title_s = float(title["seconds"]) if title else 0.0
    start, end = float(spec["start"]), float(spec["end"])
    return ReviewItem(
        clip_id=c.id,
        label=c.name,
        title=str(title["text"]) if title else None,
        version_number=v.number,
        version_hash=v.version_hash,
        duration_s=end - start + title_s,
        start_s=start,
        end_s=end,
        title_s=title_s,
        decisions=own,
        hidden=hidden_in(spec, _later_bleeps(s, c.recording_id, start, end, spec)),
    )


def _later_bleeps(s: Session, recording_id: int, start: float, end: float, spec: Mapping[str, Any]) -> int:
    """Sensitive identifiers coded since the version was made, which the gate bleeps too (its notes say so)."""
    from annotation.identifiers import standing_sensitive_redactions

    own = [(float(a["start"]), float(a["end"])) for a in spec.get("audio") or ()]
    later = standing_sensitive_redactions(s, recording_id, start, end)
    return sum(1 for r in later if not any(a < r.end and r.start < b for a, b in own))


def hidden_in(spec: Mapping[str, Any], later_bleeps: int = 0) -> tuple[str, ...]:
    """What a version's edit hides, for the person in it: blurred or covered areas (with their notes), bleeps
    and silences, captions (whose names are taken out). Counts and notes only, never a name."""
    out: list[str] = []
    boxes = list(spec.get("redactions") or ())
    if boxes:
        notes = sorted({str(r["note"]) for r in boxes if r.get("note")})
        out.append(_count(len(boxes), "blurred area") + (f" ({', '.join(notes)})" if notes else ""))
    sounds = list(spec.get("audio") or ())
    bleeps = sum(1 for a in sounds if a.get("kind") == "bleep") + later_bleeps
    if bleeps:
        out.append(_count(bleeps, "bleep") + " over a name or other identifying word")
    mutes = sum(1 for a in sounds if a.get("kind") == "mute")
    if mutes:
        out.append(_count(mutes, "silenced stretch", "silenced stretches"))
    if spec.get("captions"):
        out.append("captions of what is said, with names taken out")
    return tuple(out)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _participant(s: Session, ref: str | int, project: str | None) -> Participant:
    pid = None
    if project is not None:
        pid = s.scalar(select(Project.id).where(Project.name == project))
        if pid is None:
            raise UnknownThing(f"project {project!r}: not found")
    p = participant(s, ref, pid)
    if p.withdrawn_at is not None:
        raise InvalidRequest(
            f"participant {p.pseudonym!r}: withdrew on {p.withdrawn_at.date().isoformat()}; "
            "nothing is shown for review and no decisions are recorded"
        )
    return p


# ---------------------------------------------------------------------------------------------- conditions


def blur_condition(
    item: ReviewItem,
    box: tuple[float, float, float, float],
    *,
    kind: str = "blur",
    from_s: float = 0.0,
    to_s: float | None = None,
) -> dict[str, Any]:
    """A "blur me here" condition: a redaction condition over ``box`` (x, y, w, h as fractions of the picture) from
    ``from_s`` to ``to_s`` seconds of the clip (default: all of it), in the recording's time as conditions
    are stored."""
    a = item.start_s + max(0.0, from_s)
    b = item.end_s if to_s is None else min(item.end_s, item.start_s + to_s)
    x, y, w, h = (round(float(v), 4) for v in box)
    return {
        "kind": "redact",
        "redaction": {"kind": kind, "start": a, "end": b, "keyframes": [{"t": a, "x": x, "y": y, "w": w, "h": h}]},
    }


def not_after_condition(until: date) -> dict[str, Any]:
    return {"kind": "not_after", "date": until.isoformat()}


def internal_audience_condition() -> dict[str, Any]:
    return {"kind": "audience", "within": "authority"}


# ---------------------------------------------------------------------------------------------- previews


def preview_dir() -> Path:
    """The private folder previews are kept in (created 0700; refused if it is not ours or not a folder).

    Raises:
        PreviewFailed: the folder exists but is a link, not a folder, or belongs to someone else.
    """
    d = cache.cache_dir() / PREVIEWS
    d.mkdir(mode=0o700, exist_ok=True)
    st = d.lstat()
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        raise PreviewFailed("the review previews folder is not safe to use; tell the researcher", detail=str(d))
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(d, 0o700)
    return d


def render_preview(
    store: Store,
    participant_ref: str | int,
    version_hash: str,
    *,
    project: str | None = None,
    clip_id: int | None = None,
    on_progress: Callable[[float, float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The preview of a clip version the participant is present in, rendered as the gate would export it
    (``consent.export.gate.export_spec``) and watermarked ``PREVIEW_MARK``; from the cache when it was rendered
    before. ``on_progress(done, total)`` is called in seconds of output; ``cancel`` stops a render.
    Audited as "participant reviewed version".

    Raises:
        UnknownThing: no such participant (or project).
        InvalidRequest: the participant has withdrawn, or ``version_hash`` is not the current version of a
            clip they are present in (``clip_id`` narrows which clip).
        PreviewFailed: the recording is missing or changed, or the render failed (the message names no
            file; ``detail`` does, for the log).
        Cancelled: ``cancel`` was set; nothing is left behind.
    """
    if len(version_hash) != 64 or any(ch not in "0123456789abcdef" for ch in version_hash):
        raise InvalidRequest(f"version {version_hash[:16]!r}: give the whole version hash (64 hex digits)")
    with store.session() as s:
        p = _participant(s, participant_ref, project)
        pid, pseudonym = p.id, p.pseudonym
        q = (
            select(ClipVersion, Clip)
            .join(Presence, Presence.clip_version_id == ClipVersion.id)
            .join(Clip, Clip.id == ClipVersion.clip_id)
            .where(ClipVersion.version_hash == version_hash, Presence.participant_id == pid)
            .order_by(Clip.id)
        )
        if clip_id is not None:
            q = q.where(Clip.id == clip_id)
        # the recording's path through the database's own rule (a station role may not read the recording
        # table; it is given the path of its participant's current versions only)
        found = [
            (v, access.recording_source(s, v.id)) for v, c in s.execute(q).all() if current_version(s, c).id == v.id
        ]
    if not found:
        raise InvalidRequest(
            f"version {version_hash[:12]}: not the current version of a clip {pseudonym!r} is present in"
        )
    v, recording_path = found[0]
    if recording_path is None:
        raise PreviewFailed(
            f"clip {v.clip_id}: cannot be shown at this station; tell the researcher",
            detail="the database did not release the recording's path to this role",
        )
    try:
        spec = export_spec(v, recording_path, PREVIEW_MARK, store=store)
    except InvalidRequest as exc:
        log.warning("review preview of clip %s version %s: %s", v.clip_id, v.number, exc.message)
        raise PreviewFailed(
            f"clip {v.clip_id}: cannot be shown now (its recording is missing or has changed); tell the researcher",
            detail=exc.message,
        ) from exc
    folder = preview_dir()
    # named by what is rendered: a sensitive identifier confirmed since the last preview makes a new one
    target = folder / f"{v.version_hash}-{spec.version_hash(v.source_sha256)[:16]}.mp4"
    if not target.is_file():
        _render_private(spec, target, on_progress, cancel, v.clip_id)
    _audit_review(store, pid, v.clip_id, v.version_hash)
    return target


def _render_private(
    spec: Any,
    target: Path,
    on_progress: Callable[[float, float], None] | None,
    cancel: threading.Event | None,
    clip_id: int,
) -> None:
    """Render to a private temporary name, make it owner-only, then give it its name (so a preview is
    never seen half-written or readable by others)."""
    tmp = target.parent / f".render-{secrets.token_hex(6)}.mp4"

    def progress(p: Progress) -> None:
        if on_progress is not None:
            on_progress(p.done, p.total)

    try:
        render(spec, tmp, progress=progress, cancel=cancel)
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"clip {clip_id}: preview cancelled")
        os.chmod(tmp, 0o600)
        replace_durably(tmp, target)
    except Cancelled:
        raise
    except MediaError as exc:
        log.warning("review preview of clip %s: %s", clip_id, exc)
        raise PreviewFailed(
            f"clip {clip_id}: the preview could not be made; tell the researcher", detail=str(exc)
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _audit_review(store: Store, pid: int, clip_id: int, version_hash: str) -> None:
    def do(s: Session) -> None:
        audit.append(s, "version_reviewed", {"version": version_hash}, participant_id=pid, clip_id=clip_id)

    write(store, do)


def clear_previews() -> int:
    """Delete every preview (and any half-made one); returns how many files went. Called when a station
    is left, and when one opens (a station that crashed may have left some)."""
    d = cache.cache_dir() / PREVIEWS
    if not d.is_dir() or d.is_symlink():
        return 0
    n = 0
    for f in d.iterdir():
        if f.is_file() or f.is_symlink():
            f.unlink(missing_ok=True)
            n += 1
    return n
