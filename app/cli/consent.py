"""``frontdoor participant|clip|consent|export-clips|audit``: the consent flow from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from consent.scopes import SCOPES


def _store(args: argparse.Namespace) -> Any:
    from app.cli.main import _store as open_

    return open_(args)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _fd(text: str) -> int:
    from app.cli.store import fd_number

    return fd_number(text)


def _seconds(text: str) -> float:
    from app.cli.main import parse_time

    return parse_time(text) / 1000


def _json_arg(text: str) -> dict[str, Any]:
    """Inline JSON, or @FILE with JSON in it."""
    try:
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: not JSON or not readable ({exc})") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError(f"{text!r}: give a JSON object of edit-spec fields")
    return data


# ---- participant --------------------------------------------------------------------------------------


def cmd_participant(args: argparse.Namespace) -> int:
    from consent import service

    store = _store(args)
    if args.action == "add":
        pid = service.add_participant(
            store, args.project, args.pseudonym, real_name=args.real_name, role=args.role, contact=args.contact
        )
        print(f"added participant {args.pseudonym!r} to project {args.project!r}")
        print(pid)
    elif args.action == "list":
        rows = service.list_participants(store, args.project)
        if not rows:
            print("no participants")
        for p in rows:
            state = f"withdrew {p.withdrawn_at.date().isoformat()}" if p.withdrawn_at else "active"
            print(f"{p.id:>4}  {p.pseudonym:<24} {p.role or '-':<24} {state}")
    elif args.action == "edit":
        changes = {k: getattr(args, k) for k in ("pseudonym", "real_name", "role", "contact") if getattr(args, k)}
        if not changes:
            from app.cli.main import UserError

            raise UserError("participant edit: nothing to change (give --pseudonym, --real-name, --role or --contact)")
        service.edit_participant(store, args.participant, **changes)
        print(f"participant {args.participant} changed: {', '.join(sorted(changes))}")
    elif args.action == "policy":
        service.set_policy(store, args.project, keep_real_names=args.keep_real_names == "yes")
        print(f"project {args.project!r}: real names {'kept' if args.keep_real_names == 'yes' else 'not kept'}")
    elif args.action == "appear":
        service.add_appearance(
            store, args.participant, args.recording, round(args.start * 1000), round(args.end * 1000)
        )
        print(f"{args.participant} appears in recording {args.recording} from {args.start:g} to {args.end:g} s")
    elif args.action == "from-tier":
        n = service.appearances_from_tier(store, args.doc)
        print(f"{n} appearances taken from document {args.doc}'s participants tier")
    return 0


# ---- clip ---------------------------------------------------------------------------------------------


def cmd_clip(args: argparse.Namespace) -> int:
    from consent import service

    store = _store(args)
    if args.action == "create":
        start, end = args.start, args.end
        if args.annotation:
            start, end = _annotation_times(store, args.annotation)
        if start is None or end is None:
            from app.cli.main import UserError

            raise UserError("clip create: give --start and --end, or --annotation DOC:ANNOTATION_ID")
        info = service.create_clip(
            store,
            args.recording,
            start,
            end,
            name=args.name,
            description=args.description,
            extra=args.spec or None,
            add_present=args.present or (),
            sensitive_from=args.redact_sensitive,
        )
        _print_version("created clip", info)
        print(info.clip_id)
    elif args.action == "edit":
        info = service.edit_clip(
            store, args.clip, start=args.start, end=args.end, extra=args.spec or None, reason=args.reason
        )
        _print_version("new version of clip", info)
    elif args.action == "presence":
        names = service.set_presence(store, args.clip, add=args.add or (), remove=args.remove or ())
        print(f"clip {args.clip}: present: {', '.join(names) or 'nobody'}")
    elif args.action == "list":
        _list_clips(store)
    elif args.action == "show":
        _show_clip(store, args.clip)
    return 0


def _annotation_times(store: Any, ref: str) -> tuple[float, float]:
    from app.cli.main import UserError

    doc, _, ann = ref.partition(":")
    if not doc.isdigit() or not ann:
        raise UserError(f"--annotation {ref!r}: use DOC:ANNOTATION_ID, e.g. 3:a17")
    from annotation.clips import media_origin
    from annotation.services import document_display

    origin = media_origin(store, int(doc))  # a clip is cut in the recording's time, not the document's
    for segs in document_display(store, int(doc)).values():
        for seg in segs:
            if seg.ann_id == ann:
                return (seg.start + origin) / 1000, (seg.end + origin) / 1000
    raise UserError(f"document {doc}: no annotation {ann!r}")


def _print_version(what: str, info: Any) -> None:
    present = ", ".join(info.present) or "nobody (add with 'frontdoor clip presence')"
    print(f"{what} {info.clip_id}: version {info.number} ({info.version_hash[:12]}); present: {present}")


def _list_clips(store: Any) -> None:
    from sqlalchemy import select

    from consent.models import Clip
    from consent.service import current_version, present_names

    with store.session() as s:
        clips = list(s.scalars(select(Clip).order_by(Clip.id)))
        if not clips:
            print("no clips")
        for c in clips:
            v = current_version(s, c)
            spec = v.spec
            print(
                f"{c.id:>4}  {c.name:<40} rec {c.recording_id}  {spec['start']:g}-{spec['end']:g} s  "
                f"v{v.number} {v.version_hash[:12]}  present: {', '.join(present_names(s, v.id)) or '-'}"
            )


def _show_clip(store: Any, ref: str) -> None:
    from sqlalchemy import select

    from consent.models import ClipVersion, Decision, Participant
    from consent.service import clip, current_version, present_names

    with store.session() as s:
        c = clip(s, ref)
        cur = current_version(s, c)
        print(f"clip {c.id}: {c.name} (recording {c.recording_id})")
        if c.description:
            print(f"  {c.description}")
        for v in s.scalars(select(ClipVersion).where(ClipVersion.clip_id == c.id).order_by(ClipVersion.number)):
            flag = "current" if v.id == cur.id else "superseded"
            spec = v.spec
            print(
                f"  version {v.number} {v.version_hash[:12]} ({flag}): {spec['start']:g}-{spec['end']:g} s, {v.reason}"
            )
            extras = [f"{len(spec.get(k, []))} {k}" for k in ("redactions", "audio") if spec.get(k)]
            if extras:
                print(f"    {', '.join(extras)}")
            print(f"    present: {', '.join(present_names(s, v.id)) or '-'}")
            for d, name in s.execute(
                select(Decision, Participant.pseudonym)
                .join(Participant, Participant.id == Decision.participant_id)
                .where(Decision.clip_version_id == v.id)
                .order_by(Decision.id)
            ).all():
                cond = f" with {len(d.conditions)} condition(s)" if d.conditions else ""
                via = f", paper form {d.form_reference}" if d.method == "paper_form" else ""
                print(f"    decision {d.id}: {name} {d.decision} {d.scope}{cond}{via}")


# ---- consent ------------------------------------------------------------------------------------------


def cmd_consent(args: argparse.Namespace) -> int:
    from consent import service

    store = _store(args)
    if args.action == "record":
        if not args.version and not args.form_ref:
            from app.cli.main import UserError

            raise UserError(
                "consent record: give --version HASH (the version the person saw: 'frontdoor clip show CLIP') "
                "or --form-ref REF (from the signed form)"
            )
        res = service.record_decision(
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
        if res.new_version is not None:
            _print_version("the condition changes the edit: new version of clip", res.new_version)
            print("everyone present must consent to the new version")
    elif args.action == "status":
        _status(store, args.scope, args.recording)
    elif args.action == "withdraw":
        todo = service.withdraw(store, args.participant, reason=args.reason)
        print(f"{args.participant} has withdrawn: every use of their clips is revoked")
        _print_destroy(todo)
    elif args.action == "destroy":
        if args.list or not args.item:
            _print_destroy(service.destruction_list(store))
        for item in args.item or ():
            path = service.confirm_destroyed(store, item, delete_file=args.delete)
            print(f"export item {item} destroyed: {path}")
    elif args.action == "form":
        from consent.forms.form import write_form

        out = write_form(store, args.participant, Path(args.out))
        print(f"wrote {out}")
    elif args.action == "passphrase":
        _set_passphrase(store, args)
    return 0


def _read_fd(fd: int, what: str) -> str:
    """The first line of what a script passes on file descriptor ``fd`` (never the command line, which
    other users can read in the process list)."""
    import os

    from app.cli.main import UserError

    try:
        with os.fdopen(fd, "r", encoding="utf-8") as f:
            line = f.readline()
    except (OSError, ValueError) as exc:
        raise UserError(f"{what} {fd}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    return line.rstrip("\r\n")


def _set_passphrase(store: Any, args: argparse.Namespace) -> None:
    from getpass import getpass

    from app.cli.main import UserError
    from consent.station import passphrase

    is_set = passphrase.has_passphrase(store, args.project)
    if args.passphrase_fd is not None:
        if args.old_passphrase_fd == args.passphrase_fd:
            raise UserError("--old-passphrase-fd: give the current passphrase on a descriptor of its own")
        if is_set and args.old_passphrase_fd is None:
            raise UserError(
                f"project {args.project!r}: a passphrase is set; give the current one with --old-passphrase-fd N"
            )
        old = _read_fd(args.old_passphrase_fd, "--old-passphrase-fd") if is_set else None
        new = _read_fd(args.passphrase_fd, "--passphrase-fd")
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

    from app.cli.main import UserError
    from consent.station import passphrase, review

    if importlib.util.find_spec("PySide6") is None:
        raise UserError("the review station needs PySide6: pip install 'frontdoor[gui]'")
    store = _store(args)
    me = review.reviewer(store, args.participant, project=args.project)  # unknown or withdrawn: refused here
    passphrase.require_passphrase(store, me.project)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        raise UserError("no display: run the review station on a desktop")
    from app.gui.review.station import run_review_station

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
    from consent import service

    rows, usable = service.status(store, scope=scope, recording_id=recording)
    wanted = [scope] if scope else list(SCOPES)
    if not rows:
        print("no clips with participants present")
        return
    head = f"{'clip':>4}  {'v':>2}  {'participant':<20}" + "".join(f"  {s:<18}" for s in wanted)
    print(head)
    last = None
    for r in rows:
        if last is not None and r.clip_id != last:
            _usable_line(last, wanted, usable)
        print(f"{r.clip_id:>4}  {r.version:>2}  {r.participant:<20}" + "".join(f"  {r.cells[s]:<18}" for s in wanted))
        last = r.clip_id
    if last is not None:
        _usable_line(last, wanted, usable)
    print("(* granted with conditions; '-' not decided, which counts as no; 'if conds': only with --expires or")
    print(" --internal, as a condition asks)")


def _usable_line(clip_id: int, wanted: list[str], usable: dict[tuple[int, str], str]) -> None:
    label = {"usable": "USABLE", "if conditions": "USABLE if conds", "no": "not usable"}
    cells = "".join(f"  {label[usable[(clip_id, s)]]:<18}" for s in wanted)
    print(f"{'':>4}  {'':>2}  {'-> clip ' + str(clip_id):<20}{cells}")


# ---- export and audit ---------------------------------------------------------------------------------


def cmd_export_clips(args: argparse.Namespace) -> int:
    from app.cli.media import _progress_printer
    from consent.export.gate import export_clips

    store = _store(args)
    archive_passphrase = _archive_passphrase(args, store) if args.encrypt else None
    show = _progress_printer("export", args.quiet)
    report = export_clips(
        store,
        args.scope,
        args.outdir,
        recording_id=args.recording,
        clip_ids=args.clip or None,
        audience=args.audience,
        internal_audience=args.internal,
        expires=args.expires,
        progress=None if show is None else (lambda _i, p: show(p)),
        archive_passphrase=archive_passphrase,
    )
    for x in report.exported:
        who = ", ".join(f"{p['pseudonym']} (decision {'/'.join(map(str, p['decisions']))})" for p in x["participants"])
        print(f"exported clip {x['clip']} v{x['version']}: {x['output']}  [{who}]")
    for x in report.skipped:
        print(f"skipped clip {x['clip']} v{x['version']}: {'; '.join(x['why'])}")
    if report.archive is not None:
        print(f"encrypted archive: {report.archive} (the clips and {report.manifest.name}; 7-Zip opens it)")
        print(f"{len(report.exported)} exported, {len(report.skipped)} skipped")
        return 0
    print(f"manifest: {report.manifest} ({len(report.exported)} exported, {len(report.skipped)} skipped)")
    return 0


def _archive_passphrase(args: argparse.Namespace, store: Any) -> str:
    """The passphrase for the recipient: never the store's own, never on the command line."""
    from app.cli.main import UserError
    from app.cli.store import new_passphrase

    value = new_passphrase(args, "the encrypted archive", fd_attr="archive_passphrase_fd")
    if store.encrypted and value == store._passphrase:
        raise UserError("the encrypted archive: use a passphrase of its own, not the store's; nothing exported")
    return value


