"""Errors of the consent layer: one line each, naming the thing and the problem.

ConsentError
├── UnknownThing        no such participant, clip, scope, export item
├── AnchorLogError      the anchor log (the audit head held outside the store) cannot be written or is misplaced
└── InvalidRequest      a decision or edit that breaks a rule (a superseded version, a bad condition...)
    ├── WeakPassphrase      a review-station passphrase too short to set
    ├── WrongPassphrase     the passphrase given does not match the one set
    ├── NoPassphrase        the project has no review-station passphrase yet
    └── PreviewFailed       a review preview cannot be made (the detail, with paths, is for the log only)
"""

from __future__ import annotations


class ConsentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnknownThing(ConsentError):
    """A participant, clip, scope or export item that does not exist."""


class AnchorLogError(ConsentError):
    """The anchor log cannot be written or read, or is configured in the store's own folder."""


class InvalidRequest(ConsentError):
    """A request that breaks a consent rule; nothing was changed."""


class WeakPassphrase(InvalidRequest):
    """A review-station passphrase shorter than the minimum."""


class WrongPassphrase(InvalidRequest):
    """A passphrase that does not match the project's review-station passphrase."""


class NoPassphrase(InvalidRequest):
    """A review station was asked for in a project whose researcher has set no passphrase."""


class PreviewFailed(InvalidRequest):
    """A review preview could not be made. ``message`` is safe to show a participant (it names no file);
    ``detail`` says why, for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail
