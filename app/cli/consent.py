"""``frontdoor participant|consent|review|audit``: the consent flow from the command line (with ``clip`` and
``export-clips`` from ``app.cli.clips``, registered here in their place in ``frontdoor --help``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.audit import add_audit_parser, write_receipt_cmd
from app.cli.clips import add_clip_parser, add_export_parser, print_version
from app.cli.common import command_store, seconds_arg
from consent.scopes import SCOPES

# ---- participant --------------------------------------------------------------------------------------


def cmd_participant(args: argparse.Namespace) -> int:
    from consent import participants

    store = command_store(args)
    if args.action == "add":
        pid = participants.add_participant(
            store, args.project, args.pseudonym, real_name=args.real_name, role=args.role, contact=args.contact
        )
        print(f"added participant {args.pseudonym!r} to project {args.project!r}")
        print(pid)
    elif args.action == "list":
        rows = participants.list_participants(store, args.project)
        if not rows:
            print("no participants")
        for p in rows:
            state = f"withdrew {p.withdrawn_at.date().isoformat()}" if p.withdrawn_at else "active"
            print(f"{p.id:>4}  {p.pseudonym:<24} {p.role or '-':<24} {state}")
    elif args.action == "edit":
        changes = {k: getattr(args, k) for k in ("pseudonym", "real_name", "role", "contact") if getattr(args, k)}
        if not changes:
            from app.cli.common import UserError

            raise UserError("participant edit: nothing to change (give --pseudonym, --real-name, --role or --contact)")
        participants.edit_participant(store, args.participant, **changes)
        print(f"participant {args.participant} changed: {', '.join(sorted(changes))}")
    elif args.action == "policy":
        participants.set_policy(store, args.project, keep_real_names=args.keep_real_names == "yes")
        print(f"project {args.project!r}: real names {'kept' if args.keep_real_names == 'yes' else 'not kept'}")
    elif args.action == "appear":
        participants.add_appearance(
            store, args.participant, args.recording, round(args.start * 1000), round(args.end * 1000)
        )
        print(f"{args.participant} appears in recording {args.recording} from {args.start:g} to {args.end:g} s")
    elif args.action == "from-tier":
        n = participants.appearances_from_tier(store, args.doc)
        print(f"{n} appearances taken from document {args.doc}'s participants tier")
    return 0


# ---- consent ------------------------------------------------------------------------------------------


def cmd_consent(args: argparse.Namespace) -> int:
    from consent.decisions import record_decision
    from consent.retention import confirm_destroyed, destruction_list, withdraw

    store = command_store(args)
    if args.action == "record":
        if not args.version and not args.form_ref:
            from app.cli.common import UserError

            raise UserError(
                "consent record: give --version HASH (the version the person saw: 'frontdoor clip show CLIP') "
                "or --form-ref REF (from the signed form)"
            )
        res = record_decision(
            store,
            args.clip,
            args.participant,
            args.scope,
            args.decision,
            condition_texts=args.condition or (),
            method="paper_form" if args.form_ref else "in_app",
            form_reference=args.form_ref,
            version_hash=args.version,
        )
        print(
            f"recorded decision {res.decision_id}: {args.participant} {args.decision} {args.scope} on clip {args.clip}"
        )
        if res.head is not None:
            print(f"audit entry {res.entry_id}, head {res.head.text}")
            print(f"the person's receipt: frontdoor consent receipt {res.entry_id} RECEIPT.pdf")
        if res.new_version is not None:
            print_version("the condition changes the edit: new version of clip", res.new_version)
            print("everyone present must consent to the new version")
    elif args.action == "status":
        _status(store, args.scope, args.recording)
    elif args.action == "withdraw":
        todo = withdraw(store, args.participant, reason=args.reason)
        print(f"{args.participant} has withdrawn: every use of their clips is revoked")
        _print_withdrawal_entry(store, args.participant)
        _print_destroy(todo)
    elif args.action == "destroy":
        if args.list or not args.item:
            _print_destroy(destruction_list(store))
        for item in args.item or ():
            path = confirm_destroyed(store, item, delete_file=args.delete)
            print(f"export item {item} destroyed: {path}")
    elif args.action == "form":
        from consent.forms import write_form

        out = write_form(store, args.participant, Path(args.out))
        print(f"wrote {out}")
    elif args.action == "passphrase":
        _set_passphrase(store, args)
    elif args.action == "receipt":
        write_receipt_cmd(store, args.entry, args.out)
    return 0


def _print_withdrawal_entry(store: Any, who: str) -> None:
    from sqlalchemy import select

    from consent.models import AuditEntry
    from consent.rows import participant

    with store.session() as s:
        pid = participant(s, who).id
        e = s.scalar(
            select(AuditEntry)
            .where(AuditEntry.event == "withdrawal", AuditEntry.participant_id == pid)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        if e is not None:
            print(f"audit entry {e.id}, head {e.id}:{e.hash}")
            print(f"the person's receipt: frontdoor consent receipt {e.id} RECEIPT.pdf")


def _set_passphrase(store: Any, args: argparse.Namespace) -> None:
    from getpass import getpass

    from app.cli.common import UserError, read_fd
    from consent.station import passphrase

    is_set = passphrase.has_passphrase(store, args.project)
    if args.passphrase_fd is not None:
        if args.old_passphrase_fd == args.passphrase_fd:
            raise UserError("--old-passphrase-fd: give the current passphrase on a descriptor of its own")
        if is_set and args.old_passphrase_fd is None:
            raise UserError(
                f"project {args.project!r}: a passphrase is set; give the current one with --old-passphrase-fd N"
            )
        old = read_fd(args.old_passphrase_fd, "--old-passphrase-fd") if is_set else None
        new = read_fd(args.passphrase_fd, "--passphrase-fd")
    else:
        old = getpass("Current passphrase: ") if is_set else None
        new = getpass(f"New review-station passphrase ({passphrase.MIN_LENGTH} characters or more): ")
        if new != getpass("The same again: "):
            raise UserError("passphrase: the two entries differ; nothing changed")
    passphrase.set_passphrase(store, args.project, new, old=old)
    print(f"project {args.project!r}: review-station passphrase {'changed' if is_set else 'set'}")


def cmd_review(args: argparse.Namespace) -> int:
    import importlib.util
    import os

    from app.cli.common import UserError
    from consent.station import passphrase, review

    if importlib.util.find_spec("PySide6") is None:
        raise UserError("the review station needs PySide6: pip install 'frontdoor[gui]'")
    store = command_store(args)
    me = review.reviewer(store, args.participant, project=args.project)  # unknown or withdrawn: refused here
    passphrase.require_passphrase(store, me.project)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        raise UserError("no display: run the review station on a desktop")
    from app.gui.review import run_review_station

    return run_review_station(store, me.participant_id, project=me.project)


def _print_destroy(todo: list[Any]) -> None:
    if not todo:
        print("no exported files are waiting to be destroyed")
        return
    print(f"{len(todo)} exported file(s) must be destroyed:")
    for t in todo:
        print(f"  item {t.item_id}: {t.path} (clip {t.clip_id}, exported {t.exported_at[:10]}; {t.why})")
    print("confirm each with: frontdoor consent destroy ITEM [--delete]")


def _status(store: Any, scope: str | None, recording: int | None) -> None:
    from consent.usability import status

    rows, usable = status(store, scope=scope, recording_id=recording)
    wanted = [scope] if scope else list(SCOPES)
    if not rows:
        print("no clips with participants present")
        return
    w = max([18, *(len(r.cells[s]) for r in rows for s in wanted)])
    head = f"{'clip':>4}  {'v':>2}  {'participant':<20}" + "".join(f"  {s:<{w}}" for s in wanted)
    print(head)
    last = None
    for r in rows:
        if last is not None and r.clip_id != last:
            _usable_line(last, wanted, usable, w)
        print(f"{r.clip_id:>4}  {r.version:>2}  {r.participant:<20}" + "".join(f"  {r.cells[s]:<{w}}" for s in wanted))
        last = r.clip_id
    if last is not None:
        _usable_line(last, wanted, usable, w)
    print("(* granted with conditions; '-' not decided, which counts as no; '(via S)': the decision on use S counts")
    print(" here, a wider grant or a narrower refusal; 'if conds': only with --expires or --internal, as a condition")
    print(" asks)")


def _usable_line(clip_id: int, wanted: list[str], usable: dict[tuple[int, str], str], w: int) -> None:
    label = {"usable": "USABLE", "if conditions": "USABLE if conds", "no": "not usable"}
    cells = "".join(f"  {label[usable[(clip_id, s)]]:<{w}}" for s in wanted)
    print(f"{'':>4}  {'':>2}  {'-> clip ' + str(clip_id):<20}{cells}")


# ---- parsers ------------------------------------------------------------------------------------------


def add_consent_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    s = sub(
        subs,
        "participant",
        "the staff who were filmed: add, list, edit, appearances, the project's real-name policy",
        "frontdoor participant add 'Duty worker A' --role 'social worker' --project 'Duty room study'",
        cmd_participant,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("add", help="add a participant by pseudonym")
    a.add_argument("pseudonym")
    a.add_argument("--project", default="Default")
    a.add_argument("--role")
    a.add_argument("--contact")
    a.add_argument("--real-name", help="kept only if the project's policy keeps real names")
    a = acts.add_parser("list", help="list participants")
    a.add_argument("--project")
    a = acts.add_parser("edit", help="change a participant's pseudonym, role, contact or real name")
    a.add_argument("participant")
    a.add_argument("--pseudonym")
    a.add_argument("--role")
    a.add_argument("--contact")
    a.add_argument("--real-name")
    a = acts.add_parser("policy", help="whether the project keeps real names at all")
    a.add_argument("--project", default="Default")
    a.add_argument("--keep-real-names", choices=["yes", "no"], required=True)
    a = acts.add_parser("appear", help="record by hand that a participant appears: PARTICIPANT RECORDING START END")
    a.add_argument("participant")
    a.add_argument("recording", type=int)
    a.add_argument("start", type=seconds_arg)
    a.add_argument("end", type=seconds_arg)
    a = acts.add_parser("from-tier", help="take appearances from a document's Participants tier")
    a.add_argument("doc", type=int)

    add_clip_parser(subs, sub, parser_class)

    s = sub(
        subs,
        "consent",
        "decisions per participant, clip version and scope; status; withdrawal; destruction; forms",
        "frontdoor consent record 4 'Duty worker A' --scope internal_training --decision granted",
        cmd_consent,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("record", help="record a decision: CLIP PARTICIPANT --scope S --decision granted|withheld")
    a.add_argument("clip")
    a.add_argument("participant")
    a.add_argument("--scope", required=True, help=" < ".join(SCOPES))
    a.add_argument("--decision", required=True, choices=["granted", "withheld"])
    a.add_argument(
        "--condition",
        action="append",
        metavar="C",
        help="blur|pixelate|box:X,Y,W,H@START-END, mute:START-END, not-after:YYYY-MM-DD, audience:internal",
    )
    a.add_argument("--form-ref", metavar="REF", help="entered from a signed paper form with this reference")
    a.add_argument("--version", metavar="HASH", help="the version the participant saw (refused if superseded)")
    a = acts.add_parser("status", help="a table: clip x participant x scope, and what is usable")
    a.add_argument("--scope")
    a.add_argument("--recording", type=int)
    a = acts.add_parser("withdraw", help="a participant withdraws: every use of their clips is revoked")
    a.add_argument("participant")
    a.add_argument("--reason")
    a = acts.add_parser("destroy", help="list exported files to destroy, or confirm ITEMs destroyed")
    a.add_argument("item", nargs="*", type=int)
    a.add_argument("--list", action="store_true")
    a.add_argument("--delete", action="store_true", help="delete the file before confirming")
    a = acts.add_parser("form", help="a printable consent form: PARTICIPANT OUT.pdf|OUT.html")
    a.add_argument("participant")
    a.add_argument("out")
    a = acts.add_parser("receipt", help="a participant's receipt for a decision or withdrawal: ENTRY OUT.pdf|OUT.html")
    a.add_argument("entry", type=int, help="the audit entry of the decision or withdrawal (printed when recorded)")
    a.add_argument("out")
    a = acts.add_parser("passphrase", help="the researcher's passphrase that locks review stations")
    pacts = a.add_subparsers(dest="passphrase_action", metavar="ACTION", required=True, parser_class=parser_class)
    # no abbreviations: "--passphrase SECRET" must not be read as "--passphrase-fd"
    b = pacts.add_parser("set", help="set or change it (asked twice; never on the command line)", allow_abbrev=False)
    b.add_argument("--project", required=True)
    b.add_argument("--passphrase-fd", type=int, metavar="N", help="scripts: read the new passphrase from descriptor N")
    b.add_argument("--old-passphrase-fd", type=int, metavar="N", help="scripts: the current one, to change it")

    s = sub(
        subs,
        "review",
        "the consent review station: one participant watches their clips (full screen) and decides",
        "frontdoor review --project 'Duty room study' --participant 'Duty worker A'",
        cmd_review,
    )
    s.add_argument("--project", required=True)
    s.add_argument("--participant", required=True, metavar="PSEUDONYM")

    add_export_parser(subs, sub)

    add_audit_parser(subs, sub)
