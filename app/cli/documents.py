"""``frontdoor import-eaf|check-eaf|export-eaf|roundtrip|export|new-document|documents|search|show|annotate|recording``:
stored ELAN documents and the recordings they are coded against, from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from annotation.errors import InvalidEdit
from app.cli.common import PROG, UserError, command_store, doc_id, one_line, parse_time

# ---- commands -------------------------------------------------------------------------------------------


def cmd_import_eaf(args: argparse.Namespace) -> int:
    from annotation.services import import_file

    store = command_store(args)
    r = import_file(store, args.file, recording_id=args.recording, name=args.name, strict=args.strict)
    for repair in r.repairs:
        sys.stderr.write(f"{PROG}: warning: {one_line(str(repair))}\n")
    for line in r.overlaps:  # named like the repairs: every warning line says which file it is about
        sys.stderr.write(f"{PROG}: warning: {args.file}: {line}\n")
    for note in r.notes:
        print(f"note: {note}")
    print(f"imported {args.file} ({r.kind}): {r.tiers} tiers, {r.annotations} annotations")
    print(r.doc_id)
    return 0


def cmd_check_eaf(args: argparse.Namespace) -> int:
    """List every repair and refusal of each file without importing: exit 0 when all are readable, else 2."""
    from annotation.elan import read_eaf_report
    from annotation.errors import EafError

    refused = 0
    for file in args.files:
        try:
            _doc, repairs = read_eaf_report(file)
        except EafError as exc:
            refused += 1
            print(f"{PROG}: error: {one_line(str(exc))}", file=sys.stderr)
            continue
        for repair in repairs:
            print(f"{PROG}: warning: {one_line(str(repair))}", file=sys.stderr)
        print(f"{file}: readable" + (f", {len(repairs)} kinds of repair" if repairs else ", valid"))
    return 2 if refused else 0


def cmd_export_eaf(args: argparse.Namespace) -> int:
    from annotation.services import export_eaf

    doc = export_eaf(command_store(args), args.doc, args.out)
    print(f"wrote {args.out}: {len(doc.tiers)} tiers, {doc.annotation_count()} annotations")
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from annotation.services import roundtrip

    did, repairs = roundtrip(command_store(args), args.input, args.output)
    for repair in repairs:  # as import-eaf prints them: one line per kind, naming the file
        sys.stderr.write(f"{PROG}: warning: {one_line(str(repair))}\n")
    print(f"wrote {args.output} (stored as document {did})")
    print(did)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from annotation.services import export_other

    export_other(command_store(args), args.doc, args.format, args.out, args.tier or None)
    print(f"wrote {args.out} ({args.format})")
    return 0


def cmd_new_document(args: argparse.Namespace) -> int:
    from annotation.services import new_document

    did = new_document(
        command_store(args), args.scheme, name=args.name, recording_id=args.recording, participants=args.participant
    )
    print(f"created document {did} from scheme {args.scheme}")
    print(did)
    return 0


def cmd_documents(args: argparse.Namespace) -> int:
    from annotation.services import documents

    docs = documents(command_store(args))
    if not docs:
        print("no documents in the store (import one with 'frontdoor import-eaf FILE.eaf')")
        return 0
    print(f"{'id':>5}  {'kind':4}  {'tiers':>5}  {'annotations':>11}  name")
    for d in docs:
        print(f"{d.id:>5}  {d.kind:4}  {d.tiers:>5}  {d.annotations:>11}  {d.name}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from annotation.store import Project, search_annotations
    from media_tools.clock import clock_text

    store = command_store(args)
    pid = None
    if args.project is not None:
        with store.session() as s:
            p = s.scalar(select(Project).where(Project.name == args.project))
            if p is None:
                raise UserError(f"project {args.project!r}: not found")
            pid = p.id
    hits, more = search_annotations(store, args.text, project_id=pid, tier=args.tier, limit=args.limit)
    for h in hits:
        start = "-" if h.start is None else clock_text(h.start)
        print(f"{h.doc_id:>5}  {h.doc_name}  {h.tier_id}  {start}  {h.ann_id}  {h.value}")
    if more:
        sys.stderr.write(f"{PROG}: more than {args.limit} matches: showing the first {args.limit}\n")
    if not hits:
        print(f"no annotation contains {args.text!r}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from annotation.services import document_display, document_info
    from media_tools.clock import clock_text

    store = command_store(args)
    info = document_info(store, args.doc)
    segs = document_display(store, args.doc)
    print(f"document {info.id}: {info.name} ({info.kind}), {info.tiers} tiers, {info.annotations} annotations")
    for tier, items in segs.items():
        print(f"  {tier}: {len(items)}")
        if args.annotations:
            for s in items:
                print(f"    {s.ann_id:>8}  {clock_text(s.start)}  {clock_text(s.end)}  {s.value}")
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    from annotation.edits import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
    from annotation.services import apply_edit

    store = command_store(args)
    cmd: Any
    if args.action == "add":
        cmd = CreateAnnotation(args.doc, args.tier, args.start, args.end, args.value, trim=args.trim)
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
    if isinstance(cmd, CreateAnnotation):
        from media_tools.clock import clock_text

        for trim in cmd.trims:
            print(f"ended {trim.ann_id} at {clock_text(trim.end)}, where the new annotation starts")
        if cmd.stored_end is not None and cmd.stored_end != cmd.end:
            print(f"stopped the new annotation at {clock_text(cmd.stored_end)}, where the next one begins")
    if ann:
        print(ann)
    return 0


def cmd_recording(args: argparse.Namespace) -> int:
    from annotation.services import add_recording, ensure_project, relink_recording
    from media_tools.probe import probe

    store = command_store(args)
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


# ---- parsers --------------------------------------------------------------------------------------------


def add_document_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register the document and recording commands on ``subs`` (``sub`` adds one; nested actions use
    ``parser_class``)."""
    from app.cli.choices import EXPORT_FORMATS  # not annotation.elan: the parser loads no codec

    s = sub(
        subs,
        "import-eaf",
        "store an ELAN file (.eaf, .etf template or .ecv vocabulary); prints its id last",
        "frontdoor import-eaf 'duty room 2026-03-01.eaf' --recording 3",
        cmd_import_eaf,
    )
    s.add_argument("file")
    s.add_argument("--recording", type=int, metavar="ID", help="link the document to a stored recording")
    s.add_argument("--name", help="name to store it under (default: the file name)")
    s.add_argument(
        "--strict",
        action="store_true",
        help="refuse a file that breaks the EAF schema, naming the first problem (default: repair what is "
        "recoverable and print a warning line per kind of repair)",
    )

    s = sub(
        subs,
        "check-eaf",
        "list what reading ELAN files would repair or refuse, without importing (exit 2 if one is refused)",
        "frontdoor check-eaf corpus/*.eaf",
        cmd_check_eaf,
    )
    s.add_argument("files", nargs="+", metavar="FILE")

    s = sub(
        subs,
        "export-eaf",
        "write a stored document as EAF 3.0",
        "frontdoor export-eaf 4 out.eaf",
        cmd_export_eaf,
    )
    s.add_argument("doc", type=doc_id)
    s.add_argument("out")

    s = sub(
        subs,
        "roundtrip",
        "import an ELAN file and export it again through the store",
        "frontdoor roundtrip in.eaf out.eaf",
        cmd_roundtrip,
    )
    s.add_argument("input")
    s.add_argument("output")

    s = sub(
        subs,
        "export",
        "export a document as tsv, csv, srt, vtt, textgrid or json",
        "frontdoor export 4 --format srt --tier 'Call phase' phases.srt",
        cmd_export,
    )
    s.add_argument("doc", type=doc_id)
    s.add_argument("out")
    s.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    s.add_argument("--tier", action="append", metavar="TIER", help="only this tier (repeatable)")

    s = sub(
        subs,
        "new-document",
        "create an empty document from a coding scheme; prints its id last",
        "frontdoor new-document --scheme referral --recording 1",
        cmd_new_document,
    )
    s.add_argument("--scheme", default="referral", help="'referral' (default) or a path to an ELAN template .etf")
    s.add_argument("--name")
    s.add_argument("--recording", type=int, metavar="ID")
    s.add_argument(
        "--participant",
        action="append",
        default=[],
        metavar="PSEUDONYM",
        help="a tier 'Participants: PSEUDONYM' for this person (repeat it: one tier each, as ELAN lays them out)",
    )

    sub(subs, "documents", "list the stored documents", "frontdoor documents", cmd_documents)

    s = sub(
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

    s = sub(subs, "show", "summarise a stored document", "frontdoor show 4 --annotations", cmd_show)
    s.add_argument("doc", type=doc_id)
    s.add_argument("--annotations", action="store_true", help="list every annotation")

    s = sub(
        subs,
        "annotate",
        "edit annotations (each edit is saved at once)",
        "frontdoor annotate add 4 'Call phase' 0:05.000 0:12.500 opening",
        cmd_annotate,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("add", help="add an annotation: DOC TIER START END VALUE")
    a.add_argument("doc", type=doc_id)
    a.add_argument("tier")
    a.add_argument("start", type=parse_time)
    a.add_argument("end", type=parse_time)
    a.add_argument("value")
    a.add_argument(
        "--trim",
        action="store_true",
        help="fit it in instead of refusing: end the annotation it starts inside, stop where the next begins",
    )
    a = acts.add_parser("set", help="change an annotation's value: DOC ANNOTATION VALUE")
    a.add_argument("doc", type=doc_id)
    a.add_argument("annotation")
    a.add_argument("value")
    a.add_argument("--expect-version", type=int, help="fail if the annotation changed since this version")
    a = acts.add_parser("move", help="change an annotation's times: DOC ANNOTATION START END")
    a.add_argument("doc", type=doc_id)
    a.add_argument("annotation")
    a.add_argument("start", type=parse_time)
    a.add_argument("end", type=parse_time)
    a.add_argument("--expect-version", type=int)
    a = acts.add_parser("delete", help="delete an annotation and those that refer to it: DOC ANNOTATION")
    a.add_argument("doc", type=doc_id)
    a.add_argument("annotation")

    s = sub(
        subs,
        "recording",
        "register a media file (hashed, probed) or relink a moved one",
        "frontdoor recording add camera1.mp4 --project 'Duty room study'",
        cmd_recording,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("add", help="add a media file to a project")
    a.add_argument("file")
    a.add_argument("--project", default="Default")
    a.add_argument("--project-dir", help="folder that relative media paths start from")
    a = acts.add_parser("relink", help="find a moved media file by its SHA-256")
    a.add_argument("recording", type=int)
    a.add_argument("folder")
