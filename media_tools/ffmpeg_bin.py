"""Finding and running ffmpeg: the system binary (Debian's ``ffmpeg`` package), else the one the
``imageio-ffmpeg`` wheel ships. Always an argument list, never a shell."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

from media_tools.errors import FfmpegFailed, FfmpegNotFound


@dataclass(frozen=True)
class FfmpegInfo:
    path: str
    version: str
    source: str  # "system", "imageio-ffmpeg" or "FRONTDOOR_FFMPEG"


@functools.cache
def find_ffmpeg() -> FfmpegInfo:
    """Locate ffmpeg. ``FRONTDOOR_FFMPEG`` overrides the search.

    Raises:
        FfmpegNotFound: neither a system ffmpeg nor imageio-ffmpeg is installed.
    """
    env = os.environ.get("FRONTDOOR_FFMPEG")
    path, source = (env, "FRONTDOOR_FFMPEG") if env else (shutil.which("ffmpeg"), "system")
    if path is None:
        try:
            import imageio_ffmpeg  # type: ignore[import-not-found]

            path, source = imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg"
        except Exception as exc:
            raise FfmpegNotFound("ffmpeg: not found (install Debian's ffmpeg package or imageio-ffmpeg)") from exc
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FfmpegNotFound(f"{path}: cannot run ffmpeg ({exc})") from exc
    first = out.stdout.splitlines()[0] if out.stdout else "ffmpeg"
    version = first.split(" version ")[1].split(" ")[0] if " version " in first else first
    return FfmpegInfo(path=path, version=version, source=source)


def run_ffmpeg(args: list[str], *, what: str, timeout: float | None = None) -> None:
    """Run ffmpeg with ``args`` (after the binary); ``what`` names the output for error messages.

    Raises:
        FfmpegFailed: ffmpeg exited non-zero.
    """
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise FfmpegFailed(f"{what}: ffmpeg failed: {last}", detail=proc.stderr)
