"""What the database role the store is connected as may see, asked of the database itself.

On a shared PostgreSQL server each person or station connects as a login role in one of four groups
(``consent.server.roles`` makes them; the design is described there). The database enforces what each may read
and write; the functions here are how the consent code asks it for what a restricted role cannot read
from the tables directly (the functions are made by migration 0005 and run as the tables' owner):

- ``caller_kind``: ``frontdoor_kind()``: 'owner' (the tables' owner or a superuser: everything),
  'researcher', 'reviewer' (a review station), 'presenter', 'auditor', or None (a role Frontdoor does not
  know: it sees no row).
- ``recording_source``: ``frontdoor_clip_source(version, scope)``: the recording file a clip version is
  rendered from. Only researchers read ``recording.abs_path``; a station gets it for the current versions
  its participant is in, a presenter only for a current version everyone present has granted the use on.
- ``grants``: ``frontdoor_grants(version, scope)``: for a presenter, who cannot read decisions, the grant
  each participant present relies on for the use (no withheld decisions, no history, no one's reasons).
- ``records_problem``: the audit check. Researchers run ``consent.audit.check``; presenters and auditors,
  who cannot read the decisions it compares the log with, get ``frontdoor_audit_problem()``: the chain,
  decisions and withdrawals checked inside the database.

On SQLite (one user, one file) there are no roles: everything is read directly, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from annotation.store import Recording
from consent import audit
from consent.models import Clip, ClipVersion

_KIND = "frontdoor.kind"
_FUNCTIONS = "frontdoor.functions"
FULL = ("owner", "researcher")
"""Kinds that read every consent table themselves."""


def _has_functions(s: Session) -> bool:
    """Whether the schema has migration 0005's functions (PostgreSQL only). Asked once per unit of work."""
    if _FUNCTIONS not in s.info:
        s.info[_FUNCTIONS] = s.get_bind().dialect.name == "postgresql" and (
            s.execute(text("SELECT to_regprocedure('frontdoor_kind()') IS NOT NULL")).scalar_one() is True
        )
    return bool(s.info[_FUNCTIONS])


def caller_kind(s: Session) -> str | None:
    """What the connected role is: 'owner', 'researcher', 'reviewer', 'presenter', 'auditor' or None (a
    role the database does not know, which sees nothing). Always 'owner' on SQLite. Asked once per unit of
    work."""
    if _KIND not in s.info:
        s.info[_KIND] = s.execute(text("SELECT frontdoor_kind()")).scalar() if _has_functions(s) else "owner"
    kind: str | None = s.info[_KIND]
    return kind


def reads_everything(s: Session) -> bool:
    return caller_kind(s) in FULL


def recording_source(s: Session, version_id: int, scope: str | None = None) -> str | None:
    """The path of the recording a clip version is cut from, when the connected role may render that version
    (for ``scope``, when it is a presenter); None when the database does not release it."""
    if not _has_functions(s):
        return s.scalar(
            select(Recording.abs_path)
            .join(Clip, Clip.recording_id == Recording.id)
            .join(ClipVersion, ClipVersion.clip_id == Clip.id)
            .where(ClipVersion.id == version_id)
        )
    path: str | None = s.execute(
        text("SELECT frontdoor_clip_source(:v, :scope)"), {"v": version_id, "scope": scope}
    ).scalar()
    return path


@dataclass(frozen=True)
class Grant:
    """The decision a participant's consent to a use rests on (what the gate relies on and records)."""

    participant_id: int
    decision_id: int
    conditions: list[Any]


def uses_grants(s: Session) -> bool:
    """Whether the connected role decides on clips through ``grants`` (a presenter: it cannot read
    decisions) rather than from the decisions themselves."""
    return caller_kind(s) == "presenter"


def grants(s: Session, version_id: int, scope: str) -> dict[int, Grant]:
    """Participant id -> the grant their consent to ``scope`` on this (current) version rests on, for each
    participant present who has not withdrawn, has withheld neither this use nor a narrower one, and has
    granted it or a wider one. Participants missing from the result have not consented to the use."""
    rows = s.execute(
        text("SELECT participant_id, decision_id, conditions FROM frontdoor_grants(:v, :scope)"),
        {"v": version_id, "scope": scope},
    ).all()
    return {r[0]: Grant(r[0], r[1], list(r[2] or [])) for r in rows}


def records_problem(s: Session) -> audit.Problem | None:
    """The first problem of the consent records (the audit chain, then the records against it), or None.

    Researchers check everything (``consent.audit.check``); presenters and auditors get the database's
    own check of the chain, the decisions and the withdrawals (they may not read the decisions).
    """
    if reads_everything(s):
        return audit.check(s)
    row = s.execute(text("SELECT entry_id, message FROM frontdoor_audit_problem()")).first()
    if row is None or row[1] is None:
        return None
    return audit.Problem(int(row[0]), str(row[1]))
