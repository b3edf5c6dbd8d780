"""Global recoding: two categories of a variable published as one ("A or B") in every table and selection.

Where hiding counts alone cannot keep a one-way table's bar (a count of 20 or more hidden, or under 90% of
its referrals shown), the usual answer of statistical disclosure control (τ-ARGUS, sdcMicro) is to combine
the offending small category with another before choosing what to hide. :func:`annotation.report.disclosure.plan_hiding`
decides the recodings (:class:`Recoding`); this module applies them to the records and the vocabularies, so
that every table of every selection (all records, each period, the cross-tabs' rows and columns) is made from
the same combined categories, and no subtraction between two published selections can split a combined cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from annotation.records import NOT_RECORDED, Vocabularies

#: The record fields a recoding may combine the categories of, and their vocabularies' names.
RECODABLE = {
    "referrer_type": "referrer_types",
    "response": "responses",
    "concern": "concerns",
    "outcome": "outcomes",
    "age_band": "age_bands",
}
#: Categories a 'not recorded' count is combined with first, where the variable has one.
_CATCH_ALL = ("other", "unknown", "not known")

R = TypeVar("R")


@dataclass(frozen=True)
class Recoding:
    """Category ``small`` (``None``: not recorded) of ``field`` combined with ``partner``, shown as ``label``;
    ``why`` says what could not be protected otherwise (for the report's method)."""

    field: str
    small: str | None
    partner: str
    label: str
    why: str


def _name(value: str | None) -> str:
    return NOT_RECORDED if value is None else value


def partner_for(field: str, small: str | None, counts: Mapping[str | None, int], vocab: Vocabularies) -> str | None:
    """What ``small`` is combined with: for 'not recorded', a catch-all category ('other', 'unknown') if the
    variable has one with referrals, else its smallest category; for a referrer type, the smallest other type
    of its referrer group; otherwise the smallest other category. ``counts``: all records' counts. None if
    there is no candidate (no other category with referrals)."""
    others = {c: n for c, n in counts.items() if c is not None and c != small and n > 0}
    if field == "referrer_type" and small is not None:
        group = vocab.is_professional(small)
        others = {c: n for c, n in others.items() if vocab.is_professional(c) == group}
    if not others:
        return None
    if small is None:
        catch = [c for c in others if any(c.lower() == w or c.lower().startswith(w + " ") for w in _CATCH_ALL)]
        if catch:
            return catch[0]
    return min(others, key=lambda c: (others[c], c))


def label_for(field: str, small: str | None, partner: str, vocab: Vocabularies) -> str:
    """'A or B': in the vocabulary's order, 'not recorded' last."""
    if small is None:
        return f"{partner} or {NOT_RECORDED}"
    order = list(vocab.values(field))
    first, second = sorted((small, partner), key=lambda c: (order.index(c) if c in order else len(order), c))
    return f"{first} or {second}"


def _mapping(recodings: Sequence[Recoding]) -> dict[str, dict[str | None, str]]:
    """Per field, each original value (None: not recorded) to the label it is published under."""
    out: dict[str, dict[str | None, str]] = {}
    for rc in recodings:
        m = out.setdefault(rc.field, {})
        for old, new in list(m.items()):
            if new in (rc.small, rc.partner):
                m[old] = rc.label
        for v in (rc.small, rc.partner):
            m.setdefault(v, rc.label)
    return out


def recode_rows(rows: Sequence[R], recodings: Sequence[Recoding]) -> list[R]:
    """The records with every recoded category replaced by its combined label (the others as they are)."""
    maps = _mapping(recodings)
    if not maps:
        return list(rows)
    out = []
    for r in rows:
        changes = {f: m[getattr(r, f)] for f, m in maps.items() if getattr(r, f) in m}
        out.append(replace(r, **changes) if changes else r)  # type: ignore[type-var]
    return out


def recode_periods(periods: Mapping[str, Sequence[R]], recodings: Sequence[Recoding]) -> dict[str, list[R]]:
    return {p: recode_rows(rows, recodings) for p, rows in periods.items()}


def recode_vocab(vocab: Vocabularies, recodings: Sequence[Recoding]) -> Vocabularies:
    """The vocabularies with each combined label in place of its first category (the others dropped); a
    combined referrer type is professional when its parts are."""
    maps = _mapping(recodings)
    changes: dict[str, Any] = {}
    for field, m in maps.items():
        attr = RECODABLE[field]
        values = list(dict.fromkeys(m.get(v, v) for v in getattr(vocab, attr)))
        values += [lab for lab in dict.fromkeys(m.values()) if lab not in values]
        changes[attr] = tuple(values)
        if field == "referrer_type":
            changes["professional"] = frozenset(m.get(v, v) for v in vocab.professional)
    return replace(vocab, **changes) if changes else vocab


def describe(rc: Recoding) -> str:
    """The method's line for one recoding: what was combined, with what, and why."""
    what = (
        f"referrals with no recorded {rc.field.replace('_', ' ')}"
        if rc.small is None
        else f"referrals of {rc.field.replace('_', ' ')} '{rc.small}'"
    )
    return f"{what} combined with '{rc.partner}' as '{rc.label}' ({rc.why})"


__all__ = [
    "RECODABLE",
    "Recoding",
    "describe",
    "label_for",
    "partner_for",
    "recode_periods",
    "recode_rows",
    "recode_vocab",
]
