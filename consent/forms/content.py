"""What a consent form says: the clips a participant is present in, what each shows, and the form's words.

A form lists the clips the participant is present in (the current version of each: a decision counts only
on the version it was made on), each with three stills (:mod:`consent.forms.stills`), what the edit does
to the picture and sound, and the decisions already recorded per use. It holds the participant's pseudonym
only, never a real name or contact, and of the other people in a clip only how many there are. The words
and time lines here are shared by the HTML page (:mod:`consent.forms.html_page`) and the PDF
(:mod:`consent.forms.pdf`), so both say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from annotation.store import Project, Recording, Store
from consent import conditions, scopes
from consent.anchors import current_head
from consent.errors import InvalidRequest
from consent.form_reference import form_reference
from consent.forms.stills import stills as stills_of
from consent.models import Clip, ClipVersion, Decision, Presence
from consent.rows import current_version, participant, version_spec
from consent.usability import latest_decisions
from media_tools.clock import clock_text
from media_tools.errors import ProbeError
from media_tools.probe import probe
from media_tools.spec import EditSpec


@dataclass(frozen=True)
class FormClip:
    """One clip on the form: its current version and what it shows."""

    clip_id: int
    name: str
    description: str | None
    version_number: int
    version_hash: str
    start: float
    """Seconds of the recording."""
    end: float
    duration: float
    recording_name: str
    shows: list[str]
    """Plain-language lines: how many others appear, what is blurred or bleeped, captions, title."""
    thumbnails: list[bytes]
    """JPEG stills at 10 %, 50 % and 90 % of the clip (none for a recording without picture)."""
    decisions: dict[str, str]
    """Per scope, the decision already recorded on this version: "granted", "granted with conditions: ...",
    "withheld", or "" when none."""


@dataclass(frozen=True)
class FormData:
    participant_id: int
    pseudonym: str
    project_name: str
    generated_on: date
    clips: list[FormClip]
    head: str = ""
    """The audit chain's head when the form was made (``ID:HASH``; empty for an empty log)."""

    @property
    def reference(self) -> str:
        return form_reference(self.participant_id, (c.version_hash for c in self.clips))


# ---------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class _Row:
    clip: Clip
    version: ClipVersion
    recording: Recording
    others: int
    decisions: dict[str, str]


def form_data(store: Store, participant_ref: str | int, *, on: date | None = None) -> FormData:
    """What the form for one participant shows: the current version of every clip they are present in.

    Raises:
        UnknownThing: no such participant.
        InvalidRequest: the participant has withdrawn, or a recording's media cannot be read for the stills.
    """
    with store.session() as s:
        p = participant(s, participant_ref)
        if p.withdrawn_at is not None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: withdrew on {p.withdrawn_at.date().isoformat()}; no form is made"
            )
        project = s.get(Project, p.project_id)
        assert project is not None
        clip_ids = set(
            s.scalars(
                select(ClipVersion.clip_id)
                .join(Presence, Presence.clip_version_id == ClipVersion.id)
                .where(Presence.participant_id == p.id)
            )
        )
        rows: list[_Row] = []
        for c in s.scalars(select(Clip).where(Clip.id.in_(clip_ids))):
            v = current_version(s, c)
            present = set(s.scalars(select(Presence.participant_id).where(Presence.clip_version_id == v.id)))
            if p.id not in present:
                continue  # present in an earlier version only
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            latest = latest_decisions(s, v.id)
            decided = {sc: _decision_text(latest[(p.id, sc)]) if (p.id, sc) in latest else "" for sc in scopes.SCOPES}
            rows.append(_Row(c, v, rec, len(present) - 1, decided))
        pid, pseudonym, project_name = p.id, p.pseudonym, project.name
        head = current_head(s)
    rows.sort(key=lambda r: (r.recording.id, float(r.version.spec["start"]), r.clip.id))
    clips = [_form_clip(r) for r in rows]
    return FormData(pid, pseudonym, project_name, on or date.today(), clips, head.text if head else "")


