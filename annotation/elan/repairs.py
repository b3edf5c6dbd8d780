"""Repairs the ELAN reader makes to files that break the EAF schema in a recoverable way, and the report of them.

Files written by other tools break the schema in ways ELAN and pympi tolerate: no ``HEADER``, negative or
decimal ``TIME_VALUE``\\ s, an ``ANNOTATION_ID`` used more than once, a tier without a linguistic type ... The
reader repairs what can be repaired without guessing the meaning and counts each kind of repair in a
:class:`RepairLog`; the front ends show each kind once as a :class:`Repair` line naming the file, what was
repaired and how many times. In strict mode the first repair needed refuses the file instead, in one line.

What the writer then writes is valid EAF 3.0 that reads back with no repair: every annotation value and time
is kept, ids change only where they had to. Two things are kept exactly as the file had them and so are
reported again on every read: negative times (before the media's start) and an annotation whose time slots
are out of order (ending before it begins), which ELAN tolerates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from annotation.elan.model import Annotation, Attrs, EafDocument, Tier
from annotation.errors import DanglingReference, DuplicateId, EafStructureError

# What each kind of repair says (one line per kind, with its count).
NO_HEADER = "no HEADER element: read as milliseconds with no media"
NEGATIVE_TIME = "negative TIME_VALUE kept as it is (a time before the media's start)"
DECIMAL_TIME = "decimal TIME_VALUE rounded to the millisecond"
NON_NUMERIC_TIME = "non-numeric TIME_VALUE: its time slot left unaligned"
SLOTS_OUT_OF_ORDER = "annotation whose time slots are out of order (it ends before it begins): kept as it is"
DUPLICATE_ANNOTATION_ID = "ANNOTATION_ID used more than once: the later annotation given a fresh id"
REF_THROUGH_PARENT = "ANNOTATION_REF to an id used more than once: resolved on the referring tier's parent tier"
MISSING_TYPE = "tier without LINGUISTIC_TYPE_REF: given a linguistic type that fits its annotations"
DANGLING_TYPE = "LINGUISTIC_TYPE_REF naming no linguistic type: that type created to fit the tier"
DANGLING_PREVIOUS = "PREVIOUS_ANNOTATION pointing to no annotation on its tier: dropped"
CVE_WITHOUT_ID = "vocabulary entry without CVE_ID: given a fresh id"


@dataclass(frozen=True, slots=True)
class Repair:
    """One kind of repair made while reading ``file``, ``count`` times."""

    file: str
    what: str
    count: int

    def __str__(self) -> str:
        times = "once" if self.count == 1 else f"{self.count} times"
        return f"{self.file}: {self.what} ({times})"


class RepairLog:
    """Counts the repairs made to one file, by kind in the order first met; in strict mode refuses instead."""

    def __init__(self, name: str, strict: bool = False) -> None:
        self.name = name
        self.strict = strict
        self._counts: dict[str, int] = {}

    def repair(
        self,
        what: str,
        refusal: str,
        cls: type[EafStructureError] = EafStructureError,
        n: int = 1,
        *,
        first: bool = False,
    ) -> None:
        """Count a repair of kind ``what``; in strict mode raise ``cls`` with ``refusal`` (today's message).
        ``first`` reports it before the kinds already counted (one found only at the end of the file)."""
        if self.strict:
            raise cls(f"{self.name}: {refusal}")
        self.note(what, n)
        if first:
            self._counts = {what: self._counts.pop(what), **self._counts}

    def note(self, what: str, n: int = 1) -> None:
        """Count something kept as it is (reported, never refused)."""
        if n:
            self._counts[what] = self._counts.get(what, 0) + n

    def repairs(self) -> list[Repair]:
        return [Repair(self.name, what, n) for what, n in self._counts.items()]


class FreshIds:
    """Called, the next id ``prefix<n>`` that clashes with none in ``taken``, numbered after the highest there."""

    def __init__(self, taken: set[str], prefix: str) -> None:
        pattern = re.compile(re.escape(prefix) + r"([0-9]{1,18})")
        numbers = [int(m.group(1)) for t in taken if (m := pattern.fullmatch(t))]
        self.taken = taken
        self.prefix = prefix
        self.next = max(numbers, default=0) + 1

    def __call__(self) -> str:
        while (candidate := f"{self.prefix}{self.next}") in self.taken:
            self.next += 1
        self.next += 1
        self.taken.add(candidate)
        return candidate


def fill_cve_ids(doc: EafDocument, log: RepairLog) -> None:
    """Give every vocabulary entry without a CVE_ID a fresh one (EAF 3.0 requires it)."""
    missing = [e for cv in doc.vocabularies for e in cv.entries if e.cve_id is None]
    if not missing:
        return
    cv_id = next(cv.cv_id for cv in doc.vocabularies if any(e.cve_id is None for e in cv.entries))
    log.repair(CVE_WITHOUT_ID, f"an entry of vocabulary {cv_id!r} has no CVE_ID", n=len(missing))
    fresh = FreshIds({e.cve_id for cv in doc.vocabularies for e in cv.entries if e.cve_id is not None}, "cveid_")
    for e in missing:
        e.cve_id = fresh()


# ---- linguistic types ------------------------------------------------------------------------------------

_CONSTRAINT_TEXT = {
    "Time_Subdivision": "Time subdivision of parent annotation's time interval, no time gaps allowed within this "
    "interval",
    "Symbolic_Subdivision": "Symbolic subdivision of a parent annotation. Annotations refering to the same parent "
    "are ordered",
    "Symbolic_Association": "1-1 association with a parent annotation",
    "Included_In": "Time alignable annotations within the parent annotation's time interval, gaps are allowed",
}


def fitting_constraint(tier: Tier) -> str | None:
    """The stereotype a tier's annotations show: none on a top-level tier, Included_In for a child tier's
    alignable annotations, Symbolic_Subdivision for ordered referring ones, else Symbolic_Association."""
    if tier.parent_ref is None:
        return None
    anns: list[Annotation] = tier.annotations
    if any(a.ref is None for a in anns):
        return "Included_In"
    if any(a.prev is not None for a in anns):
        return "Symbolic_Subdivision"
    return "Symbolic_Association"


def _fits(lt: Attrs, constraint: str | None) -> bool:
    if lt.get("CONSTRAINTS") != constraint:
        return False
    alignable = lt.get("TIME_ALIGNABLE", "true") != "false"
    return alignable == (constraint in (None, "Included_In", "Time_Subdivision"))


def _new_type(doc: EafDocument, type_id: str, constraint: str | None) -> Attrs:
    alignable = constraint in (None, "Included_In", "Time_Subdivision")
    lt: Attrs = {}
    if constraint is not None:
        lt["CONSTRAINTS"] = constraint
        if not any(c.get("STEREOTYPE") == constraint for c in doc.constraints):
            doc.constraints.append({"DESCRIPTION": _CONSTRAINT_TEXT[constraint], "STEREOTYPE": constraint})
    lt.update({"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": type_id, "TIME_ALIGNABLE": str(alignable).lower()})
    doc.linguistic_types.append(lt)
    return lt


def repair_type_refs(doc: EafDocument, log: RepairLog) -> None:
    """Give a tier without a LINGUISTIC_TYPE_REF a type that fits it (one already there, else a new one), and
    create the type a dangling LINGUISTIC_TYPE_REF names, fitting the tier."""
    type_ids = {lt.get("LINGUISTIC_TYPE_ID") for lt in doc.linguistic_types}
    for t in doc.tiers:
        ltr = t.attrs.get("LINGUISTIC_TYPE_REF")
        if ltr is not None and ltr in type_ids:
            continue
        constraint = fitting_constraint(t)
        if ltr is None:
            log.repair(MISSING_TYPE, f"tier {t.tier_id!r} has no LINGUISTIC_TYPE_REF")
            lt = next((x for x in doc.linguistic_types if _fits(x, constraint)), None)
            if lt is None:
                base = "default-lt" if constraint is None else f"{constraint.lower().replace('_', '-')}-lt"
                new_id = base if base not in type_ids else FreshIds({str(i) for i in type_ids}, f"{base}-")()
                lt = _new_type(doc, new_id, constraint)
                type_ids.add(new_id)
            t.attrs["LINGUISTIC_TYPE_REF"] = lt["LINGUISTIC_TYPE_ID"]
        else:
            log.repair(
                DANGLING_TYPE,
                f"tier {t.tier_id!r} has LINGUISTIC_TYPE_REF {ltr!r}, which is no linguistic type",
                DanglingReference,
            )
            _new_type(doc, ltr, constraint)
            type_ids.add(ltr)


# ---- annotation ids and references ----------------------------------------------------------------------


def resolve_annotation_ids(doc: EafDocument, log: RepairLog) -> None:
    """Make annotation ids unique and resolve every ANNOTATION_REF and PREVIOUS_ANNOTATION.

    The first annotation (in document order) with an id keeps it; a later one gets a fresh id. A reference
    is resolved on the tier where what it names must be: an ANNOTATION_REF on the referring tier's parent
    tier, a PREVIOUS_ANNOTATION on its own tier; failing that, on the one annotation with that id anywhere.
    A PREVIOUS_ANNOTATION that names nothing is dropped; an ANNOTATION_REF that names nothing, or names an id
    used more than once none of which is on the parent tier, is refused (which one was meant is a guess).

    Raises:
        DuplicateId: in strict mode, an id used twice.
        DanglingReference: an ANNOTATION_REF to no annotation (or to several); in strict mode a dangling
            PREVIOUS_ANNOTATION.
    """
    first: dict[str, Annotation] = {}
    later: list[Annotation] = []
    for t in doc.tiers:
        for a in t.annotations:
            if a.ann_id in first:
                later.append(a)
            else:
                first[a.ann_id] = a
    if not later:  # every id unique (a valid file): each reference only needs to name one
        for t in doc.tiers:
            for a in t.annotations:
                if a.ref is not None and a.ref not in first:
                    raise DanglingReference(
                        f"{log.name}: annotation {a.ann_id!r} refers to annotation {a.ref!r}, which does not exist"
                    )
                if a.prev is not None and a.prev not in first:
                    _drop_previous(a, log)
        return
    log.repair(DUPLICATE_ANNOTATION_ID, f"annotation id {later[0].ann_id!r} occurs twice", DuplicateId, n=len(later))
    repeated = {a.ann_id for a in later}
    on_tier: dict[str, dict[str, Annotation]] = {}
    for t in doc.tiers:
        mine = on_tier.setdefault(t.tier_id, {})
        for a in t.annotations:
            mine.setdefault(a.ann_id, a)
    fresh = FreshIds(set(first), "a")
    for a in later:
        a.ann_id = fresh()
    _advance_last_used_id(doc, fresh.next - 1)
    through_parent = 0
    for t in doc.tiers:
        parent = on_tier.get(t.parent_ref) if t.parent_ref is not None else None
        mine = on_tier[t.tier_id]
        for a in t.annotations:
            if a.ref is not None:
                target = parent.get(a.ref) if parent is not None else None
                if target is None and a.ref not in repeated:
                    target = first.get(a.ref)
                if target is None:
                    what = "which does not exist"
                    if a.ref in first:
                        what = f"an id used more than once, none of them on tier {t.parent_ref!r}"
                    raise DanglingReference(
                        f"{log.name}: annotation {a.ann_id!r} refers to annotation {a.ref!r}, {what}"
                    )
                through_parent += a.ref in repeated
                a.ref = target.ann_id
            if a.prev is not None:
                target = mine.get(a.prev)
                if target is None and a.prev not in repeated:
                    target = first.get(a.prev)
                if target is None:
                    _drop_previous(a, log)
                else:
                    a.prev = target.ann_id
    log.note(REF_THROUGH_PARENT, through_parent)


def _drop_previous(a: Annotation, log: RepairLog) -> None:
    log.repair(
        DANGLING_PREVIOUS,
        f"annotation {a.ann_id!r} has PREVIOUS_ANNOTATION {a.prev!r}, which does not exist",
        DanglingReference,
    )
    a.prev = None


def _advance_last_used_id(doc: EafDocument, last: int) -> None:
    # ELAN numbers new annotations after the header property lastUsedAnnotationId: keep it past the fresh ids
    for i, (name, value) in enumerate(doc.properties):
        if name == "lastUsedAnnotationId" and value is not None and value.strip().isdigit() and int(value) < last:
            doc.properties[i] = (name, str(last))
