"""``frontdoor audit``: verify the consent log against every head held outside the store, show the history,
acknowledge a rollback; and ``frontdoor consent receipt`` (a participant's receipt, from an audit entry)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.common import command_store


def cmd_audit(args: argparse.Namespace) -> int:
    store = command_store(args)
    if args.action == "verify":
        return _verify(store, args)
    if args.action == "acknowledge-rollback":
        from app.cli.common import UserError
        from consent.verification import acknowledge_rollback

        if not args.reason:
            raise UserError("audit acknowledge-rollback: say why with --reason TEXT (it is kept in the audit log)")
        head = acknowledge_rollback(store, args.reason)
        print(f"rollback acknowledged in audit entry {head.entry}; the log goes on from there")
        print(f"head: {head.text}")
        print("record again the decisions and withdrawals made after the backup (their receipts show them)")
        return 0
    _show(store, args.participant)
    return 0


def _verify(store: Any, args: argparse.Namespace) -> int:
    from consent.anchors import parse_head
    from consent.verification import verify_records

    heads = [parse_head(h) for h in args.head or ()]
    v = verify_records(store, anchor_dirs=[Path(d) for d in args.anchors or ()], heads=heads)
    for note in v.notes:
        print(f"note: {note}")
    if v.problem is not None:
        sys.stderr.write(f"frontdoor: audit: {v.problem.message}\n")
        return 3
    matched = "decisions, withdrawals and presence" if v.full else "decisions, withdrawals"
    print(f"audit log verified: {v.entries} entries, chain intact, {matched} match it")
    if v.server_anchors:
        outside = v.anchors - v.server_anchors
        print(
            f"anchors checked: {v.anchors} heads ({v.server_anchors} kept by the server, {outside} held outside "
            "the store), all in the log"
        )
    else:
        print(f"anchors checked: {v.anchors} heads held outside the store, all in the log")
    return 0


def _show(store: Any, who: str | None) -> None:
    from sqlalchemy import select

    from consent import audit
    from consent.models import ClipVersion, Presence
    from consent.rows import participant

    with store.session() as s:
        pid = None
        clip_ids: list[int] = []
        if who:
            p = participant(s, who)
            pid = p.id
            clip_ids = sorted(
                set(
                    s.scalars(
                        select(ClipVersion.clip_id)
                        .join(Presence, Presence.clip_version_id == ClipVersion.id)
                        .where(Presence.participant_id == p.id)
                    )
                )
            )
        for e in audit.entries(s, participant_id=pid, clip_ids=clip_ids):
            subject = " ".join(
                x
                for x in (
                    f"participant {e.participant_id}" if e.participant_id else "",
                    f"clip {e.clip_id}" if e.clip_id else "",
                )
                if x
            )
            print(f"{e.id:>5}  {e.at[:19]}  {e.actor:<12} {e.event:<20} {subject:<24} {e.payload}")


def write_receipt_cmd(store: Any, entry: int, out: str) -> None:
    """``frontdoor consent receipt ENTRY OUT``: the receipt of the decision or withdrawal in audit entry ENTRY."""
    from consent.forms import receipt_for_entry, write_receipt

    r = receipt_for_entry(store, entry)
    path = write_receipt(r, Path(out))
    print(f"wrote {path} (audit entries {', '.join(map(str, r.entries))}; head {r.head.text})")


def add_audit_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser]) -> None:
    s = sub(
        subs,
        "audit",
        "the consent audit log: 'verify' checks the chain and every head held outside the store, 'show' prints "
        "the history, 'acknowledge-rollback' accepts a restored older backup",
        "frontdoor audit verify --anchors /media/usb/exports --head 42:3f2a…",
        cmd_audit,
    )
    s.add_argument("action", choices=["verify", "show", "acknowledge-rollback"])
    s.add_argument("--participant", help="with show: the history this participant is entitled to see")
    s.add_argument(
        "--anchors",
        action="append",
        metavar="DIR",
        help="with verify: also check the heads in the manifests, receipts and forms in DIR (again for more)",
    )
    s.add_argument(
        "--head",
        action="append",
        metavar="ID:HASH",
        help="with verify: also check this head (printed on a receipt, a form or a manifest; again for more)",
    )
    s.add_argument("--reason", help="with acknowledge-rollback: why the store was rolled back (kept in the log)")
