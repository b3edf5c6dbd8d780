"""Whose face a track is, and the redactions that blur a person through their face tracks.

A track found by ``frontdoor faces detect`` is assigned to a participant of the recording's project
(recorded in the audit log: it decides what the export gate checks). :func:`face_redactions` turns a
person's tracks inside a clip into keyframed blur redactions, noted ``face of participant N`` (see
:func:`consent.conditions.face_note`), and :func:`blur_faces` makes a clip's new version with them, replacing
that person's older face redactions. The gate then checks that every frame of those tracks inside the clip is
covered and none is uncertain (``consent.export.face_coverage``).

:func:`blur_withheld` makes, where the project allows it, a new version of a clip with the people who withheld
their consent on its current version blurred through their tracks: a new version, on which everyone in it
(those people too) decides afresh. Only the face is blurred: their voice is not changed. Whether the project
allows it is a stored setting of the project (``consent_policy.blur_withheld``), changed by a researcher
with :func:`set_blur_withheld` (audited with the reason) and read by :func:`blur_withheld_allowed`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.errors import NotFound
from annotation.faces import current_scan, participant_tracks, read_track, set_participant, track_recording
from annotation.store import Project, Recording, Store, get_or_not_found
from consent import audit, scopes
from consent.clips import VersionInfo, edit_clip
from consent.conditions import face_note
from consent.errors import InvalidRequest, UnknownThing
from consent.models import ConsentPolicy, Presence
from consent.rows import clip, current_version, find_project, participant, write
from consent.server import access
from consent.usability import latest_decisions
from media_tools.faces import track_redactions
from media_tools.spec import BoxKind


@dataclass(frozen=True)
class Assigned:
    track_id: int
    participant_id: int | None
    pseudonym: str | None


def assign_track(store: Store, track_id: int, who: str | int | None) -> Assigned:
    """Say whose face a track is (``who`` None: nobody's), in the audit log too.

    Raises:
        UnknownThing: no such track or participant, or the participant is not of the recording's project.
    """

    def do(s: Session) -> Assigned:
        try:
            sha = track_recording(s, track_id)
            before = read_track(s, track_id).participant_id
        except NotFound as exc:
            raise UnknownThing(f"face track {track_id}: not found (see 'frontdoor faces tracks RECORDING')") from exc
        projects = set(s.scalars(select(Recording.project_id).where(Recording.sha256 == sha)))
        if who is None:
            set_participant(s, track_id, None)
            if before is not None:
                audit.append(s, "face_track_unassigned", {"track": track_id, "recording_sha256": sha},
                             participant_id=before)  # fmt: skip
            return Assigned(track_id, None, None)
        p = participant(s, who)
        if p.project_id not in projects:
            raise UnknownThing(
                f"participant {p.pseudonym!r}: is not in the project of face track {track_id}'s recording"
            )
        set_participant(s, track_id, p.id)
        audit.append(
            s, "face_track_assigned", {"track": track_id, "recording_sha256": sha, "was": before}, participant_id=p.id
        )
        return Assigned(track_id, p.id, p.pseudonym)

    return write(store, do)


def face_redactions(
    s: Session, recording_id: int, participant_id: int, start: float, end: float, *, kind: BoxKind = "blur"
) -> list[dict[str, Any]]:
    """Redactions (edit-spec dicts) blurring a participant's face tracks inside [start, end) s of a recording.

    Raises:
        InvalidRequest: the recording's faces were never detected, or none of the person's tracks lies in the range.
    """
    rec = get_or_not_found(s, Recording, recording_id, "recording", error=UnknownThing)
    scan = current_scan(s, rec.sha256)
    if scan is None:
        raise InvalidRequest(
            f"recording {recording_id}: faces not detected yet (frontdoor faces detect {recording_id})"
        )
    note = face_note(participant_id)
    out = []
    for t in participant_tracks(s, rec.sha256, participant_id):
        for r in track_redactions(t.frames, start, end, scan.frame_ms / 1000, kind=kind, note=note):
            out.append({
                "kind": r.kind, "start": r.start, "end": r.end, "note": note,
                "keyframes": [{"t": k.t, "x": k.x, "y": k.y, "w": k.w, "h": k.h} for k in r.keyframes],
            })  # fmt: skip
    if not out:
        p = participant(s, participant_id)
        raise InvalidRequest(
            f"participant {p.pseudonym!r}: no face track assigned in {start:g}-{end:g} s of recording {recording_id} "
            "(frontdoor faces tracks, then frontdoor faces assign)"
        )
    return out


def with_faces_blurred(
    s: Session, recording_id: int, redactions: Sequence[dict[str, Any]], who: Sequence[str | int], start: float,
    end: float, *, kind: BoxKind = "blur",
) -> list[dict[str, Any]]:  # fmt: skip
    """``redactions`` without the named people's older face redactions, plus new ones from their tracks."""
    rec = get_or_not_found(s, Recording, recording_id, "recording", error=UnknownThing)
    ids = [participant(s, w, rec.project_id).id for w in who]
    notes = {face_note(i) for i in ids}
    out = [dict(r) for r in redactions if r.get("note") not in notes]
    for i in ids:
        out += face_redactions(s, recording_id, i, start, end, kind=kind)
    return out


def blur_faces(
    store: Store,
    clip_ref: str | int,
    who: Sequence[str | int],
    *,
    start: float | None = None,
    end: float | None = None,
    kind: BoxKind = "blur",
) -> VersionInfo:
    """A new version of a clip with the named participants' faces blurred through their face tracks (their
    older face redactions replaced), optionally re-cut to ``start``/``end``.

    Raises:
        UnknownThing, InvalidRequest: an unknown clip or participant, faces not detected, no track in the clip.
    """
    with store.session() as s:
        c = clip(s, clip_ref)
        v = current_version(s, c)
        a = float(v.spec["start"]) if start is None else start
        b = float(v.spec["end"]) if end is None else end
        reds = with_faces_blurred(s, c.recording_id, v.spec.get("redactions", []), who, a, b, kind=kind)
        names = ", ".join(participant(s, w, c.project_id).pseudonym for w in who)
    return edit_clip(
        store, clip_ref, start=start, end=end, extra={"redactions": reds}, reason=f"face of {names} blurred"
    )


@dataclass(frozen=True)
class BlurredWithheld:
    version: VersionInfo
    blurred: tuple[str, ...]  # the pseudonyms of those who withheld, now blurred (their voices are not changed)


SETTING = "blur-withheld"
MAX_REASON = 500


def set_blur_withheld(store: Store, project: str, allowed: bool, *, reason: str) -> bool:
    """Store whether the project's ethics approval allows offering someone who withheld a version of a clip
    with their face blurred (``frontdoor clip blur-withheld``). A researcher's change, audited
    (``policy_changed``) with the reason. Returns whether it changed.

    Raises:
        UnknownThing: no such project.
        InvalidRequest: no reason, a reason over 500 characters, or a role other than a researcher.
    """
    why = " ".join((reason or "").split())
    if not why:
        raise InvalidRequest(f"project {project!r}: say why the setting {SETTING} changes (--reason)")
    if len(why) > MAX_REASON:
        raise InvalidRequest(f"project {project!r}: the reason is longer than {MAX_REASON} characters")

    with store.session() as s:  # before the write lock, which some roles may not even take
        if not access.reads_everything(s):
            raise InvalidRequest(
                f"project {project!r}: only a researcher may change {SETTING} "
                f"(connected as {access.caller_kind(s) or 'an unknown role'})"
            )

    def do(s: Session) -> bool:
        p = find_project(s, project)
        pol = s.get(ConsentPolicy, p.id) or ConsentPolicy(project_id=p.id, keep_real_names=False)
        if bool(pol.blur_withheld) == allowed and pol in s:
            return False
        pol.blur_withheld = allowed
        s.add(pol)
        s.flush()
        audit.append(s, "policy_changed", {"project": p.name, "blur_withheld": allowed, "reason": why})
        return True

    return write(store, do)


def blur_withheld_allowed(store: Store, project: str) -> bool:
    """Whether the project allows offering someone who withheld a version with their face blurred.

    Raises:
        UnknownThing: no such project.
    """
    with store.session() as s:
        return _allowed(s, find_project(s, project).id)


def _allowed(s: Session, project_id: int) -> bool:
    pol = s.get(ConsentPolicy, project_id)
    return bool(pol is not None and pol.blur_withheld)


def blur_withheld(store: Store, clip_ref: str | int, *, scope: str | None = None) -> BlurredWithheld:
    """A new version of a clip with everyone who withheld ``scope`` (or a narrower use; any use when None) on
    its current version blurred through their face tracks. It is a new version like any other: nobody's
    decision carries over to it, the people blurred decide on it too. Only where the clip's project allows it
    (:func:`set_blur_withheld`).

    Raises:
        InvalidRequest: the project does not allow it, nobody withheld, a person who withheld has no face track
            assigned in the clip (or the faces were never detected).
        UnknownThing: an unknown clip or scope.
    """
    want = None if scope is None else scopes.rank(scope)
    with store.session() as s:
        c = clip(s, clip_ref)
        if not _allowed(s, c.project_id):
            name = get_or_not_found(s, Project, c.project_id, "project").name
            raise InvalidRequest(
                f"clip {c.id}: project {name!r} does not allow offering a blurred version to someone who withheld "
                f"(setting {SETTING}: frontdoor project set-blur-withheld {shlex.quote(name)} on --reason TEXT)"
            )
        v = current_version(s, c)
        present = set(s.scalars(select(Presence.participant_id).where(Presence.clip_version_id == v.id)))
        # the latest decision per (person, use) counts: a use withheld and granted since is not withheld
        who = sorted(
            (participant(s, pid).pseudonym, pid)
            for pid in {
                pid
                for (pid, sc), d in latest_decisions(s, v.id).items()
                if d.decision == "withheld" and pid in present and (want is None or scopes.rank(sc) <= want)
            }
        )
        if not who:
            use = f" {scope}" if scope else ""
            raise InvalidRequest(f"clip {c.id}: nobody withheld{use} on version {v.number}: nothing to blur")
        a, b = float(v.spec["start"]), float(v.spec["end"])
        reds = with_faces_blurred(s, c.recording_id, v.spec.get("redactions", []), [p for _, p in who], a, b)
        names = tuple(n for n, _ in who)
        number = v.number
    info = edit_clip(
        store,
        clip_ref,
        extra={"redactions": reds},
        reason=f"face of {', '.join(names)} blurred (withheld on version {number}; the project allows it)",
    )
    return BlurredWithheld(info, names)
