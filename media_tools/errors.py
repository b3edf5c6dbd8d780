"""Errors raised by media_tools. Each carries a one-line ``message`` naming the file and the problem.

MediaError
├── FfmpegNotFound     no ffmpeg binary on this machine
├── FfmpegFailed       ffmpeg exited with an error (the last line of its log is in the message)
├── ProbeError         a file is missing, truncated or not media
├── SpecError          an edit spec is invalid (the message names the field)
├── Cancelled          a render was stopped by its cancel token
└── ArchiveFailed      an encrypted transport archive cannot be written or does not read back
"""

from __future__ import annotations


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


class ArchiveFailed(MediaError):
    """An encrypted archive could not be written, or did not read back whole with its passphrase."""