def cmd_audit(args: argparse.Namespace) -> int:
    from consent import audit
    from consent.server import access
    from consent.service import participant

    store = _store(args)
    with store.session() as s:
        if args.action == "verify":
            problem = access.records_problem(s)  # an auditor's check runs in the database
            n = s.query(audit.AuditEntry.id).count()
            if problem is not None:
                sys.stderr.write(f"frontdoor: audit: {problem.message}\n")
                return 3
            matched = "decisions, withdrawals and presence" if access.reads_everything(s) else "decisions, withdrawals"
            print(f"audit log verified: {n} entries, chain intact, {matched} match it")
            return 0
        pid = None
        clip_ids: list[int] = []
        if args.participant:
            p = participant(s, args.participant)
            pid = p.id
            from sqlalchemy import select

            from consent.models import ClipVersion, Presence

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
    return 0


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
    a.add_argument("start", type=_seconds)
    a.add_argument("end", type=_seconds)
    a = acts.add_parser("from-tier", help="take appearances from a document's Participants tier")
    a.add_argument("doc", type=int)

    s = sub(
        subs,
        "clip",
        "clips of stored recordings: every edit is a new immutable version that needs consent",
        "frontdoor clip create 1 --start 62.04s --end 75.5s --redact-sensitive 3 --name 'School nurse call'",
        cmd_clip,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("create", help="a new clip of RECORDING (times, or an annotation's span)")
    a.add_argument("recording", type=int)
    a.add_argument("--start", type=_seconds)
    a.add_argument("--end", type=_seconds)
    a.add_argument("--annotation", metavar="DOC:ID", help="take the times from an annotation")
    a.add_argument("--name")
    a.add_argument("--description")
    a.add_argument("--spec", type=_json_arg, metavar="JSON|@FILE", help="extra edit-spec fields (redactions...)")
    a.add_argument("--present", action="append", metavar="P", help="a participant present (besides appearances)")
    a.add_argument("--redact-sensitive", type=int, metavar="DOC", help="bleep DOC's sensitive identifiers")
    a = acts.add_parser("edit", help="a new version of a clip")
    a.add_argument("clip")
    a.add_argument("--start", type=_seconds)
    a.add_argument("--end", type=_seconds)
    a.add_argument("--spec", type=_json_arg, metavar="JSON|@FILE", help="edit-spec fields to set")
    a.add_argument("--reason", default="edited")
    a = acts.add_parser("presence", help="correct who is present in a clip's current version")
    a.add_argument("clip")
    a.add_argument("--add", action="append", metavar="P")
    a.add_argument("--remove", action="append", metavar="P")
    acts.add_parser("list", help="list clips with their current version")
    a = acts.add_parser("show", help="a clip's versions, presence and decisions")
    a.add_argument("clip")

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

    s = sub(
        subs,
        "export-clips",
        "the consent gate: render only clip versions everyone present approved for SCOPE, with a manifest",
        "frontdoor export-clips --scope external_seminar out/ --audience 'ECSW seminar 2027' --expires 2027-06-30",
        cmd_export_clips,
    )
    s.add_argument("--scope", required=True, help=" < ".join(SCOPES))
    s.add_argument("outdir")
    s.add_argument("--recording", type=int)
    s.add_argument("--clip", type=int, action="append", metavar="ID")
    s.add_argument("--audience", help="the audience or event, written on every frame")
    s.add_argument("--internal", action="store_true", help="the audience is inside the authority")
    s.add_argument("--expires", type=_date, metavar="YYYY-MM-DD", help="written on every frame; use ends then")
    s.add_argument("--quiet", action="store_true")
    s.add_argument(
        "--encrypt",
        action="store_true",
        help="one AES-256 7z archive (clips and manifest) for transport; asks a passphrase",
    )
    s.add_argument(
        "--archive-passphrase-fd", type=_fd, metavar="N", help="scripts: the archive's passphrase from descriptor N"
    )

    s = sub(
        subs,
        "audit",
        "the consent audit log: 'verify' checks the hash chain, 'show' prints the history",
        "frontdoor audit show --participant 'Duty worker A'",
        cmd_audit,
    )
    s.add_argument("action", choices=["verify", "show"])
    s.add_argument("--participant", help="with show: the history this participant is entitled to see")
