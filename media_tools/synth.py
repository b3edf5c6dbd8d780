"""Synthetic recordings for the demo project and the tests: made by ffmpeg's lavfi sources.

The picture shows the frame number and time burned in (so a test can read which frame it got), the sound
is a tone, so a cut or a redaction can be checked by decoding the output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from media_tools.ffmpeg_bin import run_ffmpeg

_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def make_test_recording(
    out: str | os.PathLike[str],
    *,
    seconds: float = 10.0,
    fps: int = 25,
    size: str = "640x360",
    gop: int = 50,
    tone_hz: int = 440,
    label: str = "",
) -> Path:
    """Write an H.264/AAC MP4 of ``seconds`` with the frame number burned in; returns its path."""
    out = Path(out)
    vf = "format=yuv420p"
    if Path(_FONT).is_file():
        text = (label + " " if label else "") + "frame %{frame_num}  %{pts\\:hms}"
        text = text.replace(":", "\\:").replace("\\\\:", "\\:")
        vf = (
            f"drawtext=fontfile={_FONT}:text='{text}':x=20:y=20:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6,"
            + vf
        )
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={tone_hz}:sample_rate=48000:duration={seconds}",
            "-vf",
            vf,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            str(gop),
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            "-movflags",
            "+faststart",
            _safe_path(out),
        ],
        what=str(out),
    )
    return out


def _safe_path(p: Path) -> str:
    """ffmpeg reads a leading dash as an option: make such a path explicit."""
    s = str(p)
    return f"./{s}" if s.startswith("-") else s


CODE_BITS = 12
CODE_ROW = 16  # height of the strip of frame-number bits at the top of a coded recording


def make_coded_recording(
    out: str | os.PathLike[str],
    *,
    seconds: float = 6.0,
    fps: int = 25,
    size: str = "320x192",
    gop: int = 50,
    bframes: int = 3,
    vfr: bool = False,
    tone_hz: int = 440,
    tone_db: float = -12.0,
    audio: bool = True,
    open_gop: bool = False,
) -> Path:
    """A recording whose frames a test can identify by decoding: the top ``CODE_ROW`` pixels hold the frame
    number in ``CODE_BITS`` black/white blocks (least significant bit on the left, each ``CODE_ROW`` wide),
    the rest is a fine static pattern (detail a blur removes). With ``vfr`` the frame intervals alternate
    between 1/fps and 1.5/fps. The sound is a sine at ``tone_db`` dBFS peak. Read the number back with
    ``read_frame_code``. With ``open_gop`` the keyframes after the first are I-frames that later
    pictures may look back past (as many cameras write), not IDR frames."""
    out = Path(out)
    w = int(size.split("x")[0])
    if w < CODE_BITS * CODE_ROW:
        raise ValueError(f"size {size}: at least {CODE_BITS * CODE_ROW} pixels wide")
    bit = f"mod(floor(N/pow(2,floor(X/{CODE_ROW}))),2)"
    pattern = "128+90*sin(X*1.1)*cos(Y*0.9)"
    lum = f"if(lt(Y,{CODE_ROW}),if(lt(X,{CODE_BITS * CODE_ROW}),255*{bit},0),{pattern})"
    vf = f"geq=lum='{lum}':cb=128:cr=128,format=yuv420p"
    if vfr:
        # frame n at floor(n/2)*2.5/fps + (n mod 2)/fps: intervals of 1/fps and 1.5/fps
        vf += f",settb=1/{fps * 20},setpts='(floor(N/2)*2.5+mod(N,2))/{fps}/TB'"
    frames = round(seconds * fps)
    args = ["-y", "-f", "lavfi", "-i", f"nullsrc=size={size}:rate={fps}"]
    if audio:
        amp = 10 ** (tone_db / 20)
        dur = seconds * (1.25 if vfr else 1.0)
        args += ["-f", "lavfi", "-i", f"aevalsrc={amp:.6f}*sin(2*PI*{tone_hz}*t):s=48000:d={dur}"]
    args += [
        "-frames:v",
        str(frames),
        "-vf",
        vf,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "12",
        "-g",
        str(gop),
    ]
    args += ["-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes), "-pix_fmt", "yuv420p"]
    if vfr:
        args += ["-fps_mode", "passthrough", "-enc_time_base:v", f"1:{fps * 20}"]
        args += ["-video_track_timescale", str(fps * 20)]
    if open_gop:
        args += ["-x264-params", "open-gop=1"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "128k"]
    args += ["-movflags", "+faststart", _safe_path(out)]
    run_ffmpeg(args, what=str(out))
    return out


def read_frame_code(luma: Any) -> int:
    """The frame number a ``make_coded_recording`` frame carries, from its luma plane (a 2-D array)."""
    row = luma[CODE_ROW // 4 : CODE_ROW * 3 // 4]
    n = 0
    for b in range(CODE_BITS):
        block = row[:, b * CODE_ROW + CODE_ROW // 4 : b * CODE_ROW + CODE_ROW * 3 // 4]
        if float(block.mean()) > 128:
            n |= 1 << b
    return n
