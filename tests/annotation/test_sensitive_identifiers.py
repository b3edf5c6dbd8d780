"""Sensitive identifiers found for the researcher, on SQLite and PostgreSQL: the watch list, scanning a
document's transcripts, proposals that are not duplicated, rejections remembered, nothing confirmed by a
scan, confirmation as an undoable edit, and the terms kept out of logs, messages and the encrypted file."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from annotation.clips import sensitive_audio_redactions
from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationValue
from annotation.edits.structure_edits import CreateReferringAnnotation
from annotation.elan.scheme import SENSITIVE_TIER
from annotation.errors import AnnotationError, ConflictError, InvalidEdit, NotFound
from annotation.identifiers import spans as sensitive_spans
from annotation.identifiers.joins import joined_value
from annotation.identifiers.models import CONFIRMED, PENDING, REJECTED, IdentifierProposal, WatchTerm
from annotation.identifiers.proposals import (
    confirm_command,
    confirm_proposal,
    list_proposals,
    reject_command,
    reject_proposal,
    scan_document,
)
from annotation.identifiers.watch_list import (
    WatchEntry,
    add_watch_terms,
    list_watch_terms,
    parse_watch_lines,
    remove_watch_terms,
)
from annotation.services import add_recording, apply_edit, document_display, ensure_project, revert_edit
from annotation.store.engine import Store, open_store, schema_revision, sqlite_url, upgrade_schema
from annotation.store.tables import AnnotationRow
from media_tools.spec import AudioRedaction
from tests.fixtures.transcripts import TRANSCRIPT, TRANSLATION, transcript_document, transcript_scheme

PROJECT = "Duty room study"
CHILD = "Kayden"
SURNAME = "Wójcik"
CASE = "CN-2024-00123"
SECRETS = (CHILD, SURNAME, "Wojcik", "Kaydan", CASE, "Acacia")
LINES = [
    (1000, 4000, "Mum says kayden's school rang her"),  # a1: a name (possessive, lower case)
    (5000, 9000, "The WOJCIK family, ref cn-2024-00123"),  # a2: surname without accent + case number
    (10_000, 12_000, "Born 12/03/2015, ring 07700 900123"),  # a3: date of birth + phone
    (13_000, 14_000, "nothing to see here"),  # a4
    (15_000, 40_000, "a long stretch where Kaydan is mentioned once"),  # a5: a variant, a long segment
]


@pytest.fixture(scope="module")
def scheme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return transcript_scheme(tmp_path_factory.mktemp("scheme"))


def _watch(store: Store) -> None:
    add_watch_terms(
        store,
        PROJECT,
        parse_watch_lines(
            [
                f"name (child name): {CHILD} | Kaydan",
                SURNAME,
                f"case number: {CASE}",
                "place: Acacia Road",
            ]
        ),
    )


@pytest.fixture
def doc(store: Store, scheme: Path) -> int:
    pid = ensure_project(store, PROJECT)
    _watch(store)
    return transcript_document(store, scheme, LINES, project_id=pid)


def _pending(store: Store, doc: int) -> list[tuple[str, str, str, int, int]]:
    return [(p.ann_id, p.kind, p.value, p.start, p.end) for p in list_proposals(store, doc)]


def _annotations(store: Store, doc: int) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).where(AnnotationRow.document_id == doc)) or 0)


# ---- the watch list --------------------------------------------------------------------------------------


def test_the_watch_list_adds_merges_lists_and_removes(store: Store) -> None:
    ensure_project(store, PROJECT)
    _watch(store)
    again = add_watch_terms(store, PROJECT, [WatchEntry("name", "KAYDEN", ("Caden",)), WatchEntry("name", "Zoë")])
    assert (again.added, again.already) == (1, 1)
    terms = list_watch_terms(store, PROJECT)
    assert [(t.kind, t.term, t.variants, t.value) for t in terms] == [
        ("name", CHILD, ("Kaydan", "Caden"), "child name"),
        ("name", SURNAME, (), "family name"),
        ("case number", CASE, (), "case number"),
        ("place", "Acacia Road", (), "address"),
        ("name", "Zoë", (), "family name"),
    ]
    gone = remove_watch_terms(store, PROJECT, [terms[-1].id])
    assert gone.removed == 1 and len(list_watch_terms(store, PROJECT)) == 4
    with pytest.raises(NotFound, match=rf"^watch term {terms[-1].id}: not on the watch list of project"):
        remove_watch_terms(store, PROJECT, [terms[0].id, terms[-1].id])
    assert len(list_watch_terms(store, PROJECT)) == 4  # nothing removed


def test_watch_list_refusals_name_the_line_never_the_term(store: Store) -> None:
    with pytest.raises(NotFound, match=r"^project 'Nope': no such project"):
        add_watch_terms(store, "Nope", [WatchEntry("name", CHILD)])
    ensure_project(store, PROJECT)
    bad = [
        [WatchEntry("name", "--", line=3)],
        [WatchEntry("name", CHILD, label=f"{CHILD}'s name", line=4)],
        [WatchEntry("name", CHILD * 60, line=5)],
        [WatchEntry("person", CHILD)],
    ]
    for entries in bad:
        with pytest.raises(InvalidEdit) as refused:
            add_watch_terms(store, PROJECT, entries)
        assert CHILD not in str(refused.value) and CHILD.lower() not in str(refused.value)
    assert list_watch_terms(store, PROJECT) == []


# ---- scanning --------------------------------------------------------------------------------------------


def test_a_scan_proposes_and_confirms_nothing(store: Store, doc: int) -> None:
    before = _annotations(store, doc)
    r = scan_document(store, doc)
    assert r.tiers == ("Notes", TRANSCRIPT, TRANSLATION)  # free text, not Participants or Sensitive identifier
    assert (r.annotations, r.terms, r.new, r.pending, r.rejected, r.confirmed) == (5, 4, 6, 6, 0, 0)
    # nothing auto-confirmed: no annotation added, no sensitive span, every proposal pending
    assert _annotations(store, doc) == before
    assert document_display(store, doc)[SENSITIVE_TIER] == []
    assert sensitive_audio_redactions(store, doc) == ()
    with store.session() as s:
        assert {p.status for p in s.scalars(select(IdentifierProposal))} == {PENDING}
        assert sensitive_spans.standing_sensitive_spans(s, 1) == []


def test_proposals_carry_kind_span_context_and_marks(store: Store, doc: int) -> None:
    scan_document(store, doc)
    rows = list_proposals(store, doc)
    got = [(p.ann_id, p.kind, p.value, p.start, p.end, p.long) for p in rows]
    assert got == [
        ("a1", "name", "child name", 1000, 4000, False),
        ("a2", "name", "family name", 5000, 9000, False),
        ("a2", "case number", "case number", 5000, 9000, False),
        ("a3", "date of birth", "date of birth", 10_000, 12_000, False),
        ("a3", "phone number", "other identifier", 10_000, 12_000, False),
        ("a5", "name", "child name", 15_000, 40_000, True),  # the whole segment: narrow it
    ]
    marked = {(p.ann_id, p.kind): [p.context[a:b] for a, b in p.marks] for p in rows if p.context}
    assert marked[("a1", "name")] == ["kayden"]
    assert marked[("a2", "name")] == ["WOJCIK"]
    assert marked[("a2", "case number")] == ["cn-2024-00123"]
    assert marked[("a3", "phone number")] == ["07700 900123"]
    assert marked[("a5", "name")] == ["Kaydan"]
    assert all(p.context is None for p in list_proposals(store, doc, context=False))
    for p in rows:  # the proposal itself holds no matched text, only where and what kind
        assert not any(x.lower() in repr(p).lower() for x in SECRETS)
    with store.session() as s:
        for p in s.scalars(select(IdentifierProposal)):
            stored = " ".join(str(getattr(p, c.key)) for c in IdentifierProposal.__table__.columns)
            assert not any(x.lower() in stored.lower() for x in SECRETS)


def test_rescanning_adds_only_what_is_new_and_remembers_rejections(store: Store, doc: int) -> None:
    scan_document(store, doc)
    again = scan_document(store, doc)
    assert (again.new, again.pending, again.withdrawn) == (0, 6, 0)
    first = list_proposals(store, doc)[0]
    reject_proposal(store, first.id)
    # the same name in the same annotation, the text edited around it: still rejected
    apply_edit(store, SetAnnotationValue(doc, "a1", "Mum says Kayden's new school rang her again"))
    r = scan_document(store, doc)
    assert (r.new, r.rejected, r.pending) == (0, 1, 5)
    assert [p.status for p in list_proposals(store, doc, statuses=(REJECTED,))] == [REJECTED]
    # the same name somewhere else is a new proposal
    apply_edit(store, CreateAnnotation(doc, TRANSCRIPT, 41_000, 42_000, "bye Kayden"))
    assert scan_document(store, doc).new == 1
    # a pending proposal whose match is gone is withdrawn; moved, it follows its annotation
    apply_edit(store, SetAnnotationValue(doc, "a3", "Born some time ago"))
    r = scan_document(store, doc)
    assert (r.new, r.withdrawn) == (0, 2)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IdentifierProposal)) == 5  # 6 + 1 - 2


def test_confirming_adds_an_undoable_sensitive_annotation_with_the_kind(store: Store, doc: int) -> None:
    scan_document(store, doc)
    p = list_proposals(store, doc)[0]
    cmd = confirm_command(store, p.id)
    apply_edit(store, cmd)
    (seg,) = document_display(store, doc)[SENSITIVE_TIER]
    assert (seg.start, seg.end, seg.value, seg.cve_ref) == (
        1000,
        4000,
        "child name",
        "cveid_sensitive_identifier_child_name",
    )
    assert sensitive_audio_redactions(store, doc, margin=0.25) == (
        AudioRedaction("bleep", 0.75, 4.25, "sensitive identifier (1 annotation)"),
    )
    assert [x.status for x in list_proposals(store, doc, statuses=(CONFIRMED,))] == [CONFIRMED]
    revert_edit(store, cmd)  # undo
    assert document_display(store, doc)[SENSITIVE_TIER] == []
    assert list_proposals(store, doc)[0].id == p.id  # pending again
    apply_edit(store, cmd)  # redo: the same annotation id
    assert [s.ann_id for s in document_display(store, doc)[SENSITIVE_TIER]] == [cmd.ann_id]
    with pytest.raises(InvalidEdit, match=rf"^identifier proposal {p.id}: already confirmed"):
        confirm_proposal(store, p.id)
    with pytest.raises(InvalidEdit, match=rf"^identifier proposal {p.id}: already confirmed; undo that"):
        reject_proposal(store, p.id)


def test_a_long_segment_is_confirmed_over_a_narrower_span(store: Store, doc: int) -> None:
    scan_document(store, doc)
    long = next(p for p in list_proposals(store, doc) if p.long)
    with pytest.raises(InvalidEdit, match=r"does not overlap the annotation it was found in \(15000-40000 ms\)"):
        confirm_proposal(store, long.id, start=1000, end=2000)
    with pytest.raises(InvalidEdit, match=r"end 20000 ms must be after start 21000 ms"):
        confirm_proposal(store, long.id, start=21_000, end=20_000)
    cmd = confirm_proposal(store, long.id, start=21_000, end=22_500, value="family name")
    segs = document_display(store, doc)[SENSITIVE_TIER]
    assert [(s.start, s.end, s.value) for s in segs] == [(21_000, 22_500, "family name")] and cmd.ann_id


def test_the_value_says_what_kind_never_what(store: Store, doc: int) -> None:
    scan_document(store, doc)
    p = list_proposals(store, doc)[0]
    for value in (f"{CHILD} Smith", "kayden", "07700 900123", "child"):
        with pytest.raises(InvalidEdit) as refused:
            confirm_proposal(store, p.id, value=value)
        assert CHILD.lower() not in str(refused.value).lower() and "07700" not in str(refused.value)
    assert document_display(store, doc)[SENSITIVE_TIER] == []


def test_a_rejected_proposal_can_be_confirmed_and_undone_back_to_rejected(store: Store, doc: int) -> None:
    scan_document(store, doc)
    p = list_proposals(store, doc)[0]
    rej = reject_command(store, p.id)
    apply_edit(store, rej)
    revert_edit(store, rej)
    assert list_proposals(store, doc)[0].id == p.id
    apply_edit(store, rej)
    with pytest.raises(InvalidEdit, match=r"already rejected"):
        reject_proposal(store, p.id)
    cmd = confirm_proposal(store, p.id)  # the researcher changed their mind
    revert_edit(store, cmd)
    assert [x.id for x in list_proposals(store, doc, statuses=(REJECTED,))] == [p.id]


def test_a_deleted_confirmation_is_proposed_again(store: Store, doc: int) -> None:
    scan_document(store, doc)
    p = list_proposals(store, doc)[0]
    cmd = confirm_proposal(store, p.id)
    assert cmd.ann_id is not None
    assert scan_document(store, doc).confirmed == 1
    apply_edit(store, DeleteAnnotation(doc, cmd.ann_id))  # the bleep's annotation deleted by hand
    r = scan_document(store, doc)
    assert (r.reopened, r.confirmed, r.new) == (1, 0, 0)
    assert p.id in [x.id for x in list_proposals(store, doc)]


def test_removing_a_term_withdraws_its_undecided_proposals(store: Store, doc: int) -> None:
    scan_document(store, doc)
    child = next(t for t in list_watch_terms(store, PROJECT) if t.term == CHILD)
    a1, a5 = (p for p in list_proposals(store, doc) if p.kind == "name" and p.value == "child name")
    confirm_proposal(store, a1.id)
    reject_proposal(store, a5.id)
    gone = remove_watch_terms(store, PROJECT, [child.id])
    assert gone.proposals_withdrawn == 1  # the rejected one; the confirmed one stays with its annotation
    with store.session() as s:
        kept = s.get(IdentifierProposal, a1.id)
        assert kept is not None and kept.status == CONFIRMED and kept.term_id is None
        assert s.get(IdentifierProposal, a5.id) is None
    assert scan_document(store, doc).confirmed == 0  # a term no longer watched is not found


def test_tiers_to_scan(store: Store, doc: int) -> None:
    apply_edit(store, CreateAnnotation(doc, "Notes", 50_000, 51_000, "the Wojcik children"))
    apply_edit(store, CreateAnnotation(doc, "Participants", 50_000, 51_000, "Kayden"))  # not a child's name here
    apply_edit(store, CreateReferringAnnotation(doc, TRANSLATION, "a4", "rien, Kayden"))
    r = scan_document(store, doc, tiers=[TRANSCRIPT])
    assert r.tiers == (TRANSCRIPT,) and r.new == 6
    r = scan_document(store, doc)
    assert r.new == 2  # the note, and the translation (at its parent's time)
    where = {(p.tier_id, p.start, p.end) for p in list_proposals(store, doc) if p.tier_id != TRANSCRIPT}
    assert where == {("Notes", 50_000, 51_000), (TRANSLATION, 13_000, 14_000)}
    with pytest.raises(InvalidEdit, match=r"^tier 'Sensitive identifier': holds what a scan proposes"):
        scan_document(store, doc, tiers=[SENSITIVE_TIER])
    with pytest.raises(NotFound, match=r"^tier 'Transcrpt': no such tier \(tiers: "):
        scan_document(store, doc, tiers=["Transcrpt"])
    with pytest.raises(NotFound, match=r"^document 999: "):
        scan_document(store, 999)


def test_a_document_without_a_project_is_scanned_for_patterns_only(store: Store, scheme: Path, tmp_path: Path) -> None:
    pid = ensure_project(store, PROJECT)
    _watch(store)
    doc = transcript_document(store, scheme, LINES)
    r = scan_document(store, doc)
    assert (r.has_project, r.terms) == (False, 0)
    assert {p.kind for p in list_proposals(store, doc)} == {"date of birth", "phone number"}
    # a document made for a recording belongs to the recording's project, and gets its watch list
    media = tmp_path / "call.mp4"
    media.write_bytes(b"a recording")
    of_recording = transcript_document(store, scheme, LINES, recording_id=add_recording(store, pid, media))
    r = scan_document(store, of_recording)
    assert (r.has_project, r.terms, r.new) == (True, 4, 6)
    assert list_proposals(store, of_recording)[0].context == LINES[0][2]


def test_a_proposal_decided_by_someone_else_is_a_conflict(store: Store, doc: int) -> None:
    scan_document(store, doc)
    p = list_proposals(store, doc)[0]
    late = confirm_command(store, p.id)  # made from what one researcher saw
    reject_proposal(store, p.id)  # another rejects it meanwhile
    with pytest.raises(ConflictError, match=rf"^identifier proposal {p.id}: decided by someone else"):
        apply_edit(store, late)
    assert document_display(store, doc)[SENSITIVE_TIER] == []  # the annotation went with the refusal


# ---- confirming over a confirmed identifier: the two are joined ------------------------------------------


def _sensitive(store: Store, doc: int) -> list[tuple[str, int, int, str, str | None]]:
    return [(g.ann_id, g.start, g.end, g.value, g.cve_ref) for g in document_display(store, doc)[SENSITIVE_TIER]]


def _decided(store: Store, doc: int) -> dict[int, tuple[str, str | None, str]]:
    every = (PENDING, CONFIRMED, REJECTED)
    return {p.id: (p.status, p.sensitive_ann_id, p.value) for p in list_proposals(store, doc, statuses=every)}


def _a2(store: Store, doc: int) -> tuple[int, int]:
    """The two proposals of one utterance (a2, 5000-9000 ms): a family name and a case number."""
    scan_document(store, doc)
    family, case = (p for p in list_proposals(store, doc) if p.ann_id == "a2")
    assert (family.value, case.value) == ("family name", "case number")
    return family.id, case.id


def test_two_identifiers_in_one_utterance_are_one_annotation_over_both(store: Store, doc: int) -> None:
    """The regression of issue 18: the second proposal of an utterance (same span) was refused as an overlap."""
    family, case = _a2(store, doc)
    first = confirm_proposal(store, family)
    before = (_sensitive(store, doc), _decided(store, doc))
    second = confirm_command(store, case)
    apply_edit(store, second)
    # one annotation, the existing value kept (the vocabulary cannot join two), both proposals point at it
    assert _sensitive(store, doc) == [
        (first.ann_id, 5000, 9000, "family name", "cveid_sensitive_identifier_family_name")
    ]
    assert (second.ann_id, second.joined) == (first.ann_id, (first.ann_id,))
    decided = _decided(store, doc)
    assert decided[family] == (CONFIRMED, first.ann_id, "family name")
    assert decided[case] == (CONFIRMED, first.ann_id, "case number")  # its own kind, on the proposal
    assert scan_document(store, doc).confirmed == 2  # neither is proposed again
    revert_edit(store, second)  # undo: everything as it was
    assert (_sensitive(store, doc), _decided(store, doc)) == before
    apply_edit(store, second)  # redo
    assert _sensitive(store, doc)[0][0] == first.ann_id and _decided(store, doc)[case][:2] == (CONFIRMED, first.ann_id)
    with pytest.raises(
        InvalidEdit, match=rf"^identifier proposal {case}: already confirmed \(annotation {first.ann_id}\)"
    ):
        confirm_proposal(store, case)


def test_a_wider_span_widens_the_confirmed_one_and_undo_narrows_it_again(store: Store, doc: int) -> None:
    family, case = _a2(store, doc)
    first = confirm_proposal(store, family, start=6000, end=7000)
    before = (_sensitive(store, doc), _decided(store, doc))
    second = confirm_proposal(store, case, start=6500, end=9000)
    assert _sensitive(store, doc) == [
        (first.ann_id, 6000, 9000, "family name", "cveid_sensitive_identifier_family_name")
    ]
    assert (second.ann_start, second.ann_end, second.ann_value) == (6000, 9000, "family name")
    assert sensitive_audio_redactions(store, doc, margin=0) == (
        AudioRedaction("bleep", 6.0, 9.0, "sensitive identifier (1 annotation)"),
    )
    revert_edit(store, second)
    assert (_sensitive(store, doc), _decided(store, doc)) == before
    apply_edit(store, second)
    assert _sensitive(store, doc) == [
        (first.ann_id, 6000, 9000, "family name", "cveid_sensitive_identifier_family_name")
    ]


def test_a_span_over_three_joins_them_and_moves_their_proposals(store: Store, doc: int) -> None:
    family, case = _a2(store, doc)
    born = next(p.id for p in list_proposals(store, doc) if p.kind == "date of birth")  # a3, 10000-12000 ms
    phone = next(p.id for p in list_proposals(store, doc) if p.kind == "phone number")
    a = confirm_proposal(store, family, start=5000, end=6000)
    b = confirm_proposal(store, case, start=8000, end=9000)
    c = confirm_proposal(store, phone, start=11_000, end=12_000)
    assert len({a.ann_id, b.ann_id, c.ann_id}) == 3
    before = (_sensitive(store, doc), _decided(store, doc))
    # 5500-11500 overlaps all three: one annotation from 5000 to 12000, the earliest's id and value
    joined = confirm_command(store, born, start=5500, end=11_500)
    apply_edit(store, joined)
    assert joined.joined == (a.ann_id, b.ann_id, c.ann_id)
    assert _sensitive(store, doc) == [(a.ann_id, 5000, 12_000, "family name", "cveid_sensitive_identifier_family_name")]
    decided = _decided(store, doc)
    assert {pid: decided[pid][:2] for pid in (family, case, phone, born)} == dict.fromkeys(
        (family, case, phone, born), (CONFIRMED, a.ann_id)
    )
    assert scan_document(store, doc).reopened == 0
    revert_edit(store, joined)  # three annotations again, each with its span, value and proposal
    assert (_sensitive(store, doc), _decided(store, doc)) == before
    apply_edit(store, joined)  # redo: the same ids
    assert [g[0] for g in _sensitive(store, doc)] == [a.ann_id]
    revert_edit(store, joined)
    for cmd in (c, b):  # and the earlier confirmations undo as before
        revert_edit(store, cmd)
    assert _sensitive(store, doc) == [(a.ann_id, 5000, 6000, "family name", "cveid_sensitive_identifier_family_name")]


def test_a_span_touching_a_confirmed_one_stays_separate(store: Store, doc: int) -> None:
    family, case = _a2(store, doc)
    a = confirm_proposal(store, family, start=5000, end=6000)
    b = confirm_proposal(store, case, start=6000, end=7000)  # ends meet: no overlap, nothing joined
    assert b.joined == ()
    assert [(g[0], g[1], g[2]) for g in _sensitive(store, doc)] == [(a.ann_id, 5000, 6000), (b.ann_id, 6000, 7000)]


@pytest.fixture
def free_doc(store: Store, scheme: Path, tmp_path: Path) -> int:
    """The document of ``doc`` with a Sensitive identifier tier of free text (no vocabulary)."""
    path = tmp_path / "free.etf"
    path.write_text(
        scheme.read_text(encoding="utf-8").replace(' CONTROLLED_VOCABULARY_REF="Sensitive identifier"', "", 1),
        encoding="utf-8",
    )
    pid = ensure_project(store, PROJECT)
    _watch(store)
    return transcript_document(store, path, LINES, project_id=pid)


def test_on_free_text_the_kinds_are_joined_once_each(store: Store, free_doc: int) -> None:
    family, case = _a2(store, free_doc)
    first = confirm_proposal(store, family, value="child name")
    second = confirm_proposal(store, case, value="school")
    assert _sensitive(store, free_doc) == [(first.ann_id, 5000, 9000, "child name; school", None)]
    assert _decided(store, free_doc)[case] == (CONFIRMED, first.ann_id, "school")
    revert_edit(store, second)
    assert _sensitive(store, free_doc) == [(first.ann_id, 5000, 9000, "child name", None)]
    assert _decided(store, free_doc)[case] == (PENDING, None, "case number")
    apply_edit(store, second)
    born = next(p.id for p in list_proposals(store, free_doc) if p.kind == "date of birth")
    third = confirm_proposal(store, born, start=8000, end=10_500, value="school")  # a kind already there
    assert _sensitive(store, free_doc) == [(first.ann_id, 5000, 10_500, "child name; school", None)]
    assert third.ann_value == "child name; school"


def test_a_joined_value_never_repeats_an_identifier(store: Store, free_doc: int) -> None:
    """An annotation typed by hand may hold a name; joining keeps it as it is rather than carry it on."""
    _, case = _a2(store, free_doc)
    apply_edit(store, CreateAnnotation(free_doc, SENSITIVE_TIER, 5000, 9000, f"{CHILD} again"))
    cmd = confirm_proposal(store, case)
    assert [g[3] for g in _sensitive(store, free_doc)] == [f"{CHILD} again"]
    assert cmd.ann_value == f"{CHILD} again"
    assert joined_value(["child name; school", ""], "address", vocabulary=False) == "child name; school; address"
    assert joined_value(["child name", "school"], "child name", vocabulary=False) == "child name; school"
    assert joined_value(["family name", "address"], "school", vocabulary=True) == "family name"
    assert joined_value([""], "school", vocabulary=True) == "school"


# ---- the sensitive spans a clip is bleeped over ----------------------------------------------------------


def test_standing_spans_cover_every_document_of_the_recording(store: Store, scheme: Path, tmp_path: Path) -> None:
    pid = ensure_project(store, PROJECT)
    media = tmp_path / "call.mp4"
    media.write_bytes(b"not really a video")
    rec = add_recording(store, pid, media)
    one = transcript_document(store, scheme, project_id=pid, recording_id=rec)
    two = transcript_document(store, scheme, project_id=pid, recording_id=rec, name="second coder")
    other = transcript_document(store, scheme, project_id=pid, name="another recording")
    apply_edit(store, CreateAnnotation(one, SENSITIVE_TIER, 2000, 2400, "child name"))
    apply_edit(store, CreateAnnotation(two, SENSITIVE_TIER, 2300, 3000, "school"))
    apply_edit(store, CreateAnnotation(two, SENSITIVE_TIER, 9000, 9500, "address"))
    apply_edit(store, CreateAnnotation(other, SENSITIVE_TIER, 5000, 6000, "address"))
    with store.session() as s:
        assert sensitive_spans.standing_sensitive_spans(s, rec) == [(2000, 2400), (2300, 3000), (9000, 9500)]
        got = sensitive_spans.standing_sensitive_redactions(s, rec, 1.0, 9.2, margin=0.25)
        assert got == (
            AudioRedaction("bleep", 1.75, 3.25, sensitive_spans.NOTE),
            AudioRedaction("bleep", 8.75, 9.2, sensitive_spans.NOTE),  # cut at the clip's end
        )
        # what the clip's own edit already silences is not bleeped again
        covered = (AudioRedaction("bleep", 1.75, 2.65), AudioRedaction("mute", 9.0, 9.1))
        got = sensitive_spans.standing_sensitive_redactions(s, rec, 1.0, 9.2, covered=covered, margin=0.25)
        assert got == (
            AudioRedaction("bleep", 2.65, 3.25, sensitive_spans.NOTE),
            AudioRedaction("bleep", 8.75, 9.0, sensitive_spans.NOTE),
            AudioRedaction("bleep", 9.1, 9.2, sensitive_spans.NOTE),
        )
        assert sensitive_spans.standing_sensitive_redactions(s, rec, 4.0, 8.0) == ()


def test_standing_spans_follow_referring_tiers_to_their_time(store: Store, scheme: Path, tmp_path: Path) -> None:
    """A Sensitive identifier tier under a translation of a transcript refers to a referring annotation: its
    time is the transcript segment's, two levels up (the query went one level up and dropped it: found by
    review). One whose time cannot be found at all is bleeped to the end, never left out."""
    from annotation.elan.model import Annotation, TimeSlot
    from annotation.elan.scheme import load_scheme
    from annotation.store.documents import store_document

    pid = ensure_project(store, PROJECT)
    media = tmp_path / "call.mp4"
    media.write_bytes(b"not really a video")
    rec = add_recording(store, pid, media)
    eaf = load_scheme(str(scheme))
    eaf.kind = "eaf"
    sens = next(t for t in eaf.tiers if t.tier_id == SENSITIVE_TIER)
    sens.attrs = {**sens.attrs, "LINGUISTIC_TYPE_REF": "translation", "PARENT_REF": TRANSLATION}
    tiers = {t.tier_id: t for t in eaf.tiers}
    eaf.time_slots += [TimeSlot("ts1", 2000), TimeSlot("ts2", 3000)]
    tiers[TRANSCRIPT].annotations.append(Annotation("a1", "mum said Kayden was not at school", ts1="ts1", ts2="ts2"))
    tiers[TRANSLATION].annotations.append(Annotation("a2", "a translation naming Kayden", ref="a1"))
    sens.annotations.append(Annotation("a3", "child name", ref="a2"))
    with store.session() as s:
        doc = store_document(s, eaf, "nested", project_id=pid, recording_id=rec)
    assert [(g.start, g.end) for g in document_display(store, doc)[SENSITIVE_TIER]] == [(2000, 3000)]
    with store.session() as s:
        assert sensitive_spans.standing_sensitive_spans(s, rec) == [(2000, 3000)]
        s.execute(AnnotationRow.__table__.update().where(AnnotationRow.ann_id == "a1").values(ts1=None, ts2=None))
        assert sensitive_spans.standing_sensitive_spans(s, rec) == [(0, 2147483647)]
        s.rollback()


def test_the_spans_query_is_the_one_the_migration_gave_postgresql() -> None:
    path = Path(sensitive_spans.__file__).parents[1] / "store" / "migrations" / "versions" / "0010_review_fixes.py"
    spec = importlib.util.spec_from_file_location("m0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.SPANS_SQL == sensitive_spans.SPANS_SQL


# ---- the terms stay where they are -----------------------------------------------------------------------


def test_terms_never_reach_the_log_or_a_message(store: Store, doc: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    def attempt(fn: object, *args: object, **kw: object) -> None:
        try:
            fn(*args, **kw)  # type: ignore[operator]
        except AnnotationError as exc:
            messages.append(f"{exc} {exc.detail or ''}")

    scan_document(store, doc)
    rows = list_proposals(store, doc)
    attempt(add_watch_terms, store, PROJECT, [WatchEntry("name", CHILD, label=CHILD)])
    attempt(add_watch_terms, store, "Nope", [WatchEntry("name", CHILD)])
    attempt(confirm_proposal, store, rows[0].id, value=f"{CHILD}!")
    attempt(confirm_proposal, store, rows[0].id, start=90_000, end=91_000)
    confirm_proposal(store, rows[0].id)
    attempt(confirm_proposal, store, rows[0].id)
    reject_proposal(store, rows[1].id)
    attempt(reject_proposal, store, rows[1].id)
    attempt(remove_watch_terms, store, PROJECT, [12345])
    remove_watch_terms(store, PROJECT, [list_watch_terms(store, PROJECT)[-1].id])
    scan_document(store, doc)
    assert len(messages) == 7
    text = caplog.text + "\n".join(messages)
    assert caplog.text  # the operations did log (counts and ids)
    assert not [x for x in SECRETS if x.lower() in text.lower()]


def test_on_an_encrypted_store_the_file_holds_no_term(tmp_path: Path, scheme: Path) -> None:
    def fill(store: Store) -> None:
        pid = ensure_project(store, PROJECT)
        _watch(store)
        doc = transcript_document(store, scheme, [(1000, 2000, "hello")], project_id=pid)
        scan_document(store, doc)

    path = tmp_path / "encrypted.sqlite"
    enc = open_store(sqlite_url(path), passphrase="correct horse battery staple")
    try:
        fill(enc)
        assert [t.term for t in list_watch_terms(enc, PROJECT)][:1] == [CHILD]
        files = [path, Path(f"{path}-wal")]
        for f in files:
            data = f.read_bytes()
            for term in (CHILD, SURNAME, CASE, "Kaydan", "Acacia Road"):
                assert term.encode("utf-8") not in data and term.encode("utf-16-le") not in data, f
    finally:
        enc.close()
    # the same on a plain store is readable: the check above is a real one
    plain = open_store(sqlite_url(tmp_path / "plain.sqlite"))
    try:
        fill(plain)
    finally:
        plain.close()
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("plain.sqlite*"))
    assert CHILD.encode() in raw and CASE.encode() in raw


def test_migration_0008_goes_down_and_up(db_url: str) -> None:
    from alembic import command

    from annotation.store.engine import alembic_config

    store = open_store(db_url)
    try:
        ensure_project(store, PROJECT)
        _watch(store)
        command.downgrade(alembic_config(store.engine), "0007")
        assert schema_revision(store.engine) == "0007"
        assert not {"watch_term", "identifier_proposal"} & set(inspect(store.engine).get_table_names())
        upgrade_schema(store.engine)
        assert {"watch_term", "identifier_proposal"} <= set(inspect(store.engine).get_table_names())
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(WatchTerm)) == 0
    finally:
        store.close()
