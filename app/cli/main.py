"""The ``frontdoor`` command line. No Qt at module level: the GUI is imported only by ``frontdoor app``.

Errors a user can cause end with exit status 2 and one line on stderr: ``frontdoor: error: <thing>: <problem>``.
Anything else is a bug: its traceback goes to the log file and the user gets one line naming that file.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from annotation.errors import AnnotationError, InvalidEdit

PROG = "frontdoor"
log = logging.getLogger("frontdoor")


class UserError(Exception):
    """A problem with what the user asked for, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{PROG}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("frontdoor")
    except PackageNotFoundError:
        return "0+unknown"


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d{1,3})?)$")


def parse_time(text: str) -> int:
    """Milliseconds from ``1500`` (ms), ``1.5s``, ``01:02.5`` (mm:ss) or ``1:02:03.250`` (h:mm:ss)."""
    t = text.strip()
    try:
        if t.endswith("ms"):
            return int(t[:-2])
        if t.endswith("s"):
            return round(float(t[:-1]) * 1000)
        if t.isdigit():
            return int(t)
    except ValueError:
        pass
    m = _CLOCK.match(t)
    if m:
        h, mi, s = m.groups()
        return (int(h or 0) * 3600 + int(mi) * 60) * 1000 + round(float(s) * 1000)
    raise argparse.ArgumentTypeError(f"{text!r} is not a time (use ms, 1.5s, mm:ss.mmm or h:mm:ss.mmm)")


def _doc_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a document id (a number; see 'frontdoor documents')")
    return int(text)


def _store(args: argparse.Namespace, ask: Any = None) -> Any:
    """The store of ``--db`` (or the default), opened once per command; an encrypted one with its passphrase
    (``app.cli.store``: a descriptor, the keyring, or ``ask``/a terminal prompt)."""
    cached = args.__dict__.get("_open_store")
    if cached is None:
        from app.cli.store import open_store_for

        cached = args.__dict__["_open_store"] = open_store_for(args, ask=ask)
    return cached


# ---- commands -------------------------------------------------------------------------------------------


def cmd_import_eaf(args: argparse.Namespace) -> int:
    from annotation.services import import_file

    store = _store(args)
    r = import_file(store, args.file, recording_id=args.recording, name=args.name)
    for note in r.notes:
        print(f"note: {note}")
    print(f"imported {args.file} ({r.kind}): {r.tiers} tiers, {r.annotations} annotations")
    print(r.doc_id)
    return 0


def cmd_export_eaf(args: argparse.Namespace) -> int:
    from annotation.services import export_eaf

    doc = export_eaf(_store(args), args.doc, args.out)
    print(f"wrote {args.out}: {len(doc.tiers)} tiers, {doc.annotation_count()} annotations")
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from annotation.services import roundtrip

    did = roundtrip(_store(args), args.input, args.output)
    print(f"wrote {args.output} (stored as document {did})")
    print(did)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from annotation.services import export_other

    export_other(_store(args), args.doc, args.format, args.out, args.tier or None)
    print(f"wrote {args.out} ({args.format})")
    return 0


def cmd_new_document(args: argparse.Namespace) -> int:
    from annotation.services import new_document

    did = new_document(_store(args), args.scheme, name=args.name, recording_id=args.recording)
    print(f"created document {did} from scheme {args.scheme}")
    print(did)
    return 0


