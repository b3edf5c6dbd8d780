"""Decisions: what a participant says about a clip's current version, per use (scope), with conditions.

A decision is never undone or changed: a correction is a new decision, and the latest one for (version,
participant, scope) is the one that counts (``consent.usability``). A condition that changes the edit
("blur my face") makes a new version carrying it, which everyone present must consent to afresh. A
decision from a paper form is entered only while the clip versions printed on it are still current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Recording, Store
from consent import audit, conditions, scopes
from consent.anchors import Head, current_head
from consent.clips import VersionInfo, new_version
from consent.errors import InvalidRequest, UnknownThing
from consent.models import Clip, Decision, Participant, Presence
from consent.rows import clip, current_version, participant, version_spec, write

DECISIONS = ("granted", "withheld")
METHODS = ("in_app", "paper_form")


@dataclass(frozen=True)
class Recorded:
    decision_id: int
    new_version: VersionInfo | None
    entry_id: int = 0  # its audit entry
    head: Head | None = None  # the chain's head once it was recorded (for the person's receipt)


def record_decision(
    store: Store,
    clip_ref: str | int,
    who: str | int,
    scope: str,
    decision: str,
    *,
    condition_texts: Sequence[str] = (),
    structured: Sequence[dict[str, Any]] = (),
    method: str = "in_app",
    form_reference: str | None = None,
    version_hash: str | None = None,
) -> Recorded:
    """Record one participant's decision on a clip's current version for one scope.

    A condition that changes the edit ("blur my face") makes a new version carrying it; that version needs
    everyone's consent afresh (the decision stays on the version it was made on, where it is not met).

    Raises:
        UnknownThing: an unknown clip, participant or scope.
        InvalidRequest: the participant is not in the clip or has withdrawn, the version named is
            superseded, a withheld decision with conditions, a paper form without its reference.
    """
    done = record_decisions(
        store,
        clip_ref,
        who,
        [ScopeDecision(scope, decision, tuple(structured), tuple(condition_texts))],
        method=method,
        form_reference=form_reference,
        version_hash=version_hash,
    )
    return Recorded(done.decision_ids[0], done.new_version, done.entry_ids[0], done.head)


@dataclass(frozen=True)
class ScopeDecision:
    """One use decided: ``conditions`` as structured objects (``consent.conditions``) and/or ``texts`` in
    their command-line form."""

    scope: str
    decision: str
    conditions: tuple[dict[str, Any], ...] = ()
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedSet:
    decision_ids: tuple[int, ...]  # in the order the decisions were given
    new_version: VersionInfo | None
    entry_ids: tuple[int, ...] = ()  # their audit entries, in the same order
    head: Head | None = None  # the chain's head once they were recorded: what the person's receipt carries


def record_decisions(
    store: Store,
    clip_ref: str | int,
    who: str | int,
    decisions: Sequence[ScopeDecision],
    *,
    method: str = "in_app",
    form_reference: str | None = None,
    version_hash: str | None = None,
) -> RecordedSet:
    """Record one participant's decisions for several scopes on a clip's current version, all or none, in
    one transaction (what a person says at a review station about one clip is one act).

    Every decision lands on the same version. Conditions that change the edit (from any of the decisions,
    each once) make one new version carrying them all, which everyone present must consent to afresh.

    Raises:
        UnknownThing: an unknown clip, participant or scope.
        InvalidRequest: no decisions or one scope twice, the participant is not in the clip or has
            withdrawn, the version named is superseded, a withheld decision with conditions, a paper form
            without its reference.
    """
    if not decisions:
        raise InvalidRequest("no decision given")
    seen = [scopes.check(d.scope) for d in decisions]
    if len(set(seen)) != len(seen):
        raise InvalidRequest("each use (scope) may be decided once per recording of decisions")
    for d in decisions:
        if d.decision not in DECISIONS:
            raise InvalidRequest(f"decision {d.decision!r}: use granted or withheld")
        if d.decision == "withheld" and (d.texts or d.conditions):
            raise InvalidRequest("a withheld decision takes no conditions")
    if method not in METHODS:
        raise InvalidRequest(f"method {method!r}: use in_app or paper_form")
    if method == "paper_form" and not (form_reference or "").strip():
        raise InvalidRequest("a decision from a paper form needs the form's reference (--form-ref)")
    if version_hash is not None and (len(version_hash) < 8 or any(ch not in "0123456789abcdef" for ch in version_hash)):
        raise InvalidRequest(f"version {version_hash!r}: give at least 8 hex digits of the version hash")

    with store.session() as s:
        c = clip(s, clip_ref)
        v = current_version(s, c)
        # conditions are checked against the edit, never the file: no recording path is read (a review
        # station may not read it)
        spec = version_spec(v, "-")
    parsed: list[tuple[ScopeDecision, list[dict[str, Any]]]] = []
    for d in decisions:
        conds = [conditions.parse(t, spec) for t in d.texts] + [dict(x) for x in d.conditions]
        for cond in conds:
            conditions.validate(cond, spec)
        parsed.append((d, conds))

    def do(s: Session) -> RecordedSet:
        c = clip(s, clip_ref)
        v = current_version(s, c)
        if version_hash is not None and not v.version_hash.startswith(version_hash):
            matches = [x for x in c.versions if x.version_hash.startswith(version_hash)]
            if not matches:
                raise UnknownThing(f"clip {c.id}: no version {version_hash!r}")
            old = matches[0]
            raise InvalidRequest(
                f"clip {c.id}: version {old.number} is superseded by version {v.number}; decide on the current version"
            )
        p = participant(s, who, c.project_id)
        if p.withdrawn_at is not None:
            raise InvalidRequest(f"participant {p.pseudonym!r}: has withdrawn; no further decisions are recorded")
        if s.get(Presence, (v.id, p.id)) is None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: is not present in clip {c.id} version {v.number} "
                "(frontdoor clip presence)"
            )
        if method == "paper_form":
            _check_form_reference(s, p, str(form_reference))
        ids: list[int] = []
        entry_ids: list[int] = []
        changing: list[dict[str, Any]] = []
        for want, conds in parsed:
            d = Decision(
                clip_version_id=v.id,
                participant_id=p.id,
                scope=want.scope,
                decision=want.decision,
                conditions=conds,
                method=method,
                form_reference=form_reference,
                recorded_by=audit.actor(),
            )
            s.add(d)
            s.flush()
            entry = audit.append(
                s,
                "decision",
                {
                    "decision_id": d.id,
                    "version": v.version_hash,
                    "scope": want.scope,
                    "decision": want.decision,
                    "conditions": conds,
                    "method": method,
                    # the reference may name a scanned file: the permanent log keeps only its fingerprint
                    "form_reference_sha256": hashlib.sha256(form_reference.encode()).hexdigest()
                    if form_reference
                    else None,
                },
                participant_id=p.id,
                clip_id=c.id,
            )
            ids.append(d.id)
            entry_ids.append(entry.id)
            changing += [
                x
                for x in conds
                if conditions.changes_edit(x) and not conditions.met_by_spec(x, spec) and x not in changing
            ]
        new = None
        if changing:
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            new_spec = version_spec(v, rec.abs_path)
            for x in changing:
                new_spec = conditions.apply(x, new_spec)
            prev_presence = {
                row.participant_id: row.origin
                for row in s.scalars(select(Presence).where(Presence.clip_version_id == v.id))
            }
            present = {k for k, o in prev_presence.items() if o == "appearances"}
            manual = {k for k, o in prev_presence.items() if o == "manual"}
            new = new_version(
                s,
                c,
                rec,
                new_spec,
                f"condition of {p.pseudonym}: " + "; ".join(map(conditions.describe, changing)),
                present,
                manual,
            )
        return RecordedSet(tuple(ids), new, tuple(entry_ids), current_head(s))

    return write(store, do)


def _check_form_reference(s: Session, p: Participant, reference: str) -> None:
    """A paper form's reference names the clip versions printed on it: the decision it carries is only
    entered while those are still the current versions (else the person would consent to an edit they
    never saw)."""
    from consent.form_reference import form_reference

    hashes = []
    for c in s.scalars(select(Clip).where(Clip.project_id == p.project_id)):
        v = current_version(s, c)
        if s.get(Presence, (v.id, p.id)) is not None:
            hashes.append(v.version_hash)
    expected = form_reference(p.id, hashes)
    if reference.strip().upper() != expected:
        raise InvalidRequest(
            f"form {reference}: does not match the clips as they are now ({expected}); "
            "a clip was edited or added since it was printed: print a new form (frontdoor consent form)"
        )
