"""The gate's check of face redactions: before a clip version is rendered, every frame of a redacted person's
face tracks inside the clip must be covered by a redaction of the version, and none may be uncertain.

A person is redacted through their tracks when the version's edit carries redactions noted as their face
(``consent.conditions.face_note``, made by ``frontdoor clip create/edit --blur-face``). A track fixed or
extended since the version was made, an uncertain frame nobody confirmed, or a scan made again stops the
export of that clip with one line naming the person, the track and the frames.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.faces import current_scan, participant_tracks
from annotation.store import Recording
from consent.errors import InvalidRequest
from consent.models import Clip, ClipVersion, Participant
from media_tools.faces import uncovered_runs
from media_tools.spec import EditSpec

_NOTE = re.compile(r"^face of participant (\d+)$")


def redacted_people(spec: EditSpec) -> list[int]:
    """The participants whose faces the edit blurs through their tracks."""
    found = {int(m.group(1)) for r in spec.redactions if r.note and (m := _NOTE.match(r.note))}
    return sorted(found)


def check_face_coverage(s: Session, v: ClipVersion, spec: EditSpec) -> None:
    """Refuse a version whose face redactions do not cover its redacted people's tracks on every frame.

    Raises:
        InvalidRequest: one line naming the first person, track and frame range that stops the export.
    """
    people = redacted_people(spec)
    if not people:
        return
    # the recording's id and fingerprint only: a presenter may not read where the file is
    found = s.execute(
        select(Clip.id, Recording.id, Recording.sha256)
        .join(Recording, Recording.id == Clip.recording_id)
        .where(Clip.id == v.clip_id)
    ).first()
    if found is None:
        raise InvalidRequest(f"clip {v.clip_id}: its recording is not in the store")
    clip_id, rec_id, sha = found
    scan = current_scan(s, sha)
    for pid in people:
        name = s.scalar(select(Participant.pseudonym).where(Participant.id == pid)) or f"participant {pid}"
        tracks = participant_tracks(s, sha, pid) if scan is not None else []
        if not tracks:
            raise InvalidRequest(
                f"clip {clip_id}: the face of {name} is blurred through face tracks, but none is assigned to them "
                f"now (frontdoor faces tracks {rec_id})"
            )
        assert scan is not None
        frame_s = scan.frame_ms / 1000
        for t in tracks:
            runs = uncovered_runs(t.frames, spec.redactions, spec.start, spec.end, frame_s)
            if runs:
                r = runs[0]
                more = f" (and {len(runs) - 1} more ranges)" if len(runs) > 1 else ""
                fix = (
                    f"confirm or fix them (frontdoor faces confirm {t.number} {r.first} {r.last})"
                    if r.why == "uncertain"
                    else f"blur again: frontdoor clip edit {clip_id} --blur-face {name}"
                )
                raise InvalidRequest(
                    f"clip {clip_id}: the face of {name} (track {t.number}) is {r.why} on frames {r.first}-{r.last} "
                    f"({r.first_ms / 1000:.2f}-{r.last_ms / 1000:.2f} s){more}: {fix}"
                )