def cmd_documents(args: argparse.Namespace) -> int:
    from annotation.services import documents

    docs = documents(_store(args))
    if not docs:
        print("no documents in the store (import one with 'frontdoor import-eaf FILE.eaf')")
        return 0
    print(f"{'id':>5}  {'kind':4}  {'tiers':>5}  {'annotations':>11}  name")
    for d in docs:
        print(f"{d.id:>5}  {d.kind:4}  {d.tiers:>5}  {d.annotations:>11}  {d.name}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from annotation.elan.exports import clock
    from annotation.store.search import search_annotations
    from annotation.store.tables import Project

    store = _store(args)
    pid = None
    if args.project is not None:
        with store.session() as s:
            p = s.scalar(select(Project).where(Project.name == args.project))
            if p is None:
                raise UserError(f"project {args.project!r}: not found")
            pid = p.id
    hits, more = search_annotations(store, args.text, project_id=pid, tier=args.tier, limit=args.limit)
    for h in hits:
        start = "-" if h.start is None else clock(h.start)
        print(f"{h.doc_id:>5}  {h.doc_name}  {h.tier_id}  {start}  {h.ann_id}  {h.value}")
    if more:
        sys.stderr.write(f"{PROG}: more than {args.limit} matches: showing the first {args.limit}\n")
    if not hits:
        print(f"no annotation contains {args.text!r}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from annotation.elan.exports import clock
    from annotation.services import document_display, document_info

    store = _store(args)
    info = document_info(store, args.doc)
    segs = document_display(store, args.doc)
    print(f"document {info.id}: {info.name} ({info.kind}), {info.tiers} tiers, {info.annotations} annotations")
    for tier, items in segs.items():
        print(f"  {tier}: {len(items)}")
        if args.annotations:
            for s in items:
                print(f"    {s.ann_id:>8}  {clock(s.start)}  {clock(s.end)}  {s.value}")
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
    from annotation.services import apply_edit

    store = _store(args)
    cmd: Any
    if args.action == "add":
        cmd = CreateAnnotation(args.doc, args.tier, args.start, args.end, args.value)
    elif args.action == "set":
        cmd = SetAnnotationValue(args.doc, args.annotation, args.value, expected_version=args.expect_version)
    elif args.action == "move":
        cmd = SetAnnotationTimes(args.doc, args.annotation, args.start, args.end, expected_version=args.expect_version)
    elif args.action == "delete":
        cmd = DeleteAnnotation(args.doc, args.annotation)
    else:  # pragma: no cover - argparse enforces the choices
        raise InvalidEdit(f"{args.action}: unknown action")
    apply_edit(store, cmd)
    ann = getattr(cmd, "ann_id", None)
    print(f"{cmd.description}: saved")
    if ann:
        print(ann)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from annotation.store.engine import head_revision, schema_revision
    from app.cli.store import open_store_for

    if args.action == "upgrade":
        store = open_store_for(args, migrate=False)
        before = schema_revision(store.engine)
        from annotation.store.engine import upgrade_schema

        upgrade_schema(store.engine)
        after = schema_revision(store.engine)
        print(
            f"{store.label}: schema {before or 'empty'} -> {after}"
            if before != after
            else f"{store.label}: schema is up to date ({after})"
        )
        return 0
    store = open_store_for(args, migrate=False)
    rev = schema_revision(store.engine)
    print(f"database: {store.label} ({store.dialect})")
    print(f"schema:   {rev or 'empty'} (newest {head_revision()})")
    return 0


def cmd_recording(args: argparse.Namespace) -> int:
    from annotation.services import add_recording, ensure_project, relink_recording
    from media_tools.probe import probe

    store = _store(args)
    if args.action == "relink":
        path = relink_recording(store, args.recording, args.folder)
        print(f"recording {args.recording} found at {path}")
        return 0
    info = probe(args.file)
    pid = ensure_project(store, args.project)
    rid = add_recording(
        store,
        pid,
        args.file,
        duration_ms=info.duration_ms,
        fps=info.fps,
        mime_type=info.mime_type,
        project_dir=args.project_dir,
    )
    print(f"added recording {args.file}: {info.duration_ms} ms, {info.fps or '-'} fps")
    print(rid)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.cli.demo import run_demo

    return run_demo(args.db, open_app=not args.headless)


def cmd_app(args: argparse.Namespace) -> int:
    import ctypes.util
    import importlib.util

    if importlib.util.find_spec("PySide6") is None:
        raise UserError("the desktop app needs PySide6: pip install 'frontdoor[gui]'")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        raise UserError("no display: run the app on a desktop (or under Xvfb: xvfb-run frontdoor app)")
    from app.gui.launch import ask_passphrase, pick_document, run_app

    store = _store(args, ask=ask_passphrase)
    try:
        doc = pick_document(store, args.project, args.doc)
    except LookupError as exc:
        raise UserError(str(exc)) from None
    if ctypes.util.find_library("vlc") is None:
        sys.stderr.write(
            "frontdoor: libvlc not found: video plays as stills only "
            "(apt-get install libvlc5 vlc-plugin-base vlc-plugin-video-output)\n"
        )
    delay = 8000 if args.tab == "analysis" else 2500  # the report is computed on a worker first
    return run_app(store, doc, screenshot=args.screenshot, tab=args.tab, delay_ms=delay)


def cmd_doctor(args: argparse.Namespace) -> int:
    from app.cli.doctor import report

    ok = True
    for line, good in report(args.db):
        ok &= good
        print(("ok    " if good else "MISSING ") + line)
    return 0 if ok else 1


# ---- parser ---------------------------------------------------------------------------------------------


def _sub(
    subs: Any, name: str, help: str, example: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subs.add_parser(
        name,
        help=help,
        description=help,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    from app.cli.store import fd_number

    p = _Parser(
        prog=PROG,
        description="Frontdoor: annotate duty-room recordings in ELAN format, seek consent, export clips.",
        epilog="example:\n  frontdoor import-eaf session1.eaf\n  frontdoor export-eaf 1 session1-out.eaf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # "--pass SECRET" must never be taken for --passphrase-fd
    )
    p.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (default: $FRONTDOOR_DB, else the per-user SQLite file)",
    )
    p.add_argument(
        "--passphrase-fd",
        dest="store_passphrase_fd",
        type=fd_number,
        metavar="N",
        help="an encrypted store's passphrase: read from descriptor N (else the keyring, else asked)",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    subs = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = _sub(
        subs,
        "import-eaf",
        "store an ELAN file (.eaf, .etf template or .ecv vocabulary); prints its id last",
        "frontdoor import-eaf 'duty room 2026-03-01.eaf' --recording 3",
        cmd_import_eaf,
    )
    s.add_argument("file")
    s.add_argument("--recording", type=int, metavar="ID", help="link the document to a stored recording")
    s.add_argument("--name", help="name to store it under (default: the file name)")

    s = _sub(
        subs,
        "export-eaf",
        "write a stored document as EAF 3.0",
        "frontdoor export-eaf 4 out.eaf",
        cmd_export_eaf,
    )
    s.add_argument("doc", type=_doc_id)
    s.add_argument("out")

    s = _sub(
        subs,
        "roundtrip",
        "import an ELAN file and export it again through the store",
        "frontdoor roundtrip in.eaf out.eaf",
        cmd_roundtrip,
    )
    s.add_argument("input")
    s.add_argument("output")

    from annotation.elan.exports import formats

    s = _sub(
        subs,
        "export",
        "export a document as tsv, csv, srt, vtt, textgrid or json",
        "frontdoor export 4 --format srt --tier 'Call phase' phases.srt",
        cmd_export,
    )
    s.add_argument("doc", type=_doc_id)
    s.add_argument("out")
    s.add_argument("--format", required=True, choices=formats())
    s.add_argument("--tier", action="append", metavar="TIER", help="only this tier (repeatable)")

    s = _sub(
        subs,
        "new-document",
        "create an empty document from a coding scheme; prints its id last",
        "frontdoor new-document --scheme referral --recording 1",
        cmd_new_document,
    )
    s.add_argument("--scheme", default="referral", help="'referral' (default) or a path to an ELAN template .etf")
    s.add_argument("--name")
    s.add_argument("--recording", type=int, metavar="ID")

    _sub(subs, "documents", "list the stored documents", "frontdoor documents", cmd_documents)

    s = _sub(
        subs,
        "search",
        "find annotations containing a text in every document (of a project)",
        "frontdoor search nurse --project 'Demo: duty room'",
        cmd_search,
    )
    s.add_argument("text")
    s.add_argument("--project")
    s.add_argument("--tier")
    s.add_argument("--limit", type=int, default=200)

    s = _sub(subs, "show", "summarise a stored document", "frontdoor show 4 --annotations", cmd_show)
    s.add_argument("doc", type=_doc_id)
    s.add_argument("--annotations", action="store_true", help="list every annotation")

    s = _sub(
        subs,
        "annotate",
        "edit annotations (each edit is saved at once)",
        "frontdoor annotate add 4 'Call phase' 0:05.000 0:12.500 opening",
        cmd_annotate,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    a = acts.add_parser("add", help="add an annotation: DOC TIER START END VALUE")
    a.add_argument("doc", type=_doc_id)
    a.add_argument("tier")
    a.add_argument("start", type=parse_time)
    a.add_argument("end", type=parse_time)
    a.add_argument("value")
    a = acts.add_parser("set", help="change an annotation's value: DOC ANNOTATION VALUE")
    a.add_argument("doc", type=_doc_id)
    a.add_argument("annotation")
    a.add_argument("value")
    a.add_argument("--expect-version", type=int, help="fail if the annotation changed since this version")
    a = acts.add_parser("move", help="change an annotation's times: DOC ANNOTATION START END")
    a.add_argument("doc", type=_doc_id)
    a.add_argument("annotation")
    a.add_argument("start", type=parse_time)
    a.add_argument("end", type=parse_time)
    a.add_argument("--expect-version", type=int)
    a = acts.add_parser("delete", help="delete an annotation and those that refer to it: DOC ANNOTATION")
    a.add_argument("doc", type=_doc_id)
    a.add_argument("annotation")

    s = _sub(
        subs,
        "recording",
        "register a media file (hashed, probed) or relink a moved one",
        "frontdoor recording add camera1.mp4 --project 'Duty room study'",
        cmd_recording,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    a = acts.add_parser("add", help="add a media file to a project")
    a.add_argument("file")
    a.add_argument("--project", default="Default")
    a.add_argument("--project-dir", help="folder that relative media paths start from")
    a = acts.add_parser("relink", help="find a moved media file by its SHA-256")
    a.add_argument("recording", type=int)
    a.add_argument("folder")

    s = _sub(
        subs,
        "db",
        "database schema: 'upgrade' migrates an older store, 'info' shows its state; on a shared PostgreSQL "
        "server 'roles' and 'user' say who may do what",
        "frontdoor --db postgresql://user:pw@host/frontdoor db upgrade",
        cmd_db,
    )
    from app.cli.roles import add_db_parsers

    add_db_parsers(s, _Parser)

    s = _sub(
        subs,
        "demo",
        "create the demo project (generated recording, referral scheme, example annotations)",
        "frontdoor demo --headless",
        cmd_demo,
    )
    s.add_argument("--headless", action="store_true", help="do not open the app even if a display exists")

    s = _sub(
        subs,
        "app",
        "open the desktop app on a project's document (the newest, or --doc)",
        "frontdoor app --project 'Demo: duty room'",
        cmd_app,
    )
    s.add_argument("--project")
    s.add_argument("--doc", type=_doc_id)
    s.add_argument("--screenshot", metavar="PNG", help="save the window once loaded, then exit")
    s.add_argument("--tab", choices=["coding", "records", "analysis"], default="coding", help="the tab to show")

    from app.cli.consent import add_consent_parsers
    from app.cli.media import add_media_parser

    add_media_parser(subs, _sub, _Parser)
    add_consent_parsers(subs, _sub, _Parser)
    from app.cli.records import add_records_parsers

    add_records_parsers(subs, _sub, _Parser)
    from app.cli.analysis import add_analysis_parsers

    add_analysis_parsers(subs, _sub, _Parser)
    from app.cli.identifiers import add_identifiers_parser

    add_identifiers_parser(subs, _sub, _Parser)
    from app.cli.store import add_store_parsers

    add_store_parsers(subs, _sub, _Parser)
    from app.cli.retention import add_retention_parsers

    add_retention_parsers(subs, _sub, _Parser)

    _sub(subs, "doctor", "check ffmpeg, libvlc, Qt and the database", "frontdoor doctor", cmd_doctor)
    return p


def one_line(message: str) -> str:
    """A message as one line: line breaks and other control characters in it (a file name may hold them)
    are written as escapes, so that the error is always exactly one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _log_path() -> Path:
    from annotation.store.engine import user_data_dir

    return user_data_dir() / "frontdoor.log"


def main(argv: Sequence[str] | None = None) -> int:
    from consent.errors import ConsentError
    from media_tools.errors import MediaError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (AnnotationError, MediaError, ConsentError, UserError) as exc:
        sys.stderr.write(f"{PROG}: error: {one_line(str(exc))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader went away (`frontdoor records list | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing at exit does not raise again
        return 141
    except Exception as exc:  # a bug: keep the traceback for the log, one line for the user
        path = _log_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(traceback.format_exc())
        except OSError:
            path = Path(os.devnull)
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {one_line(str(exc))} (traceback in {path})\n")
        return 1
    finally:
        # let go of the store at once: a command run in this process next (tests, the GUI's own calls)
        # must not find it held open (re-keying and restoring need it to themselves)
        store = args.__dict__.get("_open_store")
        if store is not None:
            store.close()


if __name__ == "__main__":
    sys.exit(main())
