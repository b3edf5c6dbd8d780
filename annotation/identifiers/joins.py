"""Confirming an identifier where one is already confirmed: the Sensitive identifier annotations a new span
overlaps are joined into one that covers them all, instead of a second annotation over the same time.

Annotations on one tier never overlap (:mod:`annotation.edits.overlaps`), and a proposal's span is by default
the whole transcript segment it was found in: a child's name and their school in one utterance give two
proposals with the same span. What a bleep needs is that the union of the confirmed spans is covered, so
:func:`plan_join` finds every Sensitive identifier annotation that overlaps the span (and what overlaps
those, on a tier imported with overlaps), and :class:`SensitiveJoin` makes them one with the edit commands
of :mod:`annotation.edits`: the values set alike, the later annotations merged into the earliest
(:class:`~annotation.edits.MergeAnnotations`), the survivor widened to the union
(:class:`~annotation.edits.SetAnnotationTimes`). Confirmed proposals that pointed at an annotation merged
away are pointed at the survivor. ``revert`` undoes each step in reverse, so every annotation comes back
with its id, span and value, and every proposal with the annotation it pointed at.

The value of the joined annotation (:func:`joined_value`): one value when all agree; on a tier with a
controlled vocabulary the existing value is kept (two entries cannot be joined into one of the vocabulary;
the proposal row keeps its own); on free text the distinct kinds are joined, ``child name; school``, unless
that would read as an identifier itself.

A span that only touches a confirmed one (one ends where the other starts) does not overlap it and stays a
separate annotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annotation.edits import (
    EditCommand,
    MergeAnnotations,
    SetAnnotationTimes,
    SetAnnotationValue,
    Touched,
    overlapping,
)
from annotation.elan import SENSITIVE_TIER
from annotation.errors import NotFound
from annotation.identifiers.match import WatchMatcher, pattern_matches
from annotation.identifiers.models import IdentifierProposal
from annotation.identifiers.watch_list import project_terms
from annotation.store import AnnotationRow, LinguisticType, TierRow, VocabularyEntry, VocabularyRow, VocabularyValue

SEPARATOR = "; "

__all__ = [
    "SEPARATOR",
    "SensitiveJoin",
    "joined_value",
    "plan_join",
    "repeats_identifier",
    "sensitive_tier_pk",
    "sensitive_vocabulary",
]


def sensitive_tier_pk(session: Session, doc_id: int) -> int:
    """The primary key of the document's Sensitive identifier tier.

    Raises:
        NotFound: the document has no Sensitive identifier tier.
    """
    pk = session.scalar(select(TierRow.id).where(TierRow.document_id == doc_id, TierRow.tier_id == SENSITIVE_TIER))
    if pk is None:
        raise NotFound(f"document {doc_id}: has no {SENSITIVE_TIER!r} tier to confirm identifiers on")
    return int(pk)


def sensitive_vocabulary(session: Session, doc_id: int) -> dict[str, str | None]:
    """Value -> vocabulary entry id of the document's Sensitive identifier tier ({} for free text).

    Raises:
        NotFound: the document has no Sensitive identifier tier.
    """
    tier = session.scalar(select(TierRow).where(TierRow.document_id == doc_id, TierRow.tier_id == SENSITIVE_TIER))
    if tier is None:
        raise NotFound(f"document {doc_id}: has no {SENSITIVE_TIER!r} tier to confirm identifiers on")
    cv_id = None
    for lt in session.scalars(select(LinguisticType).where(LinguisticType.document_id == doc_id)):
        if lt.attr("LINGUISTIC_TYPE_ID") == tier.linguistic_type_ref:
            cv_id = lt.attr("CONTROLLED_VOCABULARY_REF")
    if cv_id is None:
        return {}
    rows = session.execute(
        select(VocabularyValue.value, VocabularyEntry.cve_id)
        .join(VocabularyEntry, VocabularyEntry.id == VocabularyValue.entry_id)
        .join(VocabularyRow, VocabularyRow.id == VocabularyEntry.vocabulary_id)
        .where(VocabularyRow.document_id == doc_id, VocabularyRow.cv_id == cv_id)
        .order_by(VocabularyEntry.pos, VocabularyValue.pos)
    ).all()
    out: dict[str, str | None] = {}
    for value, cve in rows:
        out.setdefault(value, cve)
    return out


def repeats_identifier(session: Session, project_id: int | None, value: str) -> bool:
    """Whether ``value`` holds one of the project's watch-list terms or looks like an identifier itself."""
    if WatchMatcher(project_terms(session, project_id)).find(value):
        return True
    return bool(pattern_matches(value))


def joined_value(existing: Sequence[str], new: str, *, vocabulary: bool) -> str:
    """The value of Sensitive identifier annotations (``existing``, in time order) joined with a new one of
    value ``new``: the one value when all agree; with a ``vocabulary``, the first existing value (an entry of
    the vocabulary; two cannot be joined into one); on free text every distinct kind once, in order, joined
    with ``"; "`` (a value already joined is split first). Empty values give way."""
    values = [v for v in existing if v.strip()]
    if not values:
        return new
    if vocabulary:
        return values[0]
    parts: dict[str, None] = {}
    for v in [*values, new]:
        for part in v.split(SEPARATOR.strip()):
            if part.strip():
                parts.setdefault(part.strip(), None)
    return SEPARATOR.join(parts)


