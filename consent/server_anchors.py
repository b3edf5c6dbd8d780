"""The audit chain's heads kept by the PostgreSQL server itself, in a table no application role may change.

On a shared server the anchor logs are kept by each client (:mod:`consent.anchors`); the server keeps a copy
too: ``consent.audit.append`` adds one ``audit_anchor`` row (entry id and hash) in the same transaction as
each entry, so an entry and its anchor commit or vanish together (no window after a commit where a crash
leaves an entry unanchored, no second transaction to fail after the change is saved). Every role that writes
consent (researcher, review station, presenter) may INSERT; none may UPDATE, DELETE or TRUNCATE: the
database's triggers refuse it and no group role is granted it (migration 0012, ``consent.server.roles``).
The database fills in who wrote a row and when, and refuses a row that does not match the log, so no role
can plant an anchor that would fail every later check. A researcher's credentials therefore cannot cut the
log's tail unseen: the server's anchors name the entry that is gone. The tables' owner can go around any
trigger on its own server (disable it, delete the anchors as well): against the owner, the anchor logs on
the clients, the backups' heads and the receipts people hold are what remain.

An acknowledged rollback (``consent.verification.acknowledge_rollback``) is recorded here as well, as a row
of kind ``rollback_acknowledged`` that says what its audit entry says (the database checks it): a presenter,
who may not read the audit log's entries, reads it here, so its own older anchors past an acknowledged
rollback are excused, and those past a rollback nobody acknowledged are not.

On SQLite the table exists and stays empty: whoever has the file has the table, and the anchor log outside
the store's folder is the outside copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from consent.anchors import Anchor, Head, day_text

HEAD = "head"
ACKNOWLEDGED = "rollback_acknowledged"


@dataclass(frozen=True)
class Acknowledgement:
    """An acknowledged rollback: from the entry ``back_to`` the log goes on anew, entries up to ``lost_to``
    anchored before ``at`` were lost. ``entry`` and ``hash`` are the acknowledging entry's."""

    entry: int
    hash: str
    back_to: int
    lost_to: int
    at: datetime
    source: str


@dataclass(frozen=True)
class ServerAnchors:
    """What the server's anchor table holds: every row as an anchor, and the acknowledged rollbacks."""

    anchors: list[Anchor] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)


def kept(s: Session) -> bool:
    """Whether the server keeps anchors for this store (PostgreSQL; on SQLite the anchor log does)."""
    return s.get_bind().dialect.name == "postgresql"


_INSERT = text(
    "INSERT INTO audit_anchor (entry_id, hash, kind, back_to, lost_to, written_at, written_by) "
    "VALUES (:entry, :hash, :kind, :back_to, :lost_to, CURRENT_TIMESTAMP, session_user)"
)  # no RETURNING: a station may insert without reading the table; the database fills in the last two


def append_head(s: Session, head: Head) -> None:
    """Anchor ``head`` on the server, in the caller's transaction (``consent.audit.append``).

    Raises:
        AccessDenied: the connected role may not write anchors (its group's grants predate migration 0012
            and ``frontdoor db roles`` was not run again).
    """
    if kept(s):
        s.execute(_INSERT, {"entry": head.entry, "hash": head.hash, "kind": HEAD, "back_to": None, "lost_to": None})


def append_acknowledgement(s: Session, head: Head, back_to: int, lost_to: int) -> None:
    """Record on the server that the entry ``head`` acknowledged a rollback to ``back_to`` losing entries up
    to ``lost_to`` (the database checks that the entry says so)."""
    if kept(s):
        s.execute(
            _INSERT,
            {"entry": head.entry, "hash": head.hash, "kind": ACKNOWLEDGED, "back_to": back_to, "lost_to": lost_to},
        )


def read(s: Session) -> ServerAnchors:
    """Every anchor the server keeps for this store, named ``server anchor N`` in messages, and the
    acknowledged rollbacks recorded there. Empty on SQLite."""
    if not kept(s):
        return ServerAnchors()
    out = ServerAnchors()
    rows = s.execute(
        text("SELECT id, entry_id, hash, kind, back_to, lost_to, written_at, written_by FROM audit_anchor ORDER BY id")
    )
    for id_, entry, digest, kind, back_to, lost_to, at, who in rows:
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        what = "rollback acknowledged" if kind == ACKNOWLEDGED else "written"
        source = f"server anchor {id_} ({what} by {who}, {day_text(at)} {at:%H:%M} UTC)"
        head = Head(int(entry), str(digest))
        out.anchors.append(Anchor(head, source, at, str(kind)))
        if kind == ACKNOWLEDGED and back_to is not None and lost_to is not None:
            out.acknowledgements.append(Acknowledgement(head.entry, head.hash, int(back_to), int(lost_to), at, source))
    return out
