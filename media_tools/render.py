"""Rendering an edit spec to a clip with ffmpeg: cut, redact, caption, title, watermark.

Three cut modes:

* ``accurate`` re-encodes. The input is seeked with ``-ss``/``-t`` before ``-i``, which ffmpeg makes exact
  by decoding from the previous keyframe and dropping what lies before: the clip holds exactly the source
  frames whose timestamps lie in ``[start, end)`` and the audio samples of that range.
* ``copy`` stream-copies from the keyframe at or before ``start`` (so it can start early; the result says by
  how much). It is instant and lossless, and used only for clips with nothing to redact or add.
* ``smart`` re-encodes only from ``start`` to the first keyframe and from the last keyframe to ``end``, and
  stream-copies the GOPs in between; frame-exact like ``accurate``. The result is checked (frame count and
  first frame) and, if the check fails, rendered again in ``accurate`` mode (:mod:`media_tools.smartcut`).

Any redaction, caption, title or watermark forces ``accurate``: copied pictures and sound are never
redacted, so such clips are re-encoded whatever mode was asked for (the result's ``mode`` and ``notes`` say so).
How redactions are drawn and bleeped is told in :mod:`media_tools.filters`, which builds the filter graph.

Every output is written to a temporary file beside the target, probed, then renamed; all metadata is
stripped (container and stream tags, chapters, the encoder's SEI comment, data streams such as GPS). The
temporary file is hidden (``.frontdoor-<host>-<pid>-<random>.part``) and ffmpeg dies with the process that
started it; when that process is killed outright, the next render into the folder deletes what it left
(:mod:`media_tools.scratch`), and the next render anywhere the private folder of its filter files.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from media_tools.errors import FfmpegFailed, MediaError, ProbeError, SpecError
from media_tools.ffmpeg_bin import ProgressCallback, find_ffmpeg, run_ffmpeg_job
from media_tools.files import replace_durably, sha256_file
from media_tools.filters import (
    BLANK_COMPRESSOR,
    STRIP_METADATA,
    STRIP_SEI,
    AuxFiles,
    Graph,
    audio_chain,
    container_args,
    drawtext,
    encode_time_base_args,
    exact_input_args,
    file_arg,
    prepend_title,
    srt_text,
    video_chain,
)
from media_tools.probe import ProbeResult, probe
from media_tools.scratch import remove_abandoned, scratch_name
from media_tools.smartcut import count_frames_in, render_smart
from media_tools.spec import EditSpec, check_rules

_PART_PREFIX = ".frontdoor-"
_AUX_PREFIX = "frontdoor-render-"


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` made: the file, the mode it really used, its hash and the audit manifest entry."""

    output: Path
    mode: str  # the mode actually used
    requested_mode: str
    start_offset: float  # seconds the clip starts before the requested start (copy mode), else 0
    duration: float
    frame_count: int | None
    output_sha256: str
    manifest: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def manifest_line(self) -> str:
        """The manifest entry as one JSON line for an append-only audit file."""
        return json.dumps(self.manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- public API


def render(
    spec: EditSpec,
    out: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    threads: int | None = None,
    overwrite: bool = True,
    info: ProbeResult | None = None,
) -> RenderResult:
    """Render ``spec`` to ``out`` (``.mp4``, ``.m4v`` or ``.mov``: containers whose metadata can be stripped).

    Raises:
        SpecError: the spec does not fit the source (times past its end, boxes on a file without video...).
        ProbeError: the source is missing, truncated or not media.
        FfmpegFailed: ffmpeg failed or was killed, or the output does not check out; nothing is left behind.
        Cancelled: ``cancel`` was set; the temporary file is deleted.
    """
    out = Path(out)
    check_output_name(out)
    src = info or probe(spec.source)
    if out.exists() and out.resolve() == spec.source.resolve():
        raise MediaError(f"{out}: is the source recording; choose another output name")
    plan = plan_render(spec, src)
    if out.exists() and not overwrite:
        raise MediaError(f"{out}: already exists")
    if not out.parent.is_dir():
        raise MediaError(f"{out.parent}: output folder does not exist")
    notes = list(plan.notes)
    remove_abandoned(Path(tempfile.gettempdir()), _AUX_PREFIX)
    aux_dir = tempfile.TemporaryDirectory(prefix=scratch_name(_AUX_PREFIX, "-"))
    with temp_output(out) as tmp, aux_dir as td:
        aux = AuxFiles(Path(td))
        start_offset = 0.0
        mode = plan.mode
        if mode == "smart":
            ok = render_smart(spec, src, tmp, aux, progress=progress, cancel=cancel, threads=threads, out=out)
            if not ok:
                notes.append(
                    "smart cut not possible here (no IDR keyframes a whole GOP apart inside the clip, "
                    "or the result did not check out): rendered in accurate mode"
                )
                mode = "accurate"
        if mode == "copy":
            args, start_offset = copy_command(spec, src, tmp, out_name=out)
            run_ffmpeg_job(
                args, what=str(out), total=spec.end - spec.start + start_offset, progress=progress, cancel=cancel
            )
            if start_offset > 0:
                notes.append(f"copy mode starts on the keyframe {start_offset:.3f} s before the requested start")
        elif mode == "accurate":
            args = accurate_command(spec, src, tmp, aux, threads=threads, out_name=out)
            total = spec.duration + (spec.title.seconds if spec.title else 0.0)
            run_ffmpeg_job(args, what=str(out), total=total, progress=progress, cancel=cancel)
        result = _check_output(tmp, out, src, spec, mode)
        if mode == "copy" and src.has_video and result.frame_count is not None:
            key = spec.start - start_offset
            extra = result.frame_count - count_frames_in(spec.source, key, spec.end)
            if extra > 0:
                notes.append(f"copy mode runs {extra} frame(s) past the requested end (B-frames need them)")
        digest = sha256_file(tmp)
        replace_durably(tmp, out)
    manifest = manifest_entry(spec, src, out, digest, mode, start_offset)
    return RenderResult(
        output=out,
        mode=mode,
        requested_mode=spec.mode,
        start_offset=start_offset,
        duration=result.duration or 0.0,
        frame_count=result.frame_count,
        output_sha256=digest,
        manifest=manifest,
        notes=tuple(notes),
    )


def manifest_entry(
    spec: EditSpec, src: ProbeResult, out: Path, output_sha256: str, mode: str, start_offset: float = 0.0
) -> dict[str, Any]:
    """What the audit trail keeps about one output: enough to prove which bytes came from which edit."""
    return {
        "output": out.name,
        "output_sha256": output_sha256,
        "source_sha256": src.sha256,
        "spec": json.loads(spec.canonical_json(source_sha256=src.sha256)),
        "version": spec.version_hash(src.sha256),
        "mode": mode,
        "start_offset": round(start_offset, 6),
        "ffmpeg": find_ffmpeg().version,
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class RenderPlan:
    """The mode a render will use (after the spec and the source have had their say) and why it changed."""

    mode: str
    notes: tuple[str, ...]


def plan_render(spec: EditSpec, src: ProbeResult) -> RenderPlan:
    """Check ``spec`` against the probed source and choose the cut mode (a redaction, a non-H.264 source,
    no keyframe times... fall back to ``accurate``, with a note saying why).

    Raises:
        SpecError: the spec does not fit the source (times past its end, captions not read from the store,
            picture edits on a file without video).
    """
    name = spec.source.name
    check_rules(spec, name=name, source_duration=src.duration)
    if spec.captions is not None and not spec.captions.resolved:
        raise SpecError(
            f"{name}: captions: the cues of tier {spec.captions.tier!r} must be read from the store first "
            "(frontdoor media render resolves them)"
        )
    if not src.has_video and (spec.redactions or spec.title or spec.watermark or spec.captions):
        what = (
            "redactions"
            if spec.redactions
            else "title"
            if spec.title
            else "watermark"
            if spec.watermark
            else "captions"
        )
        raise SpecError(f"{name}: {what}: the source has no video stream")
    notes: list[str] = []
    mode = spec.mode
    if mode != "accurate" and spec.must_reencode:
        notes.append(f"{mode} mode cannot carry redactions, captions, a title or a watermark: re-encoded (accurate)")
        mode = "accurate"
    if mode in ("copy", "smart") and src.has_video and not src.keyframes:
        notes.append(f"{mode} mode needs keyframe times, which this source does not give: re-encoded (accurate)")
        mode = "accurate"
    if mode == "smart" and (src.video is None or src.video.codec != "h264"):
        notes.append("smart mode handles H.264 sources only: re-encoded (accurate)")
        mode = "accurate"
    if mode == "smart" and src.rotation:
        notes.append("smart mode cannot join turned and copied pictures of a rotated video: re-encoded (accurate)")
        mode = "accurate"
    return RenderPlan(mode, tuple(notes))


# ---------------------------------------------------------------------------------------------- commands


OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov")


def check_output_name(out: Path) -> None:
    """Only MP4/QuickTime outputs: their metadata can be stripped completely (Matroska keeps the muxer's
    and encoders' names).

    Raises:
        MediaError: another extension.
    """
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise MediaError(f"{out}: use an .mp4, .m4v or .mov name")


def _seek_args(start: float, duration: float) -> list[str]:
    # microsecond precision, rounded up: a start on a frame boundary keeps that frame
    return ["-ss", f"{math.ceil(start * 1e6 - 1e-3) / 1e6:.6f}", "-t", f"{duration:.6f}"]


def copy_command(spec: EditSpec, src: ProbeResult, tmp: Path, *, out_name: Path) -> tuple[list[str], float]:
    """The stream-copy command and how far before ``spec.start`` it starts (seconds)."""
    key = src.keyframe_at_or_before(spec.start) if src.has_video else spec.start
    key = spec.start if key is None else key
    offset = max(0.0, spec.start - key)
    args = ["-y", *_seek_args(key, spec.end - key), "-i", file_arg(spec.source)]
    # the sound is re-encoded (cheap): an audio encoder can leave its own comments in a copied bitstream
    args += ["-map", "0:v:0?", "-map", "0:a:0?", "-c:v", "copy", "-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    args += ["-avoid_negative_ts", "make_zero"]
    if src.video is not None and src.video.codec == "h264":
        args += STRIP_SEI
    args += STRIP_METADATA + container_args(out_name) + [file_arg(tmp)]
    return args, offset


def accurate_command(
    spec: EditSpec, src: ProbeResult, tmp: Path, aux: AuxFiles, *, threads: int | None = None, out_name: Path
) -> list[str]:
    """The re-encoding command for ``spec`` (what ``render`` runs in accurate mode)."""
    g = Graph()
    args = ["-y", *exact_input_args(spec.start, src), "-i", file_arg(spec.source)]
    v_out = a_out = None
    subs_input: int | None = None
    title = spec.title.seconds if spec.title else 0.0
    if src.has_video:
        v_out = video_chain(g, spec, src, aux, "0:v:0")
    if src.audio is not None:
        a_out = audio_chain(g, spec, src, "0:a:0")
    if spec.title is not None and v_out is not None:
        v_out, a_out = prepend_title(g, spec, src, aux, v_out, a_out)
    if spec.watermark and v_out is not None:
        lbl = g.label("wm")
        g.add(f"[{v_out}]{drawtext(aux, spec.watermark, src, 'watermark')}[{lbl}]")
        v_out = lbl
    if spec.captions is not None and spec.captions.mode == "soft" and spec.captions.cues:
        srt = aux.write(".srt", srt_text(spec.captions.cues, spec.start, spec.end, shift=title))
        args += ["-i", file_arg(srt)]
        subs_input = 1
    if g.chains:
        args += ["-filter_complex", g.text()]
    if v_out is not None:
        args += ["-map", f"[{v_out}]"]
        args += ["-c:v", "libx264", "-preset", spec.encode.preset, "-crf", str(spec.encode.crf)]
        args += ["-pix_fmt", "yuv420p", "-fps_mode", "passthrough", *encode_time_base_args(src), *STRIP_SEI]
        args += BLANK_COMPRESSOR
    if a_out is not None:
        args += ["-map", f"[{a_out}]"]
        args += ["-c:a", "aac", "-b:a", spec.encode.audio_bitrate]
    if subs_input is not None:
        args += ["-map", f"{subs_input}:s:0", "-c:s", "mov_text"]
    if threads:
        args += ["-threads", str(threads)]
    args += STRIP_METADATA + container_args(out_name) + [file_arg(tmp)]
    return args


# ---------------------------------------------------------------------------------------------- outputs


@contextmanager
def temp_output(out: Path) -> Iterator[Path]:
    """A hidden temporary name in the output's folder; removed unless it was renamed into place. What a
    killed render left there before is removed first."""
    remove_abandoned(out.parent, _PART_PREFIX)
    tmp = out.parent / scratch_name(_PART_PREFIX, ".part")
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _check_output(tmp: Path, out: Path, src: ProbeResult, spec: EditSpec, mode: str) -> ProbeResult:
    """Probe a finished output: it must play and carry the streams the source has."""
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise FfmpegFailed(f"{out}: ffmpeg wrote nothing")
    try:
        got = probe(tmp, use_cache=False)
    except ProbeError as exc:
        raise FfmpegFailed(f"{out}: the output does not play ({exc.message.split(': ', 1)[-1]})") from exc
    if src.has_video and not got.has_video:
        raise FfmpegFailed(f"{out}: the output has no video (no keyframe in the range?)")
    if src.audio is not None and got.audio is None:
        raise FfmpegFailed(f"{out}: the output has no audio")
    if src.has_video and mode != "copy" and got.frame_count is not None:
        want = count_frames_in(spec.source, spec.start, spec.end)
        card = round(spec.title.seconds * (src.fps or 25)) if spec.title else 0
        clip = got.frame_count - card
        if abs(clip - want) > (1 if card else 0):
            raise FfmpegFailed(f"{out}: the output has {clip} frames of the source's {want} in the range")
    return got