def _joined_touched(parts: Sequence[Touched]) -> Touched:
    return Touched(
        frozenset().union(*(p.tiers for p in parts)),
        frozenset().union(*(p.annotations for p in parts)),
        frozenset().union(*(p.slots for p in parts)),
    )


@dataclass
class SensitiveJoin:
    """The Sensitive identifier annotations ``joined`` (time order) made one: the first of them (``ann_id``)
    from ``start`` to ``end`` with ``value``. Made by :func:`plan_join`; ``apply`` and ``revert`` run in the
    caller's unit of work (the confirmation's)."""

    doc_id: int
    joined: tuple[str, ...]
    start: int
    end: int
    value: str
    cve_ref: str | None
    edits: list[EditCommand] = field(default_factory=list)
    #: confirmed proposals moved from an annotation merged away to the survivor: (proposal id, old annotation)
    moved: list[tuple[int, str]] = field(default_factory=list, init=False)
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def ann_id(self) -> str:
        return self.joined[0]

    def apply(self, session: Session) -> None:
        for e in self.edits:
            e.apply(session)
        gone = list(self.joined[1:])
        self.moved = []
        if gone:
            q = select(IdentifierProposal.id, IdentifierProposal.sensitive_ann_id).where(
                IdentifierProposal.document_id == self.doc_id, IdentifierProposal.sensitive_ann_id.in_(gone)
            )
            self.moved = [(pid, str(old)) for pid, old in session.execute(q).all()]
        if self.moved:
            session.execute(
                update(IdentifierProposal)
                .where(IdentifierProposal.id.in_([pid for pid, _ in self.moved]))
                .values(sensitive_ann_id=self.ann_id)
                .execution_options(synchronize_session=False)
            )
        self.touched = _joined_touched([e.touched for e in self.edits])

    def revert(self, session: Session) -> None:
        for pid, old in self.moved:
            session.execute(
                update(IdentifierProposal)
                .where(IdentifierProposal.id == pid, IdentifierProposal.sensitive_ann_id == self.ann_id)
                .values(sensitive_ann_id=old)
                .execution_options(synchronize_session=False)
            )
        for e in reversed(self.edits):
            e.revert(session)
        self.touched = _joined_touched([e.touched for e in self.edits])


def plan_join(
    session: Session, doc_id: int, start: int, end: int, value: str, *, project_id: int | None
) -> SensitiveJoin | None:
    """How a new Sensitive identifier over ``start``-``end`` with ``value`` joins the ones it overlaps (None:
    it overlaps none, and is an annotation of its own). ``project_id``: whose watch list a joined free-text
    value is checked against (when it would read as an identifier, the existing value is kept).

    Raises:
        NotFound: the document has no Sensitive identifier tier.
    """
    tier_pk = sensitive_tier_pk(session, doc_id)
    lo, hi = start, end
    found = overlapping(session, doc_id, tier_pk, lo, hi)
    while found:  # what overlaps the union too (a tier imported with overlaps), until nothing more joins
        wider = (min(lo, *(n.start for n in found)), max(hi, *(n.end for n in found)))
        if wider == (lo, hi):
            break
        lo, hi = wider
        found = overlapping(session, doc_id, tier_pk, lo, hi)
    if not found:
        return None
    vocabulary = sensitive_vocabulary(session, doc_id)
    ids = [n.ann_id for n in found]
    cves = dict(
        session.execute(
            select(AnnotationRow.ann_id, AnnotationRow.cve_ref).where(
                AnnotationRow.document_id == doc_id, AnnotationRow.ann_id.in_(ids)
            )
        ).all()
    )
    existing = [n.value for n in found]
    chosen = joined_value(existing, value, vocabulary=bool(vocabulary))
    if not vocabulary and chosen not in existing and repeats_identifier(session, project_id, chosen):
        chosen = joined_value(existing, value, vocabulary=True)  # the existing value: never a new identifier
    if chosen in existing:
        cve = cves.get(found[existing.index(chosen)].ann_id)
    else:
        cve = vocabulary.get(chosen) if vocabulary else None
    edits: list[EditCommand] = []
    for n in found:
        if (n.value, cves.get(n.ann_id)) != (chosen, cve):
            edits.append(SetAnnotationValue(doc_id, n.ann_id, chosen, cve))
        if n is not found[0]:
            edits.append(MergeAnnotations(doc_id, found[0].ann_id, n.ann_id))
    if (found[0].start, max(n.end for n in found)) != (lo, hi):
        edits.append(SetAnnotationTimes(doc_id, found[0].ann_id, lo, hi))
    return SensitiveJoin(doc_id, tuple(ids), lo, hi, chosen, cve, edits)
