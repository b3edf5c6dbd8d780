"""``frontdoor clip|export-clips``: clips of stored recordings and their versions, and the consent gate's
export, from the command line (``app.cli.consent`` registers them among its commands, in their place in
``frontdoor --help``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.common import command_store, date_arg, fd_number, seconds_arg
from consent.scopes import SCOPES


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


# ---- clip ---------------------------------------------------------------------------------------------


def cmd_clip(args: argparse.Namespace) -> int:
    from consent import clips

    store = command_store(args)
    if args.action == "create":
        start, end = args.start, args.end
        if args.annotation:
            start, end = _annotation_times(store, args.annotation)
        if start is None or end is None:
            from app.cli.common import UserError

            raise UserError("clip create: give --start and --end, or --annotation DOC:ANNOTATION_ID")
        extra = dict(args.spec or {})
        if args.blur_face:
            from consent.faces import with_faces_blurred

            with store.session() as s:
                extra["redactions"] = with_faces_blurred(
                    s, args.recording, extra.get("redactions", []), args.blur_face, start, end
                )
        info = clips.create_clip(
            store,
            args.recording,
            start,
            end,
            name=args.name,
            description=args.description,
            extra=extra or None,
            add_present=args.present or (),
            sensitive_from=args.redact_sensitive,
        )
        print_version("created clip", info)
        print(info.clip_id)
    elif args.action == "edit" and args.blur_face:
        from consent.faces import blur_faces

        if args.spec:
            from app.cli.common import UserError

            raise UserError("clip edit: give --blur-face or --spec, one at a time")
        info = blur_faces(store, args.clip, args.blur_face, start=args.start, end=args.end)
        print_version("new version of clip", info)
    elif args.action == "blur-withheld":
        from consent.faces import blur_withheld

        done = blur_withheld(store, args.clip, scope=args.scope)
        print_version("new version of clip", done.version)
        names = ", ".join(done.blurred)
        print(
            f"blurred the face of {names}, who withheld: only the face is blurred, their voice is not changed; "
            "everyone in the clip, they too, decides on this version afresh"
        )
    elif args.action == "edit":
        info = clips.edit_clip(
            store, args.clip, start=args.start, end=args.end, extra=args.spec or None, reason=args.reason
        )
        print_version("new version of clip", info)
    elif args.action == "presence":
        names = clips.set_presence(store, args.clip, add=args.add or (), remove=args.remove or ())
        print(f"clip {args.clip}: present: {', '.join(names) or 'nobody'}")
    elif args.action == "list":
        _list_clips(store)
    elif args.action == "show":
        _show_clip(store, args.clip)
    return 0


def _annotation_times(store: Any, ref: str) -> tuple[float, float]:
    from app.cli.common import UserError

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


def print_version(what: str, info: Any) -> None:
    present = ", ".join(info.present) or "nobody (add with 'frontdoor clip presence')"
    print(f"{what} {info.clip_id}: version {info.number} ({info.version_hash[:12]}); present: {present}")


def _list_clips(store: Any) -> None:
    from sqlalchemy import select

    from consent.clips import present_names
    from consent.models import Clip
    from consent.rows import current_version

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

    from consent.clips import present_names
    from consent.models import ClipVersion, Decision, Participant
    from consent.rows import clip, current_version

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


# ---- export -------------------------------------------------------------------------------------------


def cmd_export_clips(args: argparse.Namespace) -> int:
    from app.cli.common import progress_printer
    from consent.export import export_clips

    store = command_store(args)
    archive_passphrase = _archive_passphrase(args, store) if args.encrypt else None
    show = progress_printer("export", args.quiet)
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
    from app.cli.common import UserError, new_passphrase

    value = new_passphrase(args, "the encrypted archive", fd_attr="archive_passphrase_fd")
    if store.encrypted and value == store._passphrase:
        raise UserError("the encrypted archive: use a passphrase of its own, not the store's; nothing exported")
    return value


# ---- parsers ------------------------------------------------------------------------------------------


def add_clip_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``frontdoor clip`` and its actions."""
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
    a.add_argument("--start", type=seconds_arg)
    a.add_argument("--end", type=seconds_arg)
    a.add_argument("--annotation", metavar="DOC:ID", help="take the times from an annotation")
    a.add_argument("--name")
    a.add_argument("--description")
    a.add_argument("--spec", type=_json_arg, metavar="JSON|@FILE", help="extra edit-spec fields (redactions...)")
    a.add_argument("--present", action="append", metavar="P", help="a participant present (besides appearances)")
    a.add_argument("--redact-sensitive", type=int, metavar="DOC", help="bleep DOC's sensitive identifiers")
    a.add_argument(
        "--blur-face",
        action="append",
        metavar="P",
        help="blur participant P through their face tracks (frontdoor faces)",
    )
    a = acts.add_parser("edit", help="a new version of a clip")
    a.add_argument("clip")
    a.add_argument("--start", type=seconds_arg)
    a.add_argument("--end", type=seconds_arg)
    a.add_argument("--spec", type=_json_arg, metavar="JSON|@FILE", help="edit-spec fields to set")
    a.add_argument("--reason", default="edited")
    a.add_argument(
        "--blur-face",
        action="append",
        metavar="P",
        help="blur participant P through their face tracks (frontdoor faces)",
    )
    a = acts.add_parser(
        "blur-withheld",
        help="a new version with the faces of those who withheld blurred (their voices are not changed); only "
        "where the project allows it (frontdoor project set-blur-withheld)",
    )
    a.add_argument("clip")
    a.add_argument("--scope", choices=SCOPES, help="those who withheld this use (or a narrower one); default any")
    a = acts.add_parser("presence", help="correct who is present in a clip's current version")
    a.add_argument("clip")
    a.add_argument("--add", action="append", metavar="P")
    a.add_argument("--remove", action="append", metavar="P")
    acts.add_parser("list", help="list clips with their current version")
    a = acts.add_parser("show", help="a clip's versions, presence and decisions")
    a.add_argument("clip")


def add_export_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``frontdoor export-clips`` (the consent gate)."""
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
    s.add_argument("--expires", type=date_arg, metavar="YYYY-MM-DD", help="written on every frame; use ends then")
    s.add_argument("--quiet", action="store_true")
    s.add_argument(
        "--encrypt",
        action="store_true",
        help="one AES-256 7z archive (clips and manifest) for transport; asks a passphrase",
    )
    s.add_argument(
        "--archive-passphrase-fd",
        type=fd_number,
        metavar="N",
        help="scripts: the archive's passphrase from descriptor N",
    )
