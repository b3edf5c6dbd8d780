"""``frontdoor faces ...``: find and follow the faces in a recording, list the tracks, say whose face each
is, and correct them (merge, split, fix a box, confirm uncertain frames). Blurring a person through their
tracks is ``frontdoor clip create/edit --blur-face P``; the export gate checks every frame is covered."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from app.cli.common import UserError, command_store
from media_tools.clock import clock_text


def _box_arg(text: str) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give X,Y,W,H as fractions of the picture (0..1)") from None
    return x, y, w, h


def _clock(ms: int) -> str:
    return clock_text(ms, hours="auto")


def _progress(quiet: bool) -> Callable[[int, int], None] | None:
    if quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        f = min(1.0, done / max(total, 1))
        sys.stderr.write(f"\rfaces [{'#' * int(f * 30):<30}] {f * 100:5.1f}%  frame {done}/{total}   ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _print_tracks(info: Any, names: dict[int, str]) -> None:
    print(f"{'track':>6} {'#':>3} {'frames':>13} {'from':>10} {'to':>10} {'uncertain':>9}  participant")
    for t in info.tracks:
        who = names.get(t.participant_id, f"participant {t.participant_id}") if t.participant_id else "-"
        span = f"{t.first_frame}-{t.last_frame}"
        print(
            f"{t.id:>6} {t.number:>3} {span:>13} {_clock(t.first_ms):>10} {_clock(t.last_ms):>10} "
            f"{t.uncertain:>9}  {who}"
        )


def _names(store: Any) -> dict[int, str]:
    from sqlalchemy import select

    from consent.models import Participant

    with store.session() as s:
        return {pid: name for pid, name in s.execute(select(Participant.id, Participant.pseudonym))}


def _runs(frames: Any) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for f in frames:
        if out and out[-1][2] == f.state and out[-1][1] + 1 == f.frame:
            out[-1] = (out[-1][0], f.frame, f.state)
        else:
            out.append((f.frame, f.frame, f.state))
    return out


def cmd_faces(args: argparse.Namespace) -> int:
    from annotation import faces

    store = command_store(args)
    act = args.faces_action
    if act == "detect":
        from media_tools.faces import ScanSettings, TrackSettings

        base = ScanSettings()
        settings = ScanSettings(
            detect_width=args.detect_width or base.detect_width,
            tracking=TrackSettings(stride=args.stride or base.tracking.stride),
        )
        info = faces.detect_recording(
            store, args.recording, settings=settings, again=args.again, on_progress=_progress(args.quiet)
        )
        how = "stored tracks (detected before; --again to detect anew)" if info.reused else "detected"
        print(f"recording {args.recording}: {len(info.tracks)} face tracks, {how}; {info.frame_count} frames")
        _print_tracks(info, _names(store))
    elif act == "tracks":
        if args.track is not None:
            with store.session() as s:
                t = faces.read_track(s, args.track)
            print(f"face track {args.track}: frames {t.frames[0].frame}-{t.frames[-1].frame}")
            for a, b, state in _runs(t.frames):
                print(f"  {a:>7}-{b:<7} {state}")
            return 0
        if args.recording is None:
            raise UserError("faces tracks: give a RECORDING, or --track TRACK")
        found = faces.recording_tracks(store, args.recording)
        if found is None:
            raise UserError(
                f"recording {args.recording}: faces not detected yet (frontdoor faces detect {args.recording})"
            )
        _print_tracks(found, _names(store))
    elif act == "assign":
        from consent.faces import assign_track

        if (args.participant is None) == (not args.none):
            raise UserError("faces assign: give a PARTICIPANT, or --none to unassign")
        done = assign_track(store, args.track, None if args.none else args.participant)
        print(f"face track {done.track_id}: {done.pseudonym or 'assigned to nobody'}")
    elif act == "merge":
        edit = faces.merge_tracks(store, args.keep, args.other)
        print(f"{edit.description}")
    elif act == "split":
        edit, new = faces.split_track(store, args.track, args.frame)
        print(f"{edit.description}: frames from {args.frame} are track {new}")
    elif act == "fix":
        edit = faces.fix_box(store, args.track, args.frame, args.box)
        print(edit.description)
    elif act == "confirm":
        edit = faces.confirm_frames(store, args.track, args.first, args.last)
        print(edit.description)
    return 0


def add_faces_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``faces`` (called from :func:`app.cli.main.build_parser`)."""
    s = sub(
        subs,
        "faces",
        "find and follow the faces in a recording (on this computer, once per recording), say whose face each "
        "track is, and correct tracks; blur a person with 'clip create/edit --blur-face'",
        "frontdoor faces detect 1\n  frontdoor faces tracks 1\n  frontdoor faces assign 4 P2\n"
        "  frontdoor faces confirm 4 120 180\n  frontdoor clip edit 3 --blur-face P2",
        cmd_faces,
    )
    acts = s.add_subparsers(dest="faces_action", metavar="ACTION", required=True, parser_class=parser_class)
    a = acts.add_parser("detect", help="find and follow the faces (stored tracks are reused unless --again)")
    a.add_argument("recording", type=int, metavar="RECORDING")
    a.add_argument("--again", action="store_true", help="detect anew, replacing unassigned tracks")
    a.add_argument("--detect-width", type=int, metavar="PX", help="detect on frames scaled to this width (768)")
    a.add_argument("--stride", type=int, metavar="N", help="detect on every Nth frame (5), follow the faces between")
    a.add_argument("--quiet", action="store_true")
    a = acts.add_parser("tracks", help="a recording's face tracks, or one track's frames by state (--track)")
    a.add_argument("recording", type=int, metavar="RECORDING", nargs="?")
    a.add_argument("--track", type=int, metavar="TRACK")
    a = acts.add_parser("assign", help="say whose face a track is (in the audit log)")
    a.add_argument("track", type=int, metavar="TRACK")
    a.add_argument("participant", nargs="?", metavar="PARTICIPANT", help="id or pseudonym")
    a.add_argument("--none", action="store_true", help="the track is nobody's (unassign)")
    a = acts.add_parser("merge", help="two tracks of one face become one (the gap between is interpolated)")
    a.add_argument("keep", type=int, metavar="TRACK")
    a.add_argument("other", type=int, metavar="OTHER")
    a = acts.add_parser("split", help="the frames from FRAME on become a new track")
    a.add_argument("track", type=int, metavar="TRACK")
    a.add_argument("frame", type=int, metavar="FRAME")
    a = acts.add_parser("fix", help="set a track's box on a frame; the frames around it follow")
    a.add_argument("track", type=int, metavar="TRACK")
    a.add_argument("frame", type=int, metavar="FRAME")
    a.add_argument("box", type=_box_arg, metavar="X,Y,W,H", help="fractions of the picture (0..1)")
    a = acts.add_parser("confirm", help="accept a track's uncertain frames FIRST..LAST as they are")
    a.add_argument("track", type=int, metavar="TRACK")
    a.add_argument("first", type=int, metavar="FIRST")
    a.add_argument("last", type=int, metavar="LAST")
