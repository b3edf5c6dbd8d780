"""``frontdoor records ...`` and ``frontdoor report``: referral records and the report, from the command line.

Bad rows of an import are printed one per line (``FILE:ROW: column 'X': problem``) before the usual one-line
error; warnings about notes that look like identifiers name the position, never the text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.cli.common import UserError, command_store


def _when(text: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date and time (2026-03-02T10:15 or 02/03/2026 10:15)")


def _yes_no(text: str) -> bool:
    t = text.strip().lower()
    if t in ("yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: say yes or no")


def _segment(text: str) -> tuple[int, str]:
    doc, _, ann = text.partition(":")
    if not doc.isdigit() or not ann:
        raise argparse.ArgumentTypeError(f"{text!r}: use DOC:ANNOTATION_ID, e.g. 3:a17")
    return int(doc), ann


_FIELD_OPTIONS = (
    ("received", "received_at", _when, "when the referral came in (2026-03-02T10:15)"),
    ("period", "period", str, "period or cohort label (default: the quarter, e.g. 2026-Q1)"),
    ("referrer-type", "referrer_type", str, "who referred (see 'records vocab')"),
    ("concern", "concern", str, "the concern as stated"),
    ("age-band", "age_band", str, "the child's age band"),
    ("previous-referrals", "previous_referrals", int, "how many earlier referrals"),
    ("response", "response", str, "the response decided"),
    ("outcome", "outcome", str, "the outcome"),
    ("decision-minutes", "decision_minutes", int, "minutes from referral to decision"),
    ("initial-assessment", "initial_assessment", _yes_no, "an initial assessment followed: yes or no"),
    ("feedback", "feedback", _yes_no, "the referrer got feedback: yes or no"),
    ("manager-consulted", "manager_consulted", _yes_no, "a manager or senior practitioner was consulted"),
    ("notes", "notes", str, "free notes: no names, addresses, dates of birth or numbers"),
)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    return {field: getattr(args, field) for _, field, _, _ in _FIELD_OPTIONS if getattr(args, field) is not None}


def _print_warnings(what: str, warnings: Any) -> None:
    for w in warnings:
        sys.stderr.write(f"frontdoor: warning: {what}: {w.message('notes')}; edit them out\n")


def cmd_records(args: argparse.Namespace) -> int:
    from annotation.records import referrals as records

    if args.action == "vocab":
        vocab = records.load_vocabularies()
        for name in ("referrer_type", "concern", "age_band", "response", "outcome"):
            values = vocab.values(name)
            if name == "referrer_type":
                values = tuple(
                    f"{v} ({'professional' if vocab.is_professional(v) else 'non-professional'})" for v in values
                )
            print(f"{name}: " + "; ".join(values))
        return 0
    store = command_store(args)
    if args.action == "import":
        return _import(store, args)
    if args.action == "add":
        saved = records.add_record(store, args.project, _fields(args), reference=args.reference)
        _print_warnings(f"record {saved.id}", saved.warnings)
        print(f"added record {saved.id} to project {args.project!r}")
        print(saved.id)
    elif args.action == "edit":
        changes = _fields(args)
        if not changes:
            raise UserError("records edit: nothing to change (give one or more field options)")
        saved = records.edit_record(store, args.record, changes, expected_version=args.expect_version)
        _print_warnings(f"record {saved.id}", saved.warnings)
        print(f"record {args.record} changed: {', '.join(sorted(changes))}")
    elif args.action == "delete":
        records.delete_record(store, args.record)
        print(f"record {args.record} deleted")
    elif args.action == "list":
        _list(store, args)
    elif args.action == "link":
        doc, ann = args.segment
        records.link_segment(store, args.record, doc, ann)
        print(f"record {args.record} observed in {doc}:{ann}")
    elif args.action == "unlink":
        doc, ann = args.segment
        records.unlink_segment(store, args.record, doc, ann)
        print(f"record {args.record} no longer linked to {doc}:{ann}")
    elif args.action == "show":
        _show(store, args.record)
    elif args.action == "demo-sample":
        from annotation.records import store_sample

        done = store_sample(store, args.project, args.n, seed=args.seed, coded_documents=args.coded_documents)
        print(
            f"project {args.project!r}: {done.records} synthetic records stored, coded documents "
            f"{', '.join(map(str, done.documents)) or 'none'}, {done.links} records linked to video segments"
        )
    return 0


def _import(store: Any, args: argparse.Namespace) -> int:
    from annotation.errors import RecordImportError
    from annotation.records import ColumnMapping, import_records

    mapping = ColumnMapping()
    if args.mapping:
        mapping = ColumnMapping.from_file(args.mapping)
    if args.map:
        mapping = mapping.merged(ColumnMapping.from_options(args.map))
    progress = None
    try:
        result = import_records(
            store,
            args.file,
            args.project,
            mapping=mapping,
            skip_bad=args.skip_bad,
            period=args.period,
            flagged_notes=args.flagged_notes,
            on_progress=progress,
        )
    except RecordImportError as exc:
        for line in exc.problems:
            sys.stderr.write(line + "\n")
        raise
    for line in result.problems:
        sys.stderr.write(f"{line} (skipped)\n")
    for line in result.warnings:
        sys.stderr.write(f"warning: {line}\n")
    if result.ignored_columns:
        print(f"columns not imported: {', '.join(result.ignored_columns)}")
    print(
        f"imported {result.imported} of {result.rows} rows from {args.file} ({result.encoding}) into project "
        f"{args.project!r}: {result.already_stored} already stored, {result.skipped_bad} bad rows skipped "
        f"({result.seconds:.2f} s)"
    )
    return 0


def _list(store: Any, args: argparse.Namespace) -> None:
    from annotation.records import identifier_warnings, list_records

    rows = list_records(store, args.project, periods=[args.period] if args.period else None)
    if args.check:
        rows = [r for r in rows if identifier_warnings(r.notes)]
    if not rows:
        print("no records" + (" with notes to check" if args.check else ""))
        return
    print(f"{'id':>6}  {'received':16}  {'period':8}  {'referrer':18}  {'concern':26}  {'response':24}  video")
    for r in rows:
        flag = "  (check notes)" if identifier_warnings(r.notes) else ""
        print(
            f"{r.id:>6}  {r.received_at:%Y-%m-%d %H:%M}  {r.period:8}  {r.referrer_type:18}  {r.concern:26}  "
            f"{r.response or '-':24}  {len(r.segments)}{flag}"
        )


def _show(store: Any, record_id: int) -> None:
    from annotation.records import FIELDS, get_record, identifier_warnings, record_segments

    r = get_record(store, record_id)
    print(f"record {r.id} (version {r.version}, {r.source})")
    for f in FIELDS:
        v = getattr(r, f)
        print(f"  {f:20} {'-' if v is None else v}")
    print(f"  {'professional':20} {'-' if r.professional is None else r.professional}")
    for w in identifier_warnings(r.notes):
        print(f"  check: {w.message('notes')}")
    for seg in record_segments(store, record_id):
        where = f"{seg.tier} {seg.start_ms} to {seg.end_ms} ms: {seg.value}" if seg.present else "(annotation deleted)"
        print(f"  observed in {seg.document_id}:{seg.ann_id}  {where}")


def cmd_report(args: argparse.Namespace) -> int:
    from annotation.report import build_report

    if args.compare and not args.period:
        raise UserError("report: --compare B needs --period A")
    if not args.out.lower().endswith((".html", ".htm")):
        raise UserError(f"--out {args.out}: give an .html file (the PDF and data folder are written beside it)")
    result = build_report(
        command_store(args),
        args.project,
        args.out,
        period=args.period,
        compare=args.compare,
        pdf=args.pdf,
        documents=args.doc,
        publication=args.publication,
    )
    print(f"wrote {result.html}" + (f" and {result.pdf}" if result.pdf else ""))
    print(
        "publication version: small cells suppressed, no plots"
        if args.publication
        else "research team version: unsuppressed plots and statistics, not for publication (see --publication)"
    )
    print(
        f"data: {result.data_dir} ({len(result.files)} files); {result.records} records, "
        f"{result.documents} coded documents"
    )
    print(f"({result.seconds:.1f} s)")
    return 0


def add_records_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``records`` and ``report`` (called from :func:`app.cli.main.build_parser`)."""
    s = sub(
        subs,
        "records",
        "referral records sampled from case records (no child or family identifiers)",
        "frontdoor records import extract.csv --project 'Duty room study' --map 'Contact ID=reference'",
        cmd_records,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser(
        "import",
        help="import a CSV extract: bad rows named one per line, nothing stored unless all are good (or --skip-bad)",
    )
    a.add_argument("file")
    a.add_argument("--project", required=True)
    a.add_argument("--map", action="append", metavar="COLUMN=FIELD", help="which column feeds a field (repeatable)")
    a.add_argument("--mapping", metavar="FILE", help="a JSON or TOML column mapping (columns, values, date_format)")
    a.add_argument("--skip-bad", action="store_true", help="import the good rows and report the bad ones")
    a.add_argument("--period", help="period label for rows without one (default: the quarter they came in)")
    a.add_argument(
        "--flagged-notes",
        choices=["keep", "drop", "refuse"],
        default="keep",
        help="notes that look like identifiers: keep with a warning (default), drop them, or refuse the row",
    )
    for action in ("add", "edit"):
        a = acts.add_parser(action, help="add a record by hand" if action == "add" else "change fields of a record")
        if action == "add":
            a.add_argument("--project", required=True)
            a.add_argument("--reference", help="the authority's referral reference (kept only as a keyed hash)")
        else:
            a.add_argument("record", type=int)
            a.add_argument("--expect-version", type=int, help="fail if the record changed since this version")
        for opt, dest, typ, hlp in _FIELD_OPTIONS:
            a.add_argument(f"--{opt}", dest=dest, type=typ, help=hlp)
    a = acts.add_parser("delete", help="delete a record")
    a.add_argument("record", type=int)
    a = acts.add_parser("list", help="list a project's records")
    a.add_argument("--project", required=True)
    a.add_argument("--period")
    a.add_argument("--check", action="store_true", help="only records whose notes look like they hold identifiers")
    a = acts.add_parser("show", help="one record, its warnings and the video segments it was observed in")
    a.add_argument("record", type=int)
    a = acts.add_parser("link", help="the referral was observed in a video annotation: RECORD DOC:ANNOTATION_ID")
    a.add_argument("record", type=int)
    a.add_argument("segment", type=_segment)
    a = acts.add_parser("unlink", help="remove a link: RECORD DOC:ANNOTATION_ID")
    a.add_argument("record", type=int)
    a.add_argument("segment", type=_segment)
    acts.add_parser("vocab", help="the allowed values of each field")
    a = acts.add_parser("demo-sample", help="store N synthetic referrals (seeded) and coded documents for a demo")
    a.add_argument("n", type=int)
    a.add_argument("--project", required=True)
    a.add_argument("--seed", type=int, default=2026)
    a.add_argument("--coded-documents", type=int, default=2, metavar="K")

    s = sub(
        subs,
        "report",
        "the referral report (HTML, data CSVs beside it, --pdf), from the store alone",
        "frontdoor report --project 'Duty room study' --period 2026-Q1 --compare 2026-Q2 --out report.html --pdf",
        cmd_report,
    )
    s.add_argument("--project", required=True)
    s.add_argument("--period", metavar="A", help="only this period (with --compare: the first of the two)")
    s.add_argument("--compare", metavar="B", help="compare period A with period B")
    s.add_argument("--out", required=True, metavar="REPORT.html")
    s.add_argument("--pdf", action="store_true", help="also write REPORT.pdf")
    s.add_argument("--doc", type=int, action="append", metavar="ID", help="coded documents to include (default: all)")
    s.add_argument(
        "--publication",
        action="store_true",
        help="the version to publish: suppressed tables only, no plots, no test statistics "
        "(default: the research team's version, with unsuppressed plots and statistics)",
    )
