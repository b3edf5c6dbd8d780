"""The audit log: every consent event appended, hash-chained, never changed.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields (id, time, actor,
event, participant, clip, canonical JSON payload). The first entry follows ``GENESIS``. ``verify`` walks
the log in id order and names the first entry whose hash or link does not check out: an edited row breaks
its own hash, a deleted one breaks the next link, one inserted out of order breaks both. Database
triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so tampering needs to go around Frontdoor.

A chain alone cannot show that its tail was cut: every committed head is also anchored outside the store
(:mod:`consent.anchors`), and ``check_anchors`` names an anchored entry that is gone or whose hash differs.
On PostgreSQL the server keeps every head as well, in a table no application role may change
(:mod:`consent.server_anchors`). A rollback (a store restored from an older backup) that was meant is
acknowledged by a ``rollback_acknowledged`` entry (recorded in the server's anchor table too, where roles that
may not read the log read it): anchors of the entries it lost are then excused, and listed.

``UNIQUE(prev_hash)`` makes two concurrent appends that read the same head collide; the loser's whole
transaction is retried by ``consent.rows.write``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from consent import anchors, server_anchors
from consent.models import AuditEntry, ClipVersion, Decision, Participant, Presence

GENESIS = "0" * 64


def actor() -> str:
    """Who is doing this: ``FRONTDOOR_USER``, else the operating-system user (at most 200 characters)."""
    env = os.environ.get("FRONTDOOR_USER")
    if env:
        return env[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev: str, id_: int, at: str, who: str, event: str, participant: int | None, clip: int | None, payload: str
) -> str:
    text = "\n".join([prev, str(id_), at, who, event, str(participant or ""), str(clip or ""), payload])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(
    s: Session,
    event: str,
    payload: dict[str, Any],
    *,
    participant_id: int | None = None,
    clip_id: int | None = None,
    who: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so the event and its record commit together)."""
    last = s.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev_id, prev = (last[0], last[1]) if last else (0, GENESIS)
    new_id = prev_id + 1
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    who = who or actor()
    body = canonical(payload)
    e = AuditEntry(
        id=new_id,
        at=at,
        actor=who,
        event=event,
        participant_id=participant_id,
        clip_id=clip_id,
        payload=body,
        prev_hash=prev,
        hash=entry_hash(prev, new_id, at, who, event, participant_id, clip_id, body),
    )
    s.add(e)
    s.flush()
    head = anchors.Head(new_id, e.hash)
    anchors.note_append(s, head, event)  # anchored outside the store once committed
    server_anchors.append_head(s, head)  # and on a PostgreSQL server, in this transaction
    return e


@dataclass(frozen=True)
class Problem:
    entry_id: int
    message: str


def check(s: Session) -> Problem | None:
    """The chain, then the consent records against it: the first problem, or None."""
    return verify(s) or cross_check(s)


def verify(s: Session) -> Problem | None:
    """The first entry that does not check out, or None when the whole chain is sound."""
    prev = GENESIS
    expected_id = 1
    for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        if e.id != expected_id:
            return Problem(e.id, f"audit entry {e.id}: entry {expected_id} before it is missing")
        if e.prev_hash != prev:
            return Problem(
                e.id,
                f"audit entry {e.id}: does not follow entry {e.id - 1} (deleted, altered or inserted out of order)",
            )
        want = entry_hash(prev, e.id, e.at, e.actor, e.event, e.participant_id, e.clip_id, e.payload)
        if e.hash != want:
            return Problem(e.id, f"audit entry {e.id}: its contents do not match its hash (altered outside Frontdoor)")
        prev = e.hash
        expected_id += 1
    return None


