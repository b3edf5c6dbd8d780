"""Edits that change a document's structure, as ELAN's commands do: split an annotation in two, merge it with
the next, and create an annotation under a parent on a dependent tier.

Each keeps a journal of the rows it wrote (:mod:`annotation.edits.journal`): undo replays it backwards, so
every row comes back as it was, ids included, and redo makes the same ids again (later edits may name them).
Splitting and merging follow ELAN (``SplitAnnotationCommand``, ``MergeAnnotationsCommand``) where it makes
sense for coding with controlled vocabularies; see :class:`SplitAnnotation` and :class:`MergeAnnotations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation.edits.base import Touched, check_value, mark_modified, new_annotation_id, tier_row, touched_of
from annotation.edits.journal import (
    Journal,
    aligned_times,
    ann_rows,
    association,
    chained,
    children,
    constraint,
    descendant_tiers,
    has_vocabulary,
    linguistic_types,
    new_row,
    one,
    slot_rows,
    tier_by_pk,
    tier_rows_of,
)
from annotation.elan import SYMBOLIC_ASSOCIATION, SYMBOLIC_SUBDIVISION, Annotation, child_spans
from annotation.errors import InvalidEdit
from annotation.store import AnnotationRow, TierRow, TimeSlotRow, get_document_row


def _merged_value(vocabulary: bool, tier_id: str, a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str | None]:
    """The value of two annotations made one: a value both share, or the one that is not empty; two different
    free-text values joined with a space as ELAN joins them. Two different values of a controlled vocabulary
    cannot be joined (the result would be no value of it): refused."""
    if a["value"] == b["value"] or not b["value"]:
        return a["value"], a["cve_ref"]
    if not a["value"]:
        return b["value"], b["cve_ref"]
    if vocabulary:
        raise InvalidEdit(
            f"annotation {a['ann_id']!r}: {a['value']!r} and {b['value']!r} ({b['ann_id']}) differ on tier "
            f"{tier_id!r}, whose values come from a vocabulary; give them one value first"
        )
    return f"{a['value']} {b['value']}", None


class _Ids:
    """Annotation ids an edit creates, the same ones again when it is redone (later edits may name them)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._next = 0

    def restart(self) -> None:
        self._next = 0

    def take(self, session: Session, doc_id: int) -> str:
        while self._next < len(self.ids):
            aid = self.ids[self._next]
            self._next += 1
            if not ann_rows(session, doc_id, AnnotationRow.ann_id == aid):
                return aid
        aid = new_annotation_id(session, doc_id)
        self.ids.append(aid)
        self._next = len(self.ids)
        return aid


class _Journaled:
    """What the journaled edits (split, merge, referring create) share: undo replays their journal backwards,
    and both ways say what they touched."""

    doc_id: int
    touched: Touched
    _journal: Journal | None

    def _finish(self, session: Session, j: Journal) -> None:
        self.touched = touched_of(session, j.tier_pks, j.touched, j.slot_positions())
        mark_modified(session, self.doc_id)

    def revert(self, session: Session) -> None:
        assert self._journal is not None
        self._journal.revert(session)
        self._finish(session, self._journal)


