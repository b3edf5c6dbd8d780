"""The tier structure views show: each tier with its parent, depth, ELAN constraint and vocabulary, as plain data.

A timeline or a table lays tiers out from this (children right under their parents) and an editor offers a
tier's controlled vocabulary from it; nothing here holds a session or an ORM object.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotation.elan.model import EafDocument, Tier

#: ELAN's four tier constraints (a LINGUISTIC_TYPE's ``CONSTRAINTS``); a top-level tier has none.
TIME_SUBDIVISION = "Time_Subdivision"
INCLUDED_IN = "Included_In"
SYMBOLIC_SUBDIVISION = "Symbolic_Subdivision"
SYMBOLIC_ASSOCIATION = "Symbolic_Association"


@dataclass(frozen=True)
class TierRow:
    """One tier as views show it: its parent, its indentation, its controlled vocabulary's values (or ()),
    its ELAN constraint (None on a top-level tier) and the vocabulary entries' ids (``CVE_REF``s), parallel
    to ``vocabulary``."""

    tier_id: str
    parent: str | None
    depth: int
    vocabulary: tuple[str, ...]
    constraint: str | None = None
    cve_ids: tuple[str | None, ...] = ()

    @property
    def referring(self) -> bool:
        """Its annotations refer to a parent annotation and take their times from it (symbolic tiers)."""
        return self.constraint in (SYMBOLIC_SUBDIVISION, SYMBOLIC_ASSOCIATION)

    def cve_id(self, value: str) -> str | None:
        """The vocabulary entry id of ``value`` (None for a value outside the vocabulary)."""
        try:
            return self.cve_ids[self.vocabulary.index(value)]
        except (ValueError, IndexError):
            return None


def tier_rows(doc: EafDocument, lang: str | None = None) -> list[TierRow]:
    """The document's tiers in display order: each child tier right under its parent, in document order.

    A tier whose parent is missing (or part of a cycle) is shown at the top level. ``vocabulary`` holds the
    values of the tier's controlled vocabulary, in ``lang`` where an entry has it, else its first value.
    """
    types = {lt.get("LINGUISTIC_TYPE_ID"): lt for lt in doc.linguistic_types}
    cvs = {cv.cv_id: cv for cv in doc.vocabularies}
    ids = {t.tier_id for t in doc.tiers}

    def vocabulary(tier: Tier) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
        cv = cvs.get(types.get(tier.linguistic_type_ref, {}).get("CONTROLLED_VOCABULARY_REF", ""))
        if cv is None:
            return (), ()
        values: dict[str, str | None] = {}
        for entry in cv.entries:
            chosen = [v for v in entry.values if v.lang_ref == lang] or entry.values
            if chosen:
                values.setdefault(chosen[0].value, entry.cve_id)
        return tuple(values), tuple(values.values())

    children: dict[str | None, list[Tier]] = {}
    for t in doc.tiers:
        parent = t.parent_ref if t.parent_ref in ids and t.parent_ref != t.tier_id else None
        children.setdefault(parent, []).append(t)
    out: list[TierRow] = []
    seen: set[str] = set()

    def walk(tier: Tier, parent: str | None, depth: int) -> None:
        stack = [(tier, parent, depth)]
        while stack:
            t, p, d = stack.pop()
            if t.tier_id in seen:
                continue
            seen.add(t.tier_id)
            values, cve_ids = vocabulary(t)
            constraint = types.get(t.linguistic_type_ref, {}).get("CONSTRAINTS") if p is not None else None
            out.append(TierRow(t.tier_id, p, d, values, constraint, cve_ids))
            stack.extend((c, t.tier_id, d + 1) for c in reversed(children.get(t.tier_id, [])))

    for root in children.get(None, []):
        walk(root, None, 0)
    for t in doc.tiers:  # only tiers in a parent cycle are left
        walk(t, None, 0)
    return out
