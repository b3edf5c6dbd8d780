"""The consent records checked against everything held outside the store, and an acknowledged rollback.

``verify_records`` is what ``frontdoor audit verify`` and the export gate ask: the chain and the records
against it (``consent.server.access.records_problem``), then every anchor it can find — this machine's
anchor log, on PostgreSQL the server's anchors (``server anchor N``, :mod:`consent.server_anchors`), the
heads in the sidecars of the store's backups, the manifests, receipts and forms in the folders given, and
heads typed as ``ID:HASH`` (:mod:`consent.anchors`). The first problem is named with the anchor that shows
it.

A store restored from a backup older than an anchor ends before the anchored entries: it is flagged as
rolled back, and stays refused until someone acknowledges it (``acknowledge_rollback``), which appends a
``rollback_acknowledged`` entry (with their reason's fingerprint; the words go to the anchor log), and is
itself anchored; on PostgreSQL the server's anchor table records it too (:mod:`consent.server_anchors`), so a
presenter, who may not read the log's entries, knows the rollback was acknowledged. Entries lost in a rollback
(decisions and withdrawals recorded after the backup) must be recorded again: the receipts people hold
show what they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation.store import Store
from consent import anchors, audit, server_anchors
from consent.errors import InvalidRequest
from consent.models import AuditEntry
from consent.rows import write
from consent.server import access


@dataclass(frozen=True)
class Verification:
    problem: audit.Problem | None
    entries: int
    anchors: int
    notes: tuple[str, ...] = ()
    rolled_back: bool = False
    full: bool = True  # decisions, withdrawals and presence matched (not only what a restricted role may see)
    server_anchors: int = 0  # of ``anchors``, those the PostgreSQL server keeps


def verify_records(
    store: Store, *, anchor_dirs: Sequence[Path] = (), heads: Sequence[anchors.Head] = ()
) -> Verification:
    """The consent records checked: the chain, the records against it, then every anchor found.

    Raises:
        InvalidRequest: a folder given is not one.
        AnchorLogError: the anchor log cannot be read or is misplaced.
    """
    given = [a for folder in anchor_dirs for a in anchors.file_anchors(Path(folder))]
    given += [anchors.Anchor(h, f"--head {h.entry}:{h.hash[:16]}…") for h in heads]
    with store.session() as s:
        return _verify(s, given)


def _verify(s: Session, given: list[anchors.Anchor]) -> Verification:
    problem = access.records_problem(s)
    n = int(s.scalar(select(func.count(AuditEntry.id))) or 0)
    full = access.reads_everything(s)
    kind = access.caller_kind(s)
    from_backups = anchors.backup_anchors(s)
    # a review station has no read grant on the server's anchors (it never verifies: it exports nothing)
    server = server_anchors.read(s) if kind != "reviewer" else server_anchors.ServerAnchors()
    found = anchors.log_anchors(s) + from_backups + server.anchors + given
    # acknowledged rollbacks: from the log for those who may read it, from the server's anchor table for all
    acks = list(server.acknowledgements)
    if kind in ("owner", "researcher", "auditor"):
        acks = audit.logged_acknowledgements(s) + acks
    report = audit.check_anchors(s, found, acknowledgements=acks)
    rolled_back = False
    if problem is None and report.problem is not None:
        problem = report.problem
        rolled_back = report.rolled_back
        if report.rolled_back:
            head = anchors.current_head(s)
            backup = next((a.source for a in from_backups if head is not None and a.head == head), None)
            where = f"the store was rolled back to {backup}" if backup else "the store was rolled back or cut"
            problem = audit.Problem(
                problem.entry_id,
                f"{problem.message}; {where}: if that was meant, acknowledge it with "
                "'frontdoor audit acknowledge-rollback --reason ...' and record again what was lost",
            )
    return Verification(problem, n, len(found), report.notes, rolled_back, full, len(server.anchors))


def acknowledge_rollback(store: Store, reason: str) -> anchors.Head:
    """Accept that the store was rolled back: append a ``rollback_acknowledged`` entry (who, from which entry
    the log goes on, the newest anchored head it lost, the fingerprint of why), anchored like every entry, and
    write the reason's words to the anchor log. Returns the new head.

    Raises:
        InvalidRequest: no reason; the log itself fails its check; nothing was lost; or an anchored entry
            still in the log has another hash (a rewrite, not a rollback).
    """
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("acknowledge-rollback: say why with --reason (it is kept in the audit log)")

    def do(s: Session) -> anchors.Head:
        own = access.records_problem(s)
        if own is not None:
            raise InvalidRequest(f"the audit log fails its own check ({own.message}): a rollback is not the cause")
        found = anchors.log_anchors(s) + anchors.backup_anchors(s) + server_anchors.read(s).anchors
        report = audit.check_anchors(s, found)
        if report.problem is None:
            raise InvalidRequest("acknowledge-rollback: every anchor is in the log; there is no rollback to accept")
        if not report.rolled_back or report.lost_to is None:
            raise InvalidRequest(f"{report.problem.message}: that is a rewrite, not a rollback; nothing acknowledged")
        head = anchors.current_head(s)
        back_to = head or anchors.Head(0, audit.GENESIS)
        e = audit.append(
            s,
            audit.ACKNOWLEDGED,
            {
                "back_to": back_to.entry,
                "back_to_hash": back_to.hash,
                "lost_to": report.lost_to.entry,
                "lost_hash": report.lost_to.hash,
                # the log keeps no free text (it is never deleted): the reason's fingerprint here, its words
                # in the anchor log on this machine
                "reason_sha256": hashlib.sha256(reason.encode("utf-8")).hexdigest(),
            },
        )
        head = anchors.Head(e.id, e.hash)
        # readable by every role that checks, also those that may not read the log (a presenter)
        server_anchors.append_acknowledgement(s, head, back_to.entry, report.lost_to.entry)
        return head

    head = write(store, do)
    with store.session() as s:
        anchors.record(s, audit.ACKNOWLEDGED, acknowledged_in=head.entry, reason=reason)
    return head
