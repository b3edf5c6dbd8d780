"""``frontdoor media probe|render|reel|thumbnail``: the media layer from the command line.

These commands work on files and are not consent-gated: they are for researchers preparing and checking
clips. The consent-gated path from a stored recording to an exported clip is the consent layer's export.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.common import UserError, command_store, parse_time, progress_printer


def _append_manifest(path: str | None, line: str) -> None:
    if path:
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as exc:
            from media_tools.errors import os_problem

            raise UserError(os_problem(path, exc, "append the manifest line to it")) from exc


def _check_out(out: Path, force: bool) -> None:
    try:
        exists = out.exists()
    except OSError as exc:  # a name too long for the file system, a folder without permission
        from media_tools.errors import os_problem

        raise UserError(os_problem(out, exc, "write it")) from exc
    if exists and not force:
        raise UserError(f"{out}: already exists (use --force to replace it)")
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise UserError(f"{out}: use an .mp4, .m4v or .mov name")


def _resolve(args: argparse.Namespace, spec: Any) -> Any:
    """Fill captions named by document and tier, and sensitive-identifier bleeps, from the store."""
    needs_store = (spec.captions is not None and not spec.captions.resolved) or args.redact_sensitive
    if not needs_store:
        return spec
    from annotation.clips import resolve_spec

    return resolve_spec(command_store(args), spec, redact_sensitive=args.redact_sensitive, margin=args.margin)


def _margin(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a margin (0 or more seconds)")
    return value


def _not_a_stored_recording(args: argparse.Namespace, source: Path) -> None:
    """Clips of recordings in the store leave it only through the consent gate (export-clips): the rule is
    the gate's (``consent.export.gate.refuse_stored_recording``)."""
    from consent.export import refuse_stored_recording

    try:
        if not source.is_file():
            return  # the render says what is wrong with it
    except OSError:  # a name too long for the file system ...: the render says so too
        return
    refuse_stored_recording(command_store(args), source)


def cmd_media(args: argparse.Namespace) -> int:
    return {"probe": _probe, "render": _render, "reel": _reel, "thumbnail": _thumbnail}[args.action](args)


def _probe(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from media_tools.probe import probe

    info = probe(args.file)
    if args.json:
        d = info.to_json()
        d["streams"] = [asdict(s) for s in info.streams]
        if not args.keyframes:
            d["keyframes"] = len(info.keyframes)
        print(json.dumps(d, indent=2, ensure_ascii=False))
        return 0
    dur = f"{info.duration:.3f} s" if info.duration is not None else "unknown length"
    print(f"{info.path}: {info.container}, {dur}, sha256 {info.sha256[:16]}…")
    for s in info.streams:
        if s.kind == "video":
            rate = f"{s.fps:.3f} fps" if s.fps else "? fps"
            vfr = " (variable frame rate)" if info.vfr else ""
            rot = f", rotated {s.rotation}°" if s.rotation else ""
            print(f"  video #{s.index}: {s.codec} {s.width}x{s.height} {s.pix_fmt or ''}, {rate}{vfr}{rot}")
            keys = info.keyframes
            gap = max((b - a for a, b in itertools.pairwise(keys)), default=0.0)
            print(f"    {info.frame_count} frames, {len(keys)} keyframes (longest gap {gap:.2f} s)")
        elif s.kind == "audio":
            print(f"  audio #{s.index}: {s.codec} {s.sample_rate} Hz, {s.layout or s.channels}")
        else:
            print(f"  {s.kind} #{s.index}: {s.codec}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from media_tools.render import render
    from media_tools.spec import load_spec

    spec = load_spec(args.spec)
    if args.mode:
        spec = spec.with_changes(mode=args.mode)
    _not_a_stored_recording(args, spec.source)
    spec = _resolve(args, spec)
    out = Path(args.out)
    _check_out(out, args.force)
    res = render(spec, out, progress=progress_printer(out.name, args.quiet))
    for note in res.notes:
        print(f"note: {note}")
    print(f"wrote {out}: {res.duration:.3f} s, {res.frame_count or 0} frames, {res.mode} mode")
    _append_manifest(args.manifest, res.manifest_line)
    if args.manifest:
        print(f"manifest line appended to {args.manifest}")
    return 0


def _reel(args: argparse.Namespace) -> int:
    from media_tools.reel import render_reel
    from media_tools.spec import load_spec

    specs = [load_spec(p) for p in args.specs]
    for spec in specs:
        _not_a_stored_recording(args, spec.source)
    specs = [_resolve(args, spec) for spec in specs]
    out = Path(args.out)
    _check_out(out, args.force)
    res = render_reel(
        specs,
        out,
        card_seconds=args.card_seconds,
        watermark=args.watermark,
        progress=progress_printer(out.name, args.quiet),
    )
    gains = ", ".join(f"{g:+.1f} dB" for g in res.gains_db)
    print(f"wrote {out}: {len(specs)} clips, {res.duration:.3f} s (gains {gains})")
    _append_manifest(args.manifest, json.dumps(res.manifest, sort_keys=True, ensure_ascii=False))
    return 0


def _thumbnail(args: argparse.Namespace) -> int:
    from media_tools.frames import thumbnail

    data = thumbnail(args.file, args.time / 1000, width=args.width)
    try:
        Path(args.out).write_bytes(data)
    except OSError as exc:
        from media_tools.errors import os_problem

        raise UserError(os_problem(args.out, exc, "write it")) from exc
    print(f"wrote {args.out}")
    return 0


def add_media_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    s = sub(
        subs,
        "media",
        "probe recordings and render clips or reels from edit specs (files only, not consent-gated)",
        "frontdoor media render clip.json clip.mp4 --redact-sensitive 3",
        cmd_media,
    )
    acts = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("probe", help="describe a recording: streams, length, frame rate, keyframes")
    a.add_argument("file")
    a.add_argument("--json", action="store_true", help="print everything as JSON")
    a.add_argument("--keyframes", action="store_true", help="with --json, list every keyframe time")

    def render_opts(a: argparse.ArgumentParser) -> None:
        a.add_argument("--force", action="store_true", help="replace an existing output file")
        a.add_argument("--quiet", action="store_true", help="no progress bar")
        a.add_argument("--manifest", metavar="FILE", help="append the output's manifest line (JSON) to FILE")
        a.add_argument(
            "--redact-sensitive",
            metavar="DOC",
            help="bleep every 'Sensitive identifier' annotation of document DOC (id or name) in the clip",
        )
        a.add_argument("--margin", type=_margin, default=0.25, metavar="S", help="seconds bleeped around each (0.25)")

    a = acts.add_parser(
        "render",
        help="render an edit spec (resources/schemas/edit-spec.schema.json) to a clip: SPEC.json OUT.mp4",
    )
    a.add_argument("spec")
    a.add_argument("out")
    a.add_argument("--mode", choices=["accurate", "copy", "smart"], help="override the spec's cut mode")
    render_opts(a)
    a = acts.add_parser("reel", help="join clips with title cards, one loudness: OUT.mp4 SPEC.json...")
    a.add_argument("out")
    a.add_argument("specs", nargs="+", metavar="SPEC")
    a.add_argument("--card-seconds", type=float, default=2.0, help="length of each title card (2)")
    a.add_argument("--watermark", help="text on every frame of the reel, e.g. the consent scope")
    render_opts(a)
    a = acts.add_parser("thumbnail", help="the exact frame at a time as a JPEG: FILE TIME OUT.jpg")
    a.add_argument("file")
    a.add_argument("time", type=parse_time)
    a.add_argument("out")
    a.add_argument("--width", type=int, default=320)