@dataclass
class SplitAnnotation(_Journaled):
    """Split an alignable annotation in two at ``at_ms`` (strictly inside it), as ELAN's "Split annotation".

    The first half keeps the annotation (its id, its start); the second half is a new annotation from
    ``at_ms`` to the old end, with the same value. Referring children:

    - on a Symbolic_Subdivision tier, each child goes with the half it is shown in (by the middle of its
      share of the parent's span), in chain order, so the words of an utterance stay where they were shown;
    - on a Symbolic_Association tier, the one child is copied to the second half with its value (and its own
      referring descendants), as ELAN copies it: both halves keep the value, like the parent.

    Alignable annotations of time-alignable child tiers (Time_Subdivision, Included_In) keep their own times,
    so they stay with the half they lie in; one that crosses ``at_ms`` would belong to neither half, and the
    split is refused naming it. ``revert`` restores every row as it was, ids included.
    """

    doc_id: int
    ann_id: str
    at_ms: int
    new_id: str | None = field(default=None, init=False)  # the second half
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)
    _ids: _Ids = field(default_factory=_Ids, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"split {self.ann_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        a = one(session, self.doc_id, self.ann_id)
        start, end = aligned_times(session, self.doc_id, a, "split")
        at = self.at_ms
        if not start < at < end:
            raise InvalidEdit(f"annotation {self.ann_id!r}: {at} ms is not inside it ({start}-{end} ms)")
        self._refuse_crossing(session, a, start, end)
        types = linguistic_types(session, self.doc_id)
        j = self._journal = Journal(self.doc_id)
        self._ids.restart()
        mid_end, mid_start = j.new_slot(session, at), j.new_slot(session, at)
        old_end = a["ts2"]
        j.update(session, a, ts2=mid_end)
        second = self._ids.take(session, self.doc_id)
        j.insert(session, new_row(a, ann_id=second, ts1=mid_start, ts2=old_end))
        self.new_id = second
        for tier_pk, kids in children(session, self.doc_id, [a]).get(a["ann_id"], {}).items():
            tier = tier_by_pk(session, tier_pk)
            if association(types, tier, kids):
                self._copy(session, j, kids[0], second, None)
                continue
            ordered = chained(kids)
            shown = child_spans(start, end, [Annotation(k["ann_id"], "", prev=k["prev"]) for k in ordered])
            moving = [k for k, (_, s, e) in zip(ordered, shown, strict=True) if (s + e) / 2 >= at]
            for i, k in enumerate(moving):
                j.update(session, k, ref=second, prev=moving[i - 1]["ann_id"] if i else None)
        self._finish(session, j)

    def _refuse_crossing(self, session: Session, a: dict[str, Any], start: int, end: int) -> None:
        below = descendant_tiers(session, self.doc_id, a["tier_pk"])
        if not below:
            return
        rows = ann_rows(session, self.doc_id, AnnotationRow.tier_pk.in_(below), AnnotationRow.ts1.is_not(None))
        times = slot_rows(session, self.doc_id, {s for r in rows for s in (r["ts1"], r["ts2"])})
        for r in rows:
            t1, t2 = times[r["ts1"]]["time_ms"], times[r["ts2"]]["time_ms"]
            if t1 is not None and t2 is not None and start <= t1 < self.at_ms < t2 <= end:
                name = tier_by_pk(session, r["tier_pk"]).tier_id
                raise InvalidEdit(
                    f"annotation {self.ann_id!r}: {r['ann_id']!r} on tier {name!r} crosses {self.at_ms} ms; "
                    "split there it would belong to neither half"
                )

    def _copy(self, session: Session, j: Journal, row: dict[str, Any], parent: str, prev: str | None) -> str:
        """Copy a referring annotation and its referring descendants under ``parent``; returns the copy's id."""
        aid = self._ids.take(session, self.doc_id)
        j.insert(session, new_row(row, ann_id=aid, ref=parent, prev=prev))
        for kids in children(session, self.doc_id, [row]).get(row["ann_id"], {}).values():
            copied: dict[str, str] = {}
            for k in chained(kids):
                copied[k["ann_id"]] = self._copy(session, j, k, aid, copied.get(k["prev"] or ""))
        return aid


@dataclass
class MergeAnnotations(_Journaled):
    """Merge an alignable annotation with the one after it on its tier, as ELAN's "Merge with next annotation".

    ``second_id`` must start at or after ``first_id`` on the same tier with no other annotation starting in
    between; they may touch, overlap or leave a gap, which the merged annotation covers (as in ELAN). The first
    annotation stays (its id, its start) and ends where the later of the two ends; the second is deleted.

    The value: a value both share stays (so a split is undone by a merge), an empty value gives way to the
    other, and two different free-text values are joined with a space as ELAN joins them. Two different values
    on a tier with a controlled vocabulary are refused: joined they would be no value of the vocabulary.

    Children are kept: the second annotation's referring children move to the first, a Symbolic_Subdivision's
    appended to the end of the first's chain, a Symbolic_Association's merged into the first's child on that
    tier by the same value rule (or moved, when the first has none). ``revert`` restores every row, ids
    included.
    """

    doc_id: int
    first_id: str
    second_id: str
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"merge {self.first_id} with {self.second_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        if self.first_id == self.second_id:
            raise InvalidEdit(f"annotation {self.first_id!r}: cannot be merged with itself")
        a = one(session, self.doc_id, self.first_id)
        b = one(session, self.doc_id, self.second_id)
        a_start, a_end = aligned_times(session, self.doc_id, a, "merge")
        b_start, b_end = aligned_times(session, self.doc_id, b, "merge")
        tier = tier_by_pk(session, a["tier_pk"])
        if b["tier_pk"] != a["tier_pk"]:
            other = tier_by_pk(session, b["tier_pk"]).tier_id
            raise InvalidEdit(
                f"annotation {self.second_id!r}: on tier {other!r}, not on {self.first_id}'s tier {tier.tier_id!r}"
            )
        if b_start < a_start:
            raise InvalidEdit(
                f"annotation {self.second_id!r}: starts before {self.first_id!r}; merge it with the next one instead"
            )
        self._refuse_between(session, a, b, a_start, b_start)
        types = linguistic_types(session, self.doc_id)
        value, cve = _merged_value(has_vocabulary(types, tier), tier.tier_id, a, b)
        j = self._journal = Journal(self.doc_id)
        old_end = a["ts2"]
        j.update(session, a, ts2=b["ts2"] if b_end >= a_end else a["ts2"], value=value, cve_ref=cve)
        self._absorb(session, j, types, a, b)
        j.delete(session, b)
        j.drop_unused_slots(session, [old_end, b["ts1"], b["ts2"]])
        self._finish(session, j)

    def _refuse_between(self, session: Session, a: dict[str, Any], b: dict[str, Any], t0: int, t1: int) -> None:
        starts = (
            select(AnnotationRow.ann_id)
            .join(
                TimeSlotRow,
                (TimeSlotRow.document_id == AnnotationRow.document_id) & (TimeSlotRow.slot_id == AnnotationRow.ts1),
            )
            .where(
                AnnotationRow.tier_pk == a["tier_pk"],
                AnnotationRow.ann_id.not_in([a["ann_id"], b["ann_id"]]),
                TimeSlotRow.time_ms >= t0,
                TimeSlotRow.time_ms <= t1,
            )
            .limit(1)
        )
        between = session.scalar(starts)
        if between is not None:
            raise InvalidEdit(
                f"annotation {between!r}: lies between {a['ann_id']!r} and {b['ann_id']!r}; only neighbours merge"
            )

    def _absorb(
        self, session: Session, j: Journal, types: dict[str, dict[str, str]], keep: dict[str, Any], gone: dict[str, Any]
    ) -> None:
        """Move the referring children of ``gone`` to ``keep`` (see the class docstring)."""
        kids = children(session, self.doc_id, [keep, gone])
        mine, theirs = kids.get(keep["ann_id"], {}), kids.get(gone["ann_id"], {})
        for tier_pk, moving in theirs.items():
            tier = tier_by_pk(session, tier_pk)
            staying = mine.get(tier_pk, [])
            if staying and association(types, tier, staying) and association(types, tier, moving):
                k, g = staying[0], moving[0]
                value, cve = _merged_value(has_vocabulary(types, tier), tier.tier_id, k, g)
                if (value, cve) != (k["value"], k["cve_ref"]):
                    j.update(session, k, value=value, cve_ref=cve)
                self._absorb(session, j, types, k, g)
                j.delete(session, g)
                continue
            # one chain: the first's children, then the second's, every link written out (ELAN writes them)
            chain = chained(staying) + chained(moving)
            for i, k in enumerate(chain):
                prev = chain[i - 1]["ann_id"] if i else None
                if (k["ref"], k["prev"]) != (keep["ann_id"], prev):
                    j.update(session, k, ref=keep["ann_id"], prev=prev)


@dataclass
class CreateReferringAnnotation(_Journaled):
    """A new annotation on a dependent tier, under ``parent_id`` on the tier's parent tier.

    On a symbolic tier it refers to the parent (a Symbolic_Association takes one per parent: a second is
    refused; a Symbolic_Subdivision appends it to the end of the parent's chain). On a time-alignable child
    tier (Time_Subdivision, Included_In) it is an alignable annotation over the parent's whole span, on the
    parent's time slots as ELAN makes a first subdivision, refused when the tier already has annotations there.
    """

    doc_id: int
    tier_id: str
    parent_id: str
    value: str = ""
    cve_ref: str | None = None
    ann_id: str | None = field(default=None, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False)
    _ids: _Ids = field(default_factory=_Ids, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"add annotation on {self.tier_id} under {self.parent_id}"

    def apply(self, session: Session) -> None:
        get_document_row(session, self.doc_id)
        check_value(self.value)
        tier = tier_row(session, self.doc_id, self.tier_id)
        if tier.parent_ref is None:
            raise InvalidEdit(f"tier {self.tier_id!r}: a top-level tier; its annotations have times of their own")
        parent = one(session, self.doc_id, self.parent_id)
        parent_tier = tier_by_pk(session, parent["tier_pk"])
        if parent_tier.tier_id != tier.parent_ref:
            raise InvalidEdit(
                f"annotation {self.parent_id!r}: on tier {parent_tier.tier_id!r}, not on {tier.parent_ref!r}, "
                f"the parent tier of {self.tier_id!r}"
            )
        types = linguistic_types(session, self.doc_id)
        kind = constraint(types, tier)
        lt = types.get(tier.linguistic_type_ref or "", {})
        j = self._journal = Journal(self.doc_id)
        self._ids.restart()
        new: dict[str, Any] = {"tier_pk": tier.id, "value": self.value, "cve_ref": self.cve_ref}
        if kind in (SYMBOLIC_ASSOCIATION, SYMBOLIC_SUBDIVISION) or lt.get("TIME_ALIGNABLE") == "false":
            kids = tier_rows_of(session, [tier.id], AnnotationRow.ref == self.parent_id)
            if kids and kind != SYMBOLIC_SUBDIVISION:
                raise InvalidEdit(
                    f"annotation {self.parent_id!r}: already has {kids[0]['ann_id']!r} on tier {self.tier_id!r}"
                )
            new.update(ref=self.parent_id, prev=chained(kids)[-1]["ann_id"] if kids else None)
        else:
            start, end = aligned_times(session, self.doc_id, parent, "annotate under")
            self._refuse_occupied(session, tier, start, end)
            new.update(ts1=parent["ts1"], ts2=parent["ts2"])
        self.ann_id = self._ids.take(session, self.doc_id)
        j.insert(session, {**new, "ann_id": self.ann_id})
        self._finish(session, j)

    def _refuse_occupied(self, session: Session, tier: TierRow, start: int, end: int) -> None:
        rows = tier_rows_of(session, [tier.id])
        times = slot_rows(session, self.doc_id, {s for r in rows for s in (r["ts1"], r["ts2"])})
        for r in rows:
            t1 = times.get(r["ts1"] or "", {}).get("time_ms")
            t2 = times.get(r["ts2"] or "", {}).get("time_ms")
            if t1 is not None and t2 is not None and t1 < end and t2 > start:
                raise InvalidEdit(
                    f"annotation {self.parent_id!r}: tier {self.tier_id!r} already has {r['ann_id']!r} in its time"
                )
