"""Participants (the filmed staff) and where they appear: the project's policy on real names, adding and
changing participants, and their appearances in recordings.

An appearance (from a document's participants tier, or added by hand) makes the person present in every
current clip version it overlaps: from then on their consent is needed for that clip. Every change is one
transaction with its audit entry (``consent.rows.write``); the log never keeps a real name or contact.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.elan import PARTICIPANTS_TIER, is_participants_tier
from annotation.store import Document, Recording, Store, get_or_not_found
from consent import audit
from consent.errors import InvalidRequest, UnknownThing
from consent.models import Appearance, Clip, ConsentPolicy, Participant, Presence
from consent.rows import check_length, current_version, find_project, participant, write


def set_policy(store: Store, project: str, *, keep_real_names: bool) -> None:
    def do(s: Session) -> None:
        p = find_project(s, project, create=True)
        pol = s.get(ConsentPolicy, p.id) or ConsentPolicy(project_id=p.id)
        pol.keep_real_names = keep_real_names
        s.add(pol)
        if not keep_real_names:
            for part in s.scalars(select(Participant).where(Participant.project_id == p.id)):
                part.real_name = None
        audit.append(s, "policy_changed", {"project": p.name, "keep_real_names": keep_real_names})

    write(store, do)


def add_participant(
    store: Store,
    project: str,
    pseudonym: str,
    *,
    real_name: str | None = None,
    role: str | None = None,
    contact: str | None = None,
) -> int:
    """Add a filmed member of staff; returns the id. A real name is kept only if the project says so.

    Raises:
        InvalidRequest: an empty or taken pseudonym, or a real name the project does not keep.
    """
    pseudonym = _check_pseudonym(pseudonym)
    for what, value in (("real_name", real_name), ("role", role), ("contact", contact)):
        check_length(what, value)

    def do(s: Session) -> int:
        p = find_project(s, project, create=True)
        if real_name and not _keeps_real_names(s, p.id):
            raise InvalidRequest(
                f"project {p.name!r}: does not keep real names (frontdoor participant policy --keep-real-names yes)"
            )
        if s.scalar(select(Participant.id).where(Participant.project_id == p.id, Participant.pseudonym == pseudonym)):
            raise InvalidRequest(f"participant {pseudonym!r}: already in project {p.name!r}")
        part = Participant(
            project_id=p.id, pseudonym=pseudonym, real_name=real_name or None, role=role, contact=contact
        )
        s.add(part)
        s.flush()
        # the log keeps no real name or contact: it is never deleted, they may have to be
        audit.append(
            s,
            "participant_added",
            {"pseudonym": pseudonym, "real_name_kept": bool(real_name), "contact_kept": bool(contact)},
            participant_id=part.id,
        )
        return part.id

    return write(store, do)


def _check_pseudonym(text: str | None) -> str:
    name = (text or "").strip()
    if not name:
        raise InvalidRequest("participant: the pseudonym is empty")
    check_length("pseudonym", name)
    if name.isdigit():
        raise InvalidRequest(f"participant {name!r}: a pseudonym needs a letter (numbers are participant ids)")
    return name


def keeps_real_names(store: Store, project: str) -> bool:
    """Whether the project keeps participants' real names (``set_policy``).

    Raises:
        UnknownThing: no such project.
    """
    with store.session() as s:
        return _keeps_real_names(s, find_project(s, project).id)


def _keeps_real_names(s: Session, project_id: int) -> bool:
    pol = s.get(ConsentPolicy, project_id)
    return bool(pol and pol.keep_real_names)


def edit_participant(store: Store, ref: str | int, **changes: str | None) -> None:
    """Change pseudonym, real name, role or contact.

    Raises:
        UnknownThing, InvalidRequest.
    """
    allowed = {"pseudonym", "real_name", "role", "contact"}
    bad = set(changes) - allowed
    if bad:
        raise InvalidRequest(f"participant: cannot change {', '.join(sorted(bad))}")

    def do(s: Session) -> None:
        part = participant(s, ref)
        if changes.get("real_name") and not _keeps_real_names(s, part.project_id):
            raise InvalidRequest("participant: this project does not keep real names")
        if "pseudonym" in changes:
            new = _check_pseudonym(changes["pseudonym"])
            clash = s.scalar(
                select(Participant.id).where(
                    Participant.project_id == part.project_id, Participant.pseudonym == new, Participant.id != part.id
                )
            )
            if clash:
                raise InvalidRequest(f"participant {new!r}: already in this project")
            changes["pseudonym"] = new
        for k, v in changes.items():
            check_length(k, v)
            setattr(part, k, v)
        shown = {k: (v if k in ("pseudonym", "role") else "(changed)") for k, v in changes.items()}
        audit.append(s, "participant_changed", shown, participant_id=part.id)

    write(store, do)


def list_participants(store: Store, project: str | None = None) -> list[Participant]:
    with store.session() as s:
        q = select(Participant).order_by(Participant.project_id, Participant.pseudonym)
        if project is not None:
            q = q.where(Participant.project_id == find_project(s, project).id)
        return list(s.scalars(q))


# ---------------------------------------------------------------------------------------------- appearances


def appearances_from_tier(store: Store, doc_id: int, *, tier: str = PARTICIPANTS_TIER) -> int:
    """Replace the appearances taken from ``doc_id``'s participants tiers (values are pseudonyms); returns
    how many there are now. By default these are the Participants tier and every person's own tier
    (``Participants: <pseudonym>``, ELAN's tier per participant); ``tier`` names another one.

    Raises:
        UnknownThing: the document has no recording or no such tier, or names an unknown participant.
    """
    from annotation.services import document_display

    display = document_display(store, doc_id)
    tiers = [t for t in display if is_participants_tier(t)] if tier == PARTICIPANTS_TIER else [tier]
    if not tiers or tiers[0] not in display:
        raise UnknownThing(f"document {doc_id}: no tier {tier!r}")
    segments = [seg for t in tiers for seg in display[t] if seg.value.strip()]

    def do(s: Session) -> int:
        doc = s.get(Document, doc_id)
        if doc is None or doc.recording_id is None:
            raise UnknownThing(f"document {doc_id}: not linked to a recording (new-document --recording ID)")
        rec = s.get(Recording, doc.recording_id)
        assert rec is not None
        ids: dict[str, int] = {}
        for seg in segments:
            name = seg.value.strip()
            if name not in ids:
                pid = s.scalar(
                    select(Participant.id).where(
                        Participant.project_id == rec.project_id, Participant.pseudonym == name
                    )
                )
                if pid is None:
                    raise UnknownThing(
                        f"document {doc_id}: tier {seg.tier_id!r} names {name!r}, who is not a participant "
                        "(add them first)"
                    )
                ids[name] = pid
        old = s.scalars(select(Appearance).where(Appearance.document_id == doc_id, Appearance.origin == "tier"))
        for a in old:
            s.delete(a)
        shift = int(doc.media_origin_ms or 0)  # the tier's times are the document's; appearances the recording's
        for seg in segments:
            s.add(
                Appearance(
                    participant_id=ids[seg.value.strip()],
                    recording_id=rec.id,
                    start_ms=seg.start + shift,
                    end_ms=seg.end + shift,
                    origin="tier",
                    document_id=doc_id,
                )
            )
            _present_in_current_versions(s, rec.id, ids[seg.value.strip()], seg.start + shift, seg.end + shift)
        audit.append(s, "appearances_imported", {"document": doc_id, "recording": rec.id, "count": len(segments)})
        return len(segments)

    return write(store, do)


def add_appearance(store: Store, who: str | int, recording_id: int, start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise InvalidRequest(f"appearance: end {end_ms} ms is not after start {start_ms} ms")

    def do(s: Session) -> None:
        part = participant(s, who)
        rec = get_or_not_found(
            s, Recording, recording_id, "recording", message=f"recording {recording_id}: not found", error=UnknownThing
        )
        if rec.project_id != part.project_id:
            raise InvalidRequest(f"participant {part.pseudonym!r}: recording {rec.id} belongs to another project")
        s.add(
            Appearance(participant_id=part.id, recording_id=rec.id, start_ms=start_ms, end_ms=end_ms, origin="manual")
        )
        _present_in_current_versions(s, rec.id, part.id, start_ms, end_ms)
        audit.append(
            s, "appearance_added", {"recording": rec.id, "start_ms": start_ms, "end_ms": end_ms}, participant_id=part.id
        )

    write(store, do)


def _present_in_current_versions(s: Session, recording_id: int, pid: int, start_ms: int, end_ms: int) -> None:
    """Someone newly known to appear is present in every current clip version that overlaps: their consent
    is needed from now on."""
    for c in s.scalars(select(Clip).where(Clip.recording_id == recording_id)):
        v = current_version(s, c)
        lo, hi = round(float(v.spec["start"]) * 1000), round(float(v.spec["end"]) * 1000)
        if end_ms > lo and start_ms < hi and s.get(Presence, (v.id, pid)) is None:
            s.add(Presence(clip_version_id=v.id, participant_id=pid, origin="appearances"))
            s.flush()
            audit.append(
                s, "presence_added", {"version": v.version_hash, "from": "appearance"}, participant_id=pid, clip_id=c.id
            )
