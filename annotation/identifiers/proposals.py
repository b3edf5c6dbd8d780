"""Sensitive identifiers found for the researcher: scan a document's transcripts, propose, confirm or reject.

``scan_document`` looks through a document's free-text tiers for the project's watch-list terms
(:mod:`annotation.identifiers.watch_list`) and for identifier patterns (dates of birth, phone numbers, postcodes, NHS
numbers, email addresses, street addresses, long case numbers; :mod:`annotation.identifiers.match`), and
stores a **proposal** for each annotation and match. It changes nothing else: no annotation is added and
no clip changes until the researcher confirms a proposal. **Nothing is auto-confirmed.**

Which tiers: every tier without a controlled vocabulary (a transcript, an utterance tier, the researcher's
Notes, whose text often names who was spoken of and may be burned into a clip as captions), except the
"Sensitive identifier" tier itself and the Participants tier (staff pseudonyms, which consent deals with).
``tiers=`` scans other ones (never the Sensitive identifier tier).

The span of a proposal is the time of the annotation the match is in: a transcript segment says when the
words were spoken, not when the one word was. A long segment gives a long span; confirming it bleeps all
of it, or the researcher confirms with a narrower span (``ConfirmProposal(start=, end=)``), which must
still overlap the segment.

A proposal is identified by the annotation and the match (a fingerprint, not the text): scanning again
adds only what is new, keeps a rejected proposal rejected for the same annotation and match, withdraws
pending ones whose match is gone, and puts a confirmed one back to pending when its Sensitive identifier
annotation was deleted (or the confirmation undone).

``ConfirmProposal`` and ``RejectProposal`` are edit commands (``apply``/``revert``), so the app puts them
on its undo stack. Confirming adds an annotation on the "Sensitive identifier" tier over the span whose
value says what kind of identifier it is ("child name", "date of birth"), never the identifier; every clip
of the recording rendered after that bleeps it (:mod:`annotation.identifiers.spans`). A span that overlaps
Sensitive identifier annotations already there joins them into one over the union of the spans (a tier's
annotations never overlap; two identifiers in one utterance have the same span;
:mod:`annotation.identifiers.joins`), and the proposal points at that annotation.

Nothing here writes a term or a matched text to a log or an exception; only :func:`list_proposals` gives
the annotation's text back, as context for the researcher.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotation.edits import CreateAnnotation, Touched
from annotation.elan import (
    PARTICIPANTS_TIER,
    SENSITIVE_TIER,
    Segment,
    document_segments,
    is_participants_tier,
    tier_rows,
)
from annotation.elan import TierRow as TierView
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.identifiers.joins import SensitiveJoin, plan_join, repeats_identifier, sensitive_vocabulary
from annotation.identifiers.match import (
    DEFAULT_VALUES,
    Found,
    PatternFound,
    Term,
    WatchMatcher,
    fingerprint,
    pattern_matches,
)
from annotation.identifiers.models import CONFIRMED, PENDING, REJECTED, IdentifierProposal
from annotation.identifiers.watch_list import project_terms, term_values
from annotation.services import apply_edit
from annotation.store import AnnotationRow, Recording, Store, get_document_row, get_or_not_found, load_document

log = logging.getLogger(__name__)

EXCLUDED_TIERS = (SENSITIVE_TIER, PARTICIPANTS_TIER)
LONG_SPAN_MS = 5000  # a proposal longer than this is worth narrowing before confirming
MAX_VALUE = 100  # the proposal row keeps the value it was confirmed as (and a kind is a few words)


@dataclass(frozen=True)
class ScanSummary:
    """What a scan did, in numbers (it never reports what it found in words)."""

    doc_id: int
    tiers: tuple[str, ...]
    annotations: int  # annotations with text that were searched
    terms: int  # watch-list terms searched for (0: the document's project has none, or it has no project)
    has_project: bool
    new: int = 0
    pending: int = 0  # proposals still waiting for the researcher, new ones included
    rejected: int = 0  # found again, and kept rejected
    confirmed: int = 0  # found again, already confirmed
    reopened: int = 0  # confirmed, but their Sensitive identifier annotation is gone: pending again
    withdrawn: int = 0  # pending proposals whose match is no longer there
    seconds: float = 0.0


@dataclass(frozen=True)
class _Match:
    ann_id: str
    tier_id: str
    source: str  # "watch" or "pattern"
    term_id: int | None
    kind: str
    value: str
    start: int
    end: int


def _project_of(session: Session, doc_id: int) -> int | None:
    """The project whose watch list a document is searched for: its own, else its recording's (a document
    made for a recording has no project of its own; :func:`annotation.services.document_project`).

    Raises:
        NotFound: no such document.
    """
    d = get_document_row(session, doc_id)
    if d.project_id is None and d.recording_id is not None:
        return session.scalar(select(Recording.project_id).where(Recording.id == d.recording_id))
    return d.project_id


@dataclass(frozen=True)
class _Loaded:
    project_id: int | None
    segments: dict[str, list[Segment]]
    tiers: list[TierView]
    terms: list[Term]
    values: dict[int, tuple[str, str]]


def _load(store: Store, doc_id: int) -> _Loaded:
    with store.session() as s:
        project_id = _project_of(s, doc_id)
        doc = load_document(s, doc_id)
        terms = project_terms(s, project_id)
        values = term_values(s, (t.id for t in terms))
    return _Loaded(project_id, document_segments(doc), tier_rows(doc), terms, values)


def scan_tiers(rows: Sequence[TierView], tiers: Sequence[str] | None) -> tuple[str, ...]:
    """The tiers a scan searches: ``tiers`` (checked), or every tier without a controlled vocabulary except
    the Sensitive identifier and Participants tiers.

    Raises:
        NotFound: a tier the document does not have.
        InvalidEdit: the Sensitive identifier tier (its annotations are what a scan proposes).
    """
    names = [r.tier_id for r in rows]
    if tiers is None:
        return tuple(
            r.tier_id
            for r in rows
            if not r.vocabulary and r.tier_id not in EXCLUDED_TIERS and not is_participants_tier(r.tier_id)
        )
    for t in tiers:
        if t not in names:
            raise NotFound(f"tier {t!r}: no such tier (tiers: {', '.join(names) or 'none'})")
        if t == SENSITIVE_TIER:
            raise InvalidEdit(f"tier {t!r}: holds what a scan proposes; it is not scanned")
    return tuple(dict.fromkeys(tiers))


def scan_document(
    store: Store,
    doc_id: int,
    *,
    tiers: Sequence[str] | None = None,
    guess_names: bool = False,
    today: date | None = None,
) -> ScanSummary:
    """Search the document's free-text tiers for its project's watch-list terms and identifier patterns and
    store a pending proposal for each new (annotation, match). Adds no annotation and changes no clip.

    ``guess_names`` adds the name heuristics of :mod:`annotation.identifiers.warnings` (many false alarms on a
    transcript); ``today`` decides which dates are recent enough to be a child's date of birth.

    Raises:
        NotFound: no such document, or a tier it does not have.
        InvalidEdit: ``tiers`` names the Sensitive identifier tier.
        ConflictError: someone else scanned the document at the same moment (scan again).
    """
    began = time.perf_counter()
    loaded = _load(store, doc_id)
    segments, values = loaded.segments, loaded.values
    chosen = scan_tiers(loaded.tiers, tiers)
    matcher = WatchMatcher(loaded.terms)
    found: dict[str, _Match] = {}
    searched = 0
    for tier in chosen:
        for seg in segments.get(tier, ()):
            if not seg.value.strip():
                continue
            searched += 1
            for f in matcher.find(seg.value):
                kind, value = values[f.term_id]
                fp = fingerprint(doc_id, seg.ann_id, ("watch", f.term_id))
                found.setdefault(fp, _Match(seg.ann_id, tier, "watch", f.term_id, kind, value, seg.start, seg.end))
            for p in pattern_matches(seg.value, guess_names=guess_names, today=today):
                fp = fingerprint(doc_id, seg.ann_id, ("pattern", p.kind, p.key))
                value = DEFAULT_VALUES[p.kind]
                found.setdefault(fp, _Match(seg.ann_id, tier, "pattern", None, p.kind, value, seg.start, seg.end))
    sensitive = {seg.ann_id for seg in segments.get(SENSITIVE_TIER, ())}
    alive = {seg.ann_id for segs in segments.values() for seg in segs}
    counts = _store_proposals(store, doc_id, found, set(chosen), sensitive, alive)
    summary = ScanSummary(
        doc_id,
        chosen,
        searched,
        len(loaded.terms),
        loaded.project_id is not None,
        seconds=time.perf_counter() - began,
        **counts,
    )
    log.info(
        "scan of document %s: %d annotations on %d tiers, %d terms; %d new, %d pending, %d kept rejected, "
        "%d reopened, %d withdrawn (%.2f s)",
        doc_id, searched, len(chosen), len(loaded.terms), summary.new, summary.pending, summary.rejected,
        summary.reopened, summary.withdrawn, summary.seconds,
    )  # fmt: skip
    return summary


def _row(doc_id: int, fp: str, m: _Match, now: datetime) -> dict[str, object]:
    return {
        "document_id": doc_id,
        "ann_id": m.ann_id,
        "tier_id": m.tier_id,
        "source": m.source,
        "term_id": m.term_id,
        "kind": m.kind,
        "value": m.value,
        "start_ms": m.start,
        "end_ms": m.end,
        "fingerprint": fp,
        "status": PENDING,
        "found_at": now,
    }


def _store_proposals(
    store: Store, doc_id: int, found: dict[str, _Match], scanned: set[str], sensitive: set[str], alive: set[str]
) -> dict[str, int]:
    counts = dict.fromkeys(("new", "pending", "rejected", "confirmed", "reopened", "withdrawn"), 0)
    now = datetime.now(UTC)
    try:
        with store.session() as s:
            existing = {
                p.fingerprint: p
                for p in s.scalars(select(IdentifierProposal).where(IdentifierProposal.document_id == doc_id))
            }
            stale: list[int] = []
            for fp, p in existing.items():
                m = found.get(fp)
                status = p.status
                reopen = status == CONFIRMED and p.sensitive_ann_id not in sensitive
                if reopen:
                    status = PENDING
                if status == PENDING and m is None and (p.tier_id in scanned or p.ann_id not in alive):
                    stale.append(p.id)
                    continue
                if reopen:
                    p.status, p.sensitive_ann_id, p.decided_at = PENDING, None, None
                    counts["reopened"] += 1
                if status == PENDING:
                    if m is not None and (p.start_ms, p.end_ms) != (m.start, m.end):
                        p.start_ms, p.end_ms = m.start, m.end
                    counts["pending"] += 1
                elif m is not None:
                    counts[status] += 1
            if stale:
                s.execute(delete(IdentifierProposal).where(IdentifierProposal.id.in_(stale)))
                counts["withdrawn"] = len(stale)
            new = [_row(doc_id, fp, m, now) for fp, m in found.items() if fp not in existing]
            if new:
                s.execute(insert(IdentifierProposal), new)
            counts["new"] = len(new)
            counts["pending"] += len(new)
    except IntegrityError:
        # the only unique key is (document, fingerprint): another scan of this document got there first. The
        # database's message would quote fingerprints only, but it is not needed
        raise ConflictError(f"document {doc_id}: scanned by someone else at the same time; scan it again") from None
    return counts


# ---- review -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalView:
    """A proposal for the researcher's review. ``context`` is the text of the annotation it was found in
    (None when that annotation is gone) and ``marks`` the character ranges of the match in it: shown to the
    researcher only, never logged."""

    id: int
    doc_id: int
    ann_id: str
    tier_id: str
    source: str
    kind: str
    value: str
    start: int
    end: int
    status: str
    sensitive_ann_id: str | None
    context: str | None = field(default=None, repr=False)
    marks: tuple[tuple[int, int], ...] = field(default=(), repr=False)

    @property
    def long(self) -> bool:
        """The span is long enough that confirming it as it is would bleep a lot (narrow it first)."""
        return self.end - self.start > LONG_SPAN_MS


def list_proposals(
    store: Store, doc_id: int, *, statuses: Sequence[str] = (PENDING,), context: bool = True
) -> list[ProposalView]:
    """The document's proposals with these statuses, in time order, with the text they were found in.

    Raises:
        NotFound: no such document.
    """
    with store.session() as s:
        project_id = _project_of(s, doc_id)
        rows = s.scalars(
            select(IdentifierProposal)
            .where(IdentifierProposal.document_id == doc_id, IdentifierProposal.status.in_(list(statuses)))
            .order_by(IdentifierProposal.start_ms, IdentifierProposal.id)
        ).all()
        texts: dict[str, str] = {}
        terms: dict[int, Term] = {}
        if context and rows:
            wanted = list({r.ann_id for r in rows})
            for i in range(0, len(wanted), 500):
                q = select(AnnotationRow.ann_id, AnnotationRow.value).where(
                    AnnotationRow.document_id == doc_id, AnnotationRow.ann_id.in_(wanted[i : i + 500])
                )
                texts.update({a: v for a, v in s.execute(q).all()})
            terms = {t.id: t for t in project_terms(s, project_id)}
    out = []
    for r in rows:
        text = texts.get(r.ann_id) if context else None
        marks: tuple[tuple[int, int], ...] = ()
        if text:
            if r.source == "watch" and r.term_id in terms:
                marks = tuple((f.start, f.end) for f in WatchMatcher([terms[r.term_id]]).find(text))
            elif r.source == "pattern":
                marks = tuple(
                    (p.start, p.end)
                    for p in pattern_matches(text, guess_names=r.kind == "name (guessed)")
                    if p.kind == r.kind and fingerprint(doc_id, r.ann_id, ("pattern", p.kind, p.key)) == r.fingerprint
                )
        out.append(
            ProposalView(
                r.id,
                doc_id,
                r.ann_id,
                r.tier_id,
                r.source,
                r.kind,
                r.value,
                r.start_ms,
                r.end_ms,
                r.status,
                r.sensitive_ann_id,
                text,
                marks,
            )
        )
    return out


def _proposal(session: Session, proposal_id: int) -> IdentifierProposal:
    message = f"identifier proposal {proposal_id}: not found (see 'frontdoor identifiers proposals DOC')"
    return get_or_not_found(session, IdentifierProposal, proposal_id, "identifier proposal", message=message)


def _set_status(
    session: Session, proposal_id: int, was: str, now: str, sensitive_ann_id: str | None, **values: str
) -> None:
    done = session.execute(
        update(IdentifierProposal)
        .where(IdentifierProposal.id == proposal_id, IdentifierProposal.status == was)
        .values(
            status=now,
            sensitive_ann_id=sensitive_ann_id,
            decided_at=datetime.now(UTC) if now != PENDING else None,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise _decided_meanwhile(proposal_id)


def _decided_meanwhile(proposal_id: int) -> ConflictError:
    return ConflictError(f"identifier proposal {proposal_id}: decided by someone else meanwhile; list them again")


@dataclass
class ConfirmProposal:
    """Confirm a proposal: an annotation on the Sensitive identifier tier from ``start`` to ``end`` (ms) with
    ``value`` (``cve_ref`` its vocabulary entry), and the proposal marked confirmed, pointing at it, with the
    value it was confirmed as. Make it with :func:`confirm_command`, which checks the span and the value.
    Where the span overlaps Sensitive identifier annotations, they are joined into one over the union of the
    spans instead (:mod:`annotation.identifiers.joins`: the earliest keeps its id, ``ann_id``; proposals
    confirmed as the others point at it). ``revert`` puts back everything: the annotation deleted, or the
    joined ones with their spans, values and ids and their proposals pointing at them, and the proposal as
    it was (pending, or rejected). Redone, it keeps the ids."""

    doc_id: int
    proposal_id: int
    start: int
    end: int
    value: str
    cve_ref: str | None = None
    expected: str = PENDING  # the status the researcher saw (pending, or rejected: a change of mind)
    ann_id: str | None = field(default=None, init=False)  # the annotation as the edit left it: id, span, value
    ann_start: int | None = field(default=None, init=False)
    ann_end: int | None = field(default=None, init=False)
    ann_value: str | None = field(default=None, init=False)
    joined: tuple[str, ...] = field(default=(), init=False)  # the annotations already there it joined
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)
    _create: CreateAnnotation | None = field(default=None, init=False, repr=False)
    _join: SensitiveJoin | None = field(default=None, init=False, repr=False)
    _old_value: str | None = field(default=None, init=False, repr=False)

    @property
    def description(self) -> str:
        return f"confirm sensitive identifier {self.proposal_id}"

    def apply(self, session: Session) -> None:
        p = _proposal(session, self.proposal_id)
        if p.document_id != self.doc_id:
            raise InvalidEdit(f"identifier proposal {self.proposal_id}: not in document {self.doc_id}")
        if p.status == CONFIRMED:
            raise InvalidEdit(
                f"identifier proposal {self.proposal_id}: already confirmed (annotation {p.sensitive_ann_id})"
            )
        if p.status != self.expected:
            raise _decided_meanwhile(self.proposal_id)
        self._old_value = p.value
        project_id = _project_of(session, self.doc_id)
        self._join = plan_join(session, self.doc_id, self.start, self.end, self.value, project_id=project_id)
        if self._join is not None:
            self._join.apply(session)
            edit: CreateAnnotation | SensitiveJoin = self._join
            self.ann_id, self.joined = self._join.ann_id, self._join.joined
            self.ann_start, self.ann_end, self.ann_value = self._join.start, self._join.end, self._join.value
        else:
            if self._create is None:  # the same command on redo keeps the annotation's id
                self._create = CreateAnnotation(
                    self.doc_id, SENSITIVE_TIER, self.start, self.end, self.value, self.cve_ref
                )
            self._create.apply(session)
            edit = self._create
            self.ann_id, self.joined = self._create.ann_id, ()
            self.ann_start, self.ann_end, self.ann_value = self.start, self.end, self.value
        _set_status(session, self.proposal_id, self.expected, CONFIRMED, self.ann_id, value=self.value)
        self.touched = edit.touched

    def revert(self, session: Session) -> None:
        edit = self._join if self._join is not None else self._create
        assert edit is not None and self._old_value is not None
        _set_status(session, self.proposal_id, CONFIRMED, self.expected, None, value=self._old_value)
        edit.revert(session)
        self.touched = edit.touched


@dataclass
class RejectProposal:
    """Reject a pending proposal: it stays rejected on later scans for the same annotation and match."""

    doc_id: int
    proposal_id: int
    touched: Touched = field(default_factory=Touched, init=False, repr=False, compare=False)

    @property
    def description(self) -> str:
        return f"reject sensitive identifier {self.proposal_id}"

    def apply(self, session: Session) -> None:
        p = _proposal(session, self.proposal_id)
        if p.document_id != self.doc_id:
            raise InvalidEdit(f"identifier proposal {self.proposal_id}: not in document {self.doc_id}")
        if p.status == CONFIRMED:
            raise InvalidEdit(
                f"identifier proposal {self.proposal_id}: already confirmed; undo that, or delete annotation "
                f"{p.sensitive_ann_id} and scan again"
            )
        if p.status != PENDING:
            raise InvalidEdit(f"identifier proposal {self.proposal_id}: already {p.status}")
        _set_status(session, self.proposal_id, PENDING, REJECTED, None)

    def revert(self, session: Session) -> None:
        _set_status(session, self.proposal_id, REJECTED, PENDING, None)


def confirm_command(
    store: Store, proposal_id: int, *, start: int | None = None, end: int | None = None, value: str | None = None
) -> ConfirmProposal:
    """The edit that confirms a proposal, checked: over its span or ``start``-``end`` (ms, overlapping the
    annotation it was found in), with its value or ``value`` (one of the tier's vocabulary, when it has one).
    Where the span overlaps confirmed identifiers, applying it joins them (see :class:`ConfirmProposal`).

    Raises:
        NotFound: no such proposal, or its document has no Sensitive identifier tier.
        InvalidEdit: already confirmed; a span that does not overlap the annotation, or ends before it
            starts; a value outside the tier's vocabulary, or one that repeats a watch-list term or looks
            like an identifier (the value says what kind it was, never what), or is over 100 characters.
    """
    with store.session() as s:
        p = _proposal(s, proposal_id)
        if p.status == CONFIRMED:
            raise InvalidEdit(f"identifier proposal {proposal_id}: already confirmed (annotation {p.sensitive_ann_id})")
        doc_id, lo, hi, status = p.document_id, p.start_ms, p.end_ms, p.status
        a = lo if start is None else start
        b = hi if end is None else end
        if b <= a:
            raise InvalidEdit(f"identifier proposal {proposal_id}: end {b} ms must be after start {a} ms")
        if not (a < hi and b > lo):
            raise InvalidEdit(
                f"identifier proposal {proposal_id}: {a}-{b} ms does not overlap the annotation it was found in "
                f"({lo}-{hi} ms)"
            )
        chosen = p.value if value is None else value.strip()
        if not chosen or repeats_identifier(s, _project_of(s, doc_id), chosen):
            raise InvalidEdit(
                f"identifier proposal {proposal_id}: the value must say what kind of identifier it is "
                "(e.g. 'child name'), not repeat it"
            )
        if len(chosen) > MAX_VALUE:
            raise InvalidEdit(
                f"identifier proposal {proposal_id}: the value is {len(chosen)} characters; say the kind of "
                f"identifier in at most {MAX_VALUE}"
            )
        vocabulary = sensitive_vocabulary(s, doc_id)
        if vocabulary and chosen not in vocabulary:
            raise InvalidEdit(
                f"identifier proposal {proposal_id}: that value is not in the {SENSITIVE_TIER!r} vocabulary "
                f"({', '.join(vocabulary)})"
            )
    return ConfirmProposal(doc_id, proposal_id, a, b, chosen, vocabulary.get(chosen), expected=status)


def reject_command(store: Store, proposal_id: int) -> RejectProposal:
    """The edit that rejects a pending proposal. Raises NotFound."""
    with store.session() as s:
        return RejectProposal(_proposal(s, proposal_id).document_id, proposal_id)


def confirm_proposal(
    store: Store, proposal_id: int, *, start: int | None = None, end: int | None = None, value: str | None = None
) -> ConfirmProposal:
    """Confirm a proposal now (the CLI's way; the app pushes :func:`confirm_command` on its undo stack).
    Returns the applied command (``ann_id``: the Sensitive identifier annotation, new or the one the
    confirmed identifiers it overlaps were joined into: ``joined``, ``ann_start``-``ann_end``).

    Raises:
        NotFound, InvalidEdit: see :func:`confirm_command`.
        ConflictError: someone else decided it meanwhile.
    """
    cmd = confirm_command(store, proposal_id, start=start, end=end, value=value)
    apply_edit(store, cmd)
    joined = f" (joined with {', '.join(cmd.joined)})" if cmd.joined else ""
    log.info(
        "identifier proposal %s confirmed as annotation %s of document %s%s",
        proposal_id,
        cmd.ann_id,
        cmd.doc_id,
        joined,
    )
    return cmd


def reject_proposal(store: Store, proposal_id: int) -> RejectProposal:
    """Reject a pending proposal now. Raises NotFound, InvalidEdit (not pending), ConflictError."""
    cmd = reject_command(store, proposal_id)
    apply_edit(store, cmd)
    log.info("identifier proposal %s rejected", proposal_id)
    return cmd


__all__ = [
    "ConfirmProposal",
    "Found",
    "PatternFound",
    "ProposalView",
    "RejectProposal",
    "ScanSummary",
    "confirm_command",
    "confirm_proposal",
    "list_proposals",
    "reject_command",
    "reject_proposal",
    "scan_document",
    "scan_tiers",
]
