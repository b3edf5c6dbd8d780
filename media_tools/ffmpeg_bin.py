"""Finding and running ffmpeg: the system binary (Debian's ``ffmpeg`` package), else the one the
``imageio-ffmpeg`` wheel ships. Always an argument list, never a shell."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

from media_tools.errors import Cancelled, FfmpegFailed, FfmpegNotFound
from media_tools.scratch import child_options


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
            import imageio_ffmpeg

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
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **child_options())
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise FfmpegFailed(f"{what}: ffmpeg failed: {last}", detail=proc.stderr)


@dataclass(frozen=True)
class Progress:
    """How far a render has got: ``done`` and ``total`` are seconds of output."""

    done: float
    total: float
    speed: float | None = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else max(0.0, min(1.0, self.done / self.total))


ProgressCallback = Callable[[Progress], None]


def run_ffmpeg_job(
    args: list[str],
    *,
    what: str,
    total: float,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run ffmpeg with ``-progress`` on a pipe, reporting to ``progress`` and stopping when ``cancel`` is set.

    ``what`` names the output in messages. Nothing goes through a shell.

    Raises:
        Cancelled: ``cancel`` was set (ffmpeg has been stopped and has exited).
        FfmpegFailed: ffmpeg exited non-zero or was killed; the message is one line with its last error.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{what}: render cancelled")
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-progress", "pipe:1"]
    cmd += args
    err_lines: list[str] = []
    # ffmpeg ignores SIGPIPE: without child_options() it went on encoding for minutes after its parent was
    # killed, and finished a hidden file nobody would rename
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        **child_options(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_pipe, err_pipe = proc.stdout, proc.stderr

    callback_error: list[BaseException] = []

    def read_progress() -> None:
        speed: float | None = None
        for line in out_pipe:  # always drained to the end, or ffmpeg would block on a full pipe
            key, _, value = line.strip().partition("=")
            if key == "speed":
                try:
                    speed = float(value.rstrip("x"))
                except ValueError:
                    speed = None
            elif key == "out_time_us" and progress is not None and not callback_error:
                try:
                    done = int(value) / 1_000_000
                except ValueError:
                    continue
                try:
                    progress(Progress(max(0.0, done), total, speed))
                except BaseException as exc:  # the caller's bug: stop the render and raise it there
                    callback_error.append(exc)

    def read_errors() -> None:
        for line in err_pipe:
            if line.strip():
                err_lines.append(line.rstrip())
                del err_lines[:-200]

    readers = [threading.Thread(target=f, daemon=True) for f in (read_progress, read_errors)]
    for t in readers:
        t.start()
    cancelled = False
    try:
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if callback_error:
                    _stop(proc)
                    break
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    _stop(proc)
                    break
    except BaseException:
        _stop(proc)
        raise
    finally:
        for t in readers:
            t.join(timeout=5)
    if callback_error:
        raise callback_error[0]
    if cancelled:
        raise Cancelled(f"{what}: render cancelled")
    if proc.returncode != 0:
        if proc.returncode < 0:
            sig = -proc.returncode
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            raise FfmpegFailed(f"{what}: ffmpeg was killed ({name})", detail="\n".join(err_lines))
        last = _last_error(err_lines) or f"exit status {proc.returncode}"
        raise FfmpegFailed(f"{what}: ffmpeg failed: {last}", detail="\n".join(err_lines))
    if progress is not None:
        progress(Progress(total, total, None))


def _last_error(lines: list[str]) -> str:
    """The most telling line of ffmpeg's error output (a disk-full or permission line wins)."""
    for needle in ("No space left on device", "Permission denied", "Read-only file system"):
        if any(needle in ln for ln in lines):
            return needle
    return lines[-1].strip() if lines else ""


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