def _decision_text(d: Decision) -> str:
    if d.decision == "granted" and d.conditions:
        return "granted with conditions: " + "; ".join(conditions.describe(c) for c in d.conditions)
    return str(d.decision)


def _form_clip(r: _Row) -> FormClip:
    spec = version_spec(r.version, r.recording.abs_path)
    try:
        has_picture = probe(spec.source).has_video
        stills = stills_of(spec) if has_picture else []
    except ProbeError as exc:
        raise InvalidRequest(
            f"recording {r.recording.name!r}: {exc.message} (the form needs its stills; relink the recording)"
        ) from None
    return FormClip(
        clip_id=r.clip.id,
        name=r.clip.name,
        description=r.clip.description,
        version_number=r.version.number,
        version_hash=r.version.version_hash,
        start=spec.start,
        end=spec.end,
        duration=spec.duration,
        recording_name=r.recording.name,
        shows=_shows(spec, r.others, has_picture),
        thumbnails=stills,
        decisions=r.decisions,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _shows(spec: EditSpec, others: int, has_picture: bool) -> list[str]:
    """What the clip shows besides the participant, in words a participant reads without help."""
    out = [
        "no other member of staff appears"
        if others == 0
        else _count(others, "other member of staff appears", "other members of staff appear")
    ]
    if not has_picture:
        out.append("sound only (no picture)")
    bleeps = sum(1 for a in spec.audio if a.kind == "bleep")
    mutes = sum(1 for a in spec.audio if a.kind == "mute")
    if bleeps:
        out.append(_count(bleeps, "passage", "passages") + " bleeped (names of children or families)")
    if mutes:
        out.append(_count(mutes, "passage", "passages") + " muted")
    words = {"blur": "blurred", "pixelate": "pixelated", "box": "covered with a box"}
    for kind in ("blur", "pixelate", "box"):
        n = sum(1 for x in spec.redactions if x.kind == kind)
        if n:
            out.append(f"{_count(n, 'area', 'areas')} {words[kind]}")
    if not spec.redactions and not spec.audio:
        out.append("nothing is blurred or bleeped")
    if spec.captions is not None:
        out.append("captions shown" if spec.captions.mode == "burn" else "captions available (can be switched on)")
    if spec.title is not None:
        out.append(f"title: {spec.title.text}")
    if spec.watermark:
        out.append(f"watermark: {spec.watermark}")
    return out


# ---------------------------------------------------------------------------------------------- words

#: The form's title.
TITLE = "Consent to use video clips"
#: How to fill the form in, under its title.
HOW = (
    "Please look at each clip below and tick Granted or Withheld for each use. The uses run from the "
    "narrowest to the widest: granting a use also allows the uses above it, and withholding a use also rules "
    "out the uses below it. You may add conditions (for example: blur my face; not after a date; only "
    "audiences inside the authority). A use left blank is not allowed, unless you grant a use further down the "
    "list. You can withdraw at any time."
)
#: The label of the lines for conditions under each clip.
CONDITIONS = "Conditions, if any:"


def seconds_text(t: float) -> str:
    """Seconds as ``m:ss.s`` (or ``h:mm:ss.s``), to the nearest tenth (half to even, as ``round`` does)."""
    return clock_text(round(t * 10) * 100, digits=1, hours="auto", rounding="nearest")


def when_text(c: FormClip) -> str:
    """Where the clip is in its recording, and how long it is."""
    return f"{seconds_text(c.start)} to {seconds_text(c.end)} of {c.recording_name} ({c.duration:.1f} s)"


def version_text(c: FormClip) -> str:
    """The clip version the form shows, with the start of its hash."""
    return f"version {c.version_number} ({c.version_hash[:12]})"


def recorded_text(text: str) -> str:
    """A decision already recorded for a use, or "none yet"."""
    return text or "none yet"


def recording_groups(clips: Sequence[FormClip]) -> list[list[FormClip]]:
    """Clips by recording, in form order (each group starts a printed page)."""
    out: list[list[FormClip]] = []
    for c in clips:
        if out and out[-1][0].recording_name == c.recording_name:
            out[-1].append(c)
        else:
            out.append([c])
    return out
