"""``frontdoor identifiers ...``: the watch list, scanning a document's transcripts, and reviewing proposals.

Terms are never taken from the command line (it lands in the shell's history and the process list): ``watch
add`` reads them from ``--file``, from a pipe, or from a prompt on the terminal. Only ``watch list`` prints
them, and ``proposals`` the transcript text they were found in, for the researcher; every other line (and
every error) names terms and proposals by number.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.cli.common import UserError, command_store, doc_id, parse_time
from media_tools.clock import clock_text

_PROMPT = "term (other spellings after |; an empty line ends): "


def _clock(ms: int) -> str:
    return clock_text(ms, hours="auto")


def _term_lines(args: argparse.Namespace) -> Iterator[str]:
    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise UserError(f"{args.file}: cannot read it ({why})") from None
        yield from text.splitlines()
        return
    if sys.stdin is None:
        raise UserError("watch add: give the terms with --file FILE or on standard input")
    if not sys.stdin.isatty():
        yield from sys.stdin.read().splitlines()
        return
    sys.stderr.write("Type one term a line (they are stored in the project's store, not your shell history).\n")
    while True:
        try:
            line = input(_PROMPT)
        except EOFError:
            return
        if not line.strip():
            return
        yield line


def _watch(args: argparse.Namespace) -> int:
    from annotation.identifiers import watch_list

    if args.watch_action == "add":
        entries = watch_list.parse_watch_lines(_term_lines(args), kind=args.kind, label=args.label)
        if not entries:
            raise UserError("watch add: no terms given (one a line, from --file, a pipe or the prompt)")
        done = watch_list.add_watch_terms(command_store(args), args.project, entries)
        print(
            f"watch list of project {args.project!r}: {done.added} term{'s' * (done.added != 1)} added"
            + (f", {done.already} already listed (new spellings added to them)" if done.already else "")
        )
        print("scan documents for them with: frontdoor identifiers scan DOC")
    elif args.watch_action == "list":
        terms = watch_list.list_watch_terms(command_store(args), args.project)
        if not terms:
            print(f"the watch list of project {args.project!r} is empty (add terms with 'identifiers watch add')")
            return 0
        print(f"{'id':>5}  {'kind':<12} {'value':<18} term | other spellings")
        for t in terms:
            spellings = " | ".join((t.term, *t.variants))
            print(f"{t.id:>5}  {t.kind:<12} {t.value:<18} {spellings}")
    else:
        gone = watch_list.remove_watch_terms(command_store(args), args.project, args.ids)
        print(
            f"watch list of project {args.project!r}: {gone.removed} term{'s' * (gone.removed != 1)} removed"
            + (f", {gone.proposals_withdrawn} undecided proposals withdrawn" if gone.proposals_withdrawn else "")
        )
    return 0


def _scan(args: argparse.Namespace) -> int:
    from annotation.identifiers import scan_document

    r = scan_document(command_store(args), args.doc, tiers=args.tier or None, guess_names=args.guess_names)
    if not r.tiers:
        sys.stderr.write(
            f"frontdoor: warning: document {args.doc}: no free-text tier to search (tiers with a controlled "
            "vocabulary are not searched); name one with --tier\n"
        )
    if not r.has_project:
        sys.stderr.write(
            f"frontdoor: warning: document {args.doc} belongs to no project, so no watch list was searched: "
            "only the identifier patterns\n"
        )
    elif not r.terms:
        sys.stderr.write(
            f"frontdoor: warning: the project of document {args.doc} has an empty watch list: only the "
            "identifier patterns were searched (add terms with 'identifiers watch add')\n"
        )
    print(
        f"document {args.doc}: {r.annotations} annotations searched on {len(r.tiers)} tier"
        f"{'s' * (len(r.tiers) != 1)}{' (' + ', '.join(r.tiers) + ')' if r.tiers else ''} for {r.terms} watch-list "
        f"term{'s' * (r.terms != 1)} and the identifier patterns in {r.seconds:.1f} s"
    )
    print(
        f"{r.new} new proposal{'s' * (r.new != 1)}; {r.pending} waiting for review; {r.rejected} kept rejected; "
        f"{r.confirmed} confirmed before"
        + (f"; {r.reopened} confirmed but their annotation is gone: pending again" if r.reopened else "")
        + (f"; {r.withdrawn} withdrawn (no longer found)" if r.withdrawn else "")
    )
    if r.pending:
        print(f"nothing is confirmed until you do: frontdoor identifiers proposals {args.doc}")
    return 0


def _marked(text: str, marks: tuple[tuple[int, int], ...]) -> str:
    out, last = [], 0
    for a, b in sorted(marks):
        if a < last:
            continue
        out += [text[last:a], "[[", text[a:b], "]]"]
        last = b
    out.append(text[last:])
    return " ".join("".join(out).split())


def _proposals(args: argparse.Namespace) -> int:
    from annotation.identifiers import CONFIRMED, PENDING, REJECTED, list_proposals

    statuses = (PENDING, CONFIRMED, REJECTED) if args.all else (PENDING,)
    rows = list_proposals(command_store(args), args.doc, statuses=statuses, context=not args.no_context)
    if not rows:
        which = "" if args.all else "pending "
        print(f"document {args.doc}: no {which}proposals (scan it: frontdoor identifiers scan {args.doc})")
        return 0
    for p in rows:
        length = (p.end - p.start) / 1000
        hint = "; long: narrow it with --start/--end" if p.long and p.status == PENDING else ""
        made = f" -> {p.sensitive_ann_id}" if p.sensitive_ann_id else ""
        print(
            f"{p.id:>6}  {p.status:<9} {_clock(p.start)}-{_clock(p.end)} ({length:.1f} s{hint})  "
            f"{p.tier_id} {p.ann_id}  {p.kind} -> {p.value!r}{made}"
        )
        if p.context is not None:
            print(f"        {_marked(p.context, p.marks)}")
        elif not args.no_context:
            print("        (the annotation it was found in is gone; scan again)")
    pending = sum(p.status == PENDING for p in rows)
    if pending:
        print(f"{pending} pending: frontdoor identifiers confirm ID... (or reject ID...)")
    return 0


def _covering_clips(store: Any, doc_id: int, start: int, end: int) -> tuple[list[int], int]:
    """Clips of the document's recording whose current version covers [start, end) ms of the document (its
    time origin added), and how many files were exported from their versions before now (they are not
    changed)."""
    from sqlalchemy import func, select

    from annotation.store import Document
    from consent.models import Clip, ClipVersion, ExportItem
    from consent.rows import current_version

    with store.session() as s:
        row = s.execute(select(Document.recording_id, Document.media_origin_ms).where(Document.id == doc_id)).first()
        if row is None or row[0] is None:
            return [], 0
        rec, origin = row[0], row[1] or 0
        start, end = start + origin, end + origin  # clips are in the recording's time
        clips = []
        for c in s.scalars(select(Clip).where(Clip.recording_id == rec).order_by(Clip.id)):
            v = current_version(s, c)
            if v.spec["start"] * 1000 < end and v.spec["end"] * 1000 > start:
                clips.append(c.id)
        files = 0
        if clips:
            files = (
                s.scalar(
                    select(func.count())
                    .select_from(ExportItem)
                    .join(ClipVersion, ClipVersion.id == ExportItem.clip_version_id)
                    .where(ClipVersion.clip_id.in_(clips), ExportItem.destroyed_at.is_(None))
                )
                or 0
            )
    return clips, int(files)


def _decide(args: argparse.Namespace) -> int:
    from annotation.elan import SENSITIVE_TIER
    from annotation.identifiers import confirm_proposal, reject_proposal

    store = command_store(args)
    if args.identifiers_action == "reject":
        for pid in args.ids:
            reject_proposal(store, pid)
            print(f"proposal {pid} rejected (it stays rejected on later scans)")
        return 0
    if (args.start is not None or args.end is not None) and len(args.ids) > 1:
        raise UserError("identifiers confirm: --start and --end adjust one proposal at a time")
    for pid in args.ids:
        cmd = confirm_proposal(store, pid, start=args.start, end=args.end, value=args.value)
        start, end = cmd.ann_start if cmd.ann_start is not None else cmd.start, cmd.ann_end or cmd.end
        joined = f", joined with {', '.join(cmd.joined)}" if cmd.joined else ""
        print(
            f"proposal {pid} confirmed: annotation {cmd.ann_id} on {SENSITIVE_TIER!r} of document {cmd.doc_id}, "
            f"{_clock(start)}-{_clock(end)} ({cmd.ann_value or cmd.value}){joined}"
        )
        clips, files = _covering_clips(store, cmd.doc_id, cmd.start, cmd.end)
        if clips:
            print(
                f"  bleeped in the next export of clip{'s' * (len(clips) > 1)} {', '.join(map(str, clips))} "
                "(their versions and consents stay as they are)"
                + (f"; {files} {'file' if files == 1 else 'files'} exported from them before now " if files else "")
                + (("is" if files == 1 else "are") + " not changed" if files else "")
            )
    return 0


def cmd_identifiers(args: argparse.Namespace) -> int:
    action = args.identifiers_action
    if action == "watch":
        return _watch(args)
    if action == "scan":
        return _scan(args)
    if action == "proposals":
        return _proposals(args)
    return _decide(args)


def add_identifiers_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``identifiers`` (called from :func:`app.cli.main.build_parser`)."""
    s = sub(
        subs,
        "identifiers",
        "find children's and families' names, places, case numbers, dates of birth, phone numbers ... in a "
        "document's transcripts; confirmed ones are bleeped in every clip (nothing is confirmed for you)",
        "frontdoor identifiers watch add --project 'Duty room study' --file names.txt\n"
        "  frontdoor identifiers scan 3\n  frontdoor identifiers proposals 3\n"
        "  frontdoor identifiers confirm 12 14\n  frontdoor identifiers confirm 15 --start 1:02.300 --end 1:03.100\n"
        "  frontdoor identifiers reject 13",
        cmd_identifiers,
    )
    acts = s.add_subparsers(dest="identifiers_action", metavar="ACTION", required=True, parser_class=parser_class)
    w = acts.add_parser(
        "watch",
        help="a project's watch list of names, places and case numbers (terms never on the command line)",
    )
    wacts = w.add_subparsers(dest="watch_action", metavar="ACTION", required=True, parser_class=parser_class)
    a = wacts.add_parser(
        "add",
        help="add terms, one a line, from --file, a pipe or a prompt: 'term | other spelling', optionally "
        "'case number: CN-1' or 'name (child name): Kayden'",
    )
    a.add_argument("--project", required=True)
    a.add_argument("--kind", default="name", help="name (default), place, 'case number' or other")
    a.add_argument("--label", help="the Sensitive identifier value confirmed ones get (e.g. 'child name')")
    a.add_argument("--file", metavar="FILE", help="UTF-8 text, one term a line (default: standard input)")
    a = wacts.add_parser("list", help="the watch list, terms included (for your eyes: mind who sees the screen)")
    a.add_argument("--project", required=True)
    a = wacts.add_parser("remove", help="take terms off the list by id (see 'watch list')")
    a.add_argument("ids", type=int, nargs="+", metavar="ID")
    a.add_argument("--project", required=True)

    a = acts.add_parser("scan", help="search a document's free-text tiers and store proposals (changes no clip)")
    a.add_argument("doc", type=doc_id, metavar="DOC")
    a.add_argument("--tier", action="append", help="search this tier (repeatable; default: every free-text tier)")
    a.add_argument("--guess-names", action="store_true", help="also guess names by capitals (many false alarms)")

    a = acts.add_parser("proposals", help="a document's pending proposals with the text they were found in")
    a.add_argument("doc", type=doc_id, metavar="DOC")
    a.add_argument("--all", action="store_true", help="confirmed and rejected ones too")
    a.add_argument("--no-context", action="store_true", help="leave out the transcript text")

    a = acts.add_parser("confirm", help="confirm proposals: a Sensitive identifier annotation over each span")
    a.add_argument("ids", type=int, nargs="+", metavar="ID")
    a.add_argument("--start", type=parse_time, help="narrow the span (one proposal): ms, 1.5s, mm:ss.mmm")
    a.add_argument("--end", type=parse_time)
    a.add_argument("--value", help="what kind of identifier (default: the proposal's, e.g. 'family name')")

    a = acts.add_parser("reject", help="reject proposals (remembered for the same annotation and match)")
    a.add_argument("ids", type=int, nargs="+", metavar="ID")
