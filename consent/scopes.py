"""Uses of a clip, from the narrowest to the widest. Consent to a wider use covers the narrower ones."""

from __future__ import annotations

from consent.errors import UnknownThing

SCOPES: tuple[str, ...] = ("research_team", "internal_training", "external_seminar", "publication")
LABELS = {
    "research_team": "research team only",
    "internal_training": "internal training only",
    "external_seminar": "external seminar",
    "publication": "publication",
}


def rank(scope: str) -> int:
    """The scope's place in the order (0 = narrowest).

    Raises:
        UnknownThing: not a scope.
    """
    try:
        return SCOPES.index(scope)
    except ValueError:
        raise UnknownThing(f"scope {scope!r}: unknown (use one of {', '.join(SCOPES)})") from None


def check(scope: str) -> str:
    rank(scope)
    return scope
