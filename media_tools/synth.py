"""Synthetic recordings for the demo project and the tests: made by ffmpeg's lavfi sources.

The picture shows the frame number and time burned in (so a test can read which frame it got), the sound
is a tone, so a cut or a redaction can be checked by decoding the output.
"""

from __future__ import annotations

import os
from pathlib import Path

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
