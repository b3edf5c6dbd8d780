"""Withdrawal, and the exported files it (or an expiry) makes due for destruction.

A withdrawal revokes every use of the participant's clips from the moment it is recorded; the exported
files that show them must then be destroyed. ``destruction_list`` is that list (with files whose export
expired, or whose project keeps exports for a limited time): ``frontdoor consent withdraw`` and
``frontdoor consent destroy --list`` print it, and ``consent.retention.policy`` reuses it for its exported
files. Destroying them is ``consent.retention.destruction`` (``confirm_destroyed`` for one file,
``destroy`` for everything due).

It lives in ``consent.retention`` rather than beside the other consent services because the list reads
the project's retention periods (``consent.retention.periods``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.store import Store
from consent import audit
from consent.errors import InvalidRequest
from consent.models import ClipVersion, Export, ExportItem, Participant, RetentionPolicy
from consent.retention.periods import parse_period
from consent.rows import participant, write


@dataclass(frozen=True)
class ToDestroy:
    item_id: int
    path: str
    clip_id: int
    exported_at: str
    why: str
    since: date | None = None  # the first day it had to be destroyed
    cause: str = ""  # withdrawal, expired or export_policy


def withdraw(store: Store, who: str | int, *, reason: str | None = None) -> list[ToDestroy]:
    """Record a withdrawal: every use of the participant's clips is revoked from now on. Returns the
    exported files that must be destroyed.

    Raises:
        UnknownThing, InvalidRequest: unknown participant, or already withdrawn.
    """

    def do(s: Session) -> int:
        p = participant(s, who)
        if p.withdrawn_at is not None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: withdrew already on {p.withdrawn_at.date().isoformat()}"
            )
        p.withdrawn_at = datetime.now(UTC)
        p.withdrawal_reason = reason
        audit.append(s, "withdrawal", {"reason_given": bool(reason)}, participant_id=p.id)
        return p.id

    pid = write(store, do)
    return destruction_list(store, participant_id=pid)


def destruction_list(store: Store, *, participant_id: int | None = None, on: date | None = None) -> list[ToDestroy]:
    """Exported files not yet destroyed whose clips show a withdrawn participant (or ``participant_id``),
    or whose time is up on ``on`` (default today): their export expired, or, without an expiry date, the
    project's retention policy for exports has run out (``consent.retention.policy`` adds what else makes a
    file due: its clip version's or recording's own end)."""
    with store.session() as s:
        return destruction_list_in(s, participant_id=participant_id, on=on)


def destruction_list_in(s: Session, *, participant_id: int | None = None, on: date | None = None) -> list[ToDestroy]:
    """``destruction_list`` in the caller's unit of work. Each file is listed once, for the reason that made
    it due first."""
    today = on or datetime.now(UTC).date()
    out: list[ToDestroy] = []
    withdrawn = {
        p.id: (p.pseudonym, p.withdrawn_at.date())
        for p in s.scalars(select(Participant).where(Participant.withdrawn_at.is_not(None)))
        if p.withdrawn_at is not None and (participant_id is None or p.id == participant_id)
    }
    kept = {pol.project_id: parse_period(pol.exports) for pol in s.scalars(select(RetentionPolicy))}
    q = (
        select(ExportItem, Export, ClipVersion.clip_id)
        .join(Export, Export.id == ExportItem.export_id)
        .join(ClipVersion, ClipVersion.id == ExportItem.clip_version_id)
        .where(ExportItem.destroyed_at.is_(None))
        .order_by(ExportItem.id)
    )
    for item, exp, clip_id in s.execute(q).all():
        gone = [withdrawn[int(pid)] for pid in item.participant_ids if int(pid) in withdrawn]
        reasons: list[tuple[date, str, str]] = []
        if gone:
            reasons.append((min(d for _, d in gone), f"{', '.join(name for name, _ in gone)} withdrew", "withdrawal"))
        if participant_id is None:
            if exp.expires:
                until = date.fromisoformat(exp.expires)
                reasons.append(
                    (until + timedelta(days=1) if until < date.max else until, f"expired {until}", "expired")
                )
            elif (period := kept.get(exp.project_id or 0)) is not None:
                made = exp.exported_at.date()
                reasons.append(
                    (period.after(made), f"kept {period.describe()} after export (project policy)", "export_policy")
                )
        due = [r for r in reasons if r[0] <= today]
        if due:
            since, why, cause = min(due)
            out.append(ToDestroy(item.id, item.path, clip_id, exp.exported_at.isoformat(), why, since, cause))
    return out