def cross_check(s: Session) -> Problem | None:
    """Whether the consent records agree with the log: every decision row as its entry recorded it,
    withdrawals, and who is present in each clip version. A row changed behind Frontdoor's back (a
    withheld decision turned into a grant, a withdrawal undone, someone taken out of a clip) is named."""
    logged: dict[int, tuple[int, dict[str, Any], int | None, int | None]] = {}
    versions_logged: dict[str, int] = {}
    withdrawals: set[int] = set()
    presence: dict[str, set[int]] = {}
    # rows destroyed when their time was up (consent.retention.policy): their entries stay, the rows are gone
    destroyed_decisions: dict[int, int] = {}
    destroyed_versions: set[str] = set()
    for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if e.event not in (
            "decision",
            "withdrawal",
            "version_created",
            "presence_added",
            "presence_removed",
            "destroyed",
        ):
            continue
        body = json.loads(e.payload)
        if e.event == "destroyed":
            if body.get("kind") == "clip_version":
                key = f"{e.clip_id}:{body['version']}"
                destroyed_versions.add(key)
                versions_logged.pop(key, None)
                presence.pop(key, None)
                for did in body.get("decision_ids", []):
                    logged.pop(int(did), None)
                    destroyed_decisions[int(did)] = e.id
        elif e.event == "decision":
            logged[int(body["decision_id"])] = (e.id, body, e.participant_id, e.clip_id)
            destroyed_decisions.pop(int(body["decision_id"]), None)  # a number used again after a destruction
        elif e.event == "withdrawal" and e.participant_id is not None:
            withdrawals.add(e.participant_id)
        elif e.event == "version_created":
            presence[f"{e.clip_id}:{body['version']}"] = set(body.get("present_ids", []))
            versions_logged[f"{e.clip_id}:{body['version']}"] = e.id
            destroyed_versions.discard(f"{e.clip_id}:{body['version']}")  # the same edit made again later
        elif e.participant_id is not None:
            group = presence.setdefault(f"{e.clip_id}:{body['version']}", set())
            (group.add if e.event == "presence_added" else group.discard)(e.participant_id)
    versions = {v.id: v for v in s.scalars(select(ClipVersion))}
    for d in s.scalars(select(Decision).order_by(Decision.id)):
        if d.id in destroyed_decisions:
            entry_id = destroyed_decisions[d.id]
            return Problem(
                entry_id, f"decision {d.id}: recorded as destroyed in audit entry {entry_id} but still stored"
            )
        if d.id not in logged:
            return Problem(0, f"decision {d.id}: has no audit entry (inserted outside Frontdoor)")
        entry_id, body, who, clip_id = logged.pop(d.id)
        v = versions.get(d.clip_version_id)
        stored = (v.version_hash if v else None, v.clip_id if v else None, d.scope, d.decision, d.conditions)
        if stored != (body["version"], clip_id, body["scope"], body["decision"], body["conditions"]) or (
            d.participant_id != who
        ):
            return Problem(
                entry_id, f"decision {d.id}: differs from audit entry {entry_id} (changed outside Frontdoor)"
            )
    if logged:
        gone = min(logged)
        return Problem(logged[gone][0], f"decision {gone}: recorded in audit entry {logged[gone][0]} but missing")
    for v in versions.values():
        key = f"{v.clip_id}:{v.version_hash}"
        if key in destroyed_versions:
            return Problem(0, f"clip {v.clip_id} version {v.number}: recorded as destroyed but still stored")
        if key not in versions_logged:
            return Problem(0, f"clip {v.clip_id} version {v.number}: has no audit entry (inserted outside Frontdoor)")
        del versions_logged[key]
        if _spec_hash(v) != v.version_hash:
            return Problem(0, f"clip {v.clip_id} version {v.number}: its edit does not match its hash (changed)")
    if versions_logged:
        key, entry_id = min(versions_logged.items(), key=lambda kv: kv[1])
        return Problem(
            entry_id, f"clip version {key.split(':')[1][:12]}: recorded in audit entry {entry_id} but missing"
        )
    for p in s.scalars(select(Participant).order_by(Participant.id)):
        if (p.withdrawn_at is not None) != (p.id in withdrawals):
            return Problem(
                0, f"participant {p.id}: withdrawal does not match the audit log (changed outside Frontdoor)"
            )
    actual: dict[str, set[int]] = {}
    for row, v in s.execute(
        select(Presence, ClipVersion).join(ClipVersion, ClipVersion.id == Presence.clip_version_id)
    ):
        actual.setdefault(f"{v.clip_id}:{v.version_hash}", set()).add(row.participant_id)
    for v in versions.values():
        key = f"{v.clip_id}:{v.version_hash}"
        if actual.get(key, set()) != presence.get(key, set()):
            return Problem(0, f"clip {v.clip_id} version {v.number}: who is present does not match the audit log")
    return None


def _spec_hash(v: ClipVersion) -> str:
    from media_tools.spec import parse_spec

    return parse_spec(dict(v.spec, source="-"), name="version").version_hash(v.source_sha256)


def entries(
    s: Session, *, participant_id: int | None = None, clip_ids: list[int] | None = None
) -> Iterator[AuditEntry]:
    """Entries in order; with ``participant_id``, those about that participant or the clips they are in."""
    q = select(AuditEntry).order_by(AuditEntry.id)
    if participant_id is not None:
        conds = [AuditEntry.participant_id == participant_id]
        if clip_ids:
            conds.append(AuditEntry.clip_id.in_(clip_ids) & AuditEntry.participant_id.is_(None))
        q = q.where(or_(*conds))
    yield from s.scalars(q)


ACKNOWLEDGED = "rollback_acknowledged"


@dataclass(frozen=True)
class AnchorReport:
    """What the anchors say: the first problem (None when every anchor checks out), and notes (anchors
    excused by an acknowledged rollback); ``rolled_back`` when the chain ends before an anchored entry."""

    problem: Problem | None
    checked: int
    notes: tuple[str, ...] = ()
    rolled_back: bool = False
    lost_to: anchors.Head | None = None  # the newest anchored head the chain no longer has


def check_anchors(
    s: Session,
    found: list[anchors.Anchor],
    *,
    acknowledgements: Sequence[server_anchors.Acknowledgement] | None = None,
) -> AnchorReport:
    """Check the chain against heads held outside the store: each anchored entry must still be in the chain
    with the same hash. Reads only ``id`` and ``hash`` (which every role may), and the acknowledged rollbacks:
    ``acknowledgements`` when given (a role that may not read the whole log passes those the server's anchor
    table holds), else those in the log. An acknowledgement counts while its own entry is still in the chain.

    An anchor is excused by an acknowledged rollback when its entry lies past the entry the log went on from
    and it was anchored before the acknowledgement (an anchor with no time: when its entry is among those the
    acknowledgement names as lost). Every anchor written before it of an entry past that point can only be of
    the history that was lost, whoever's client wrote it.
    """
    if not found:
        return AnchorReport(None, 0)
    acks = list(acknowledgements) if acknowledgements is not None else logged_acknowledgements(s)
    wanted = sorted({a.head.entry for a in found} | {k.entry for k in acks})
    have: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        have.update(s.execute(select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id.in_(part))).all())
    acks = [k for k in acks if have.get(k.entry) == k.hash]
    head = anchors.current_head(s)
    last = head.entry if head else 0
    notes: list[str] = []
    bad: list[tuple[anchors.Anchor, str]] = []
    for a in sorted(found, key=lambda a: a.head.entry):
        got = have.get(a.head.entry)
        if got == a.head.hash:
            continue
        ack = next((k for k in acks if _excuses(k, a)), None)
        if ack is not None:
            notes.append(f"{a.source}: entry {a.head.entry} was lost in the rollback acknowledged in entry {ack.entry}")
            continue
        bad.append((a, got or ""))
    if not bad:
        return AnchorReport(None, len(found), tuple(dict.fromkeys(notes)))
    changed = [(a, got) for a, got in bad if got]
    if changed:
        a, got = changed[0]
        return AnchorReport(
            Problem(
                a.head.entry,
                f"audit entry {a.head.entry}: its hash {got[:16]} differs from the one anchored in {a.source} "
                f"({a.head.hash[:16]}): the log was rewritten",
            ),
            len(found),
            tuple(notes),
        )
    missing = max(bad, key=lambda x: x[0].head.entry)[0]
    first = min(bad, key=lambda x: x[0].head.entry)[0]
    return AnchorReport(
        Problem(
            first.head.entry,
            f"audit entry {first.head.entry}: anchored in {first.source} but no longer in the log, which ends at "
            f"entry {last}: the log was cut or the store rolled back (an older backup restored)",
        ),
        len(found),
        tuple(notes),
        rolled_back=True,
        lost_to=missing.head,
    )


def _excuses(k: server_anchors.Acknowledgement, a: anchors.Anchor) -> bool:
    if a.head.entry <= k.back_to:
        return False
    if a.at is None:
        return a.head.entry <= k.lost_to
    return a.at <= k.at


def logged_acknowledgements(s: Session) -> list[server_anchors.Acknowledgement]:
    """The acknowledged rollbacks in the log (for a role that may read its entries)."""
    out = []
    for e in s.scalars(select(AuditEntry).where(AuditEntry.event == ACKNOWLEDGED).order_by(AuditEntry.id)):
        body = json.loads(e.payload)
        at = datetime.fromisoformat(e.at)
        out.append(
            server_anchors.Acknowledgement(
                e.id,
                e.hash,
                int(body["back_to"]),
                int(body["lost_to"]),
                at if at.tzinfo else at.replace(tzinfo=UTC),
                f"audit entry {e.id}",
            )
        )
    return out
