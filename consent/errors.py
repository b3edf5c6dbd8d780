"""Errors of the consent layer: one line each, naming the thing and the problem.

ConsentError
├── UnknownThing        no such participant, clip, scope, export item
└── InvalidRequest      a decision or edit that breaks a rule (a superseded version, a bad condition...)
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


class InvalidRequest(ConsentError):
    """A request that breaks a consent rule; nothing was changed."""
