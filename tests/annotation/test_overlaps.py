"""Annotations on one tier never overlap: every edit that writes a time-aligned annotation keeps the rule, by
refusing in one line that names the annotation in the way or (creating with ``trim``, as rapid coding does)
by fitting in; a tier that came with overlaps from elsewhere is kept and never made worse."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.edits import CreateAnnotation, SetAnnotationTimes, SplitAnnotation
from annotation.edits.overlaps import tier_overlaps
from annotation.errors import OverlapError
from annotation.services import apply_edit, document_display, import_file, new_document, revert_edit
from annotation.store import Store
from tests.fixtures.elan_files import write_overlapping_eaf


def _spans(store: Store, doc: int, tier: str = "Call phase") -> list[tuple[str, int, int, str]]:
    return [(s.ann_id, s.start, s.end, s.value) for s in document_display(store, doc).get(tier, [])]


def _coded(store: Store) -> int:
    doc = new_document(store, "referral")
    apply_edit(store, CreateAnnotation(doc, "Call phase", 0, 11_000, "reason for call"))
    apply_edit(store, CreateAnnotation(doc, "Call phase", 11_000, 20_000, "information gathering"))
    apply_edit(store, CreateAnnotation(doc, "Call phase", 24_000, 27_000, "decision"))
    return doc


def test_a_new_annotation_over_another_is_refused_naming_it(store: Store) -> None:
    doc = _coded(store)
    before = _spans(store, doc)
    with pytest.raises(OverlapError) as info:
        apply_edit(store, CreateAnnotation(doc, "Call phase", 12_000, 13_000, "consultation"))
    assert str(info.value) == (
        "tier 'Call phase': 0:12.000–0:13.000 overlaps a2 'information gathering' (0:11.000–0:20.000); "
        "annotations on one tier cannot overlap"
    )
    assert info.value.neighbour == "a2"
    assert _spans(store, doc) == before  # nothing written
    apply_edit(store, CreateAnnotation(doc, "Call phase", 20_000, 24_000, "consultation"))  # touching is fine


def test_trim_ends_the_one_it_starts_in_and_stops_at_the_next_and_undo_puts_both_back(store: Store) -> None:
    doc = _coded(store)
    before = _spans(store, doc)
    cmd = CreateAnnotation(doc, "Call phase", 12_050, 25_000, "consultation", trim=True)
    apply_edit(store, cmd)
    assert _spans(store, doc) == [
        ("a1", 0, 11_000, "reason for call"),
        ("a2", 11_000, 12_050, "information gathering"),
        ("a4", 12_050, 24_000, "consultation"),
        ("a3", 24_000, 27_000, "decision"),
    ]
    assert {"a2", "a4"} <= cmd.touched.annotations  # the view repaints both
    revert_edit(store, cmd)
    assert _spans(store, doc) == before
    apply_edit(store, cmd)  # redo: the same again, the same id
    assert ("a4", 12_050, 24_000, "consultation") in _spans(store, doc)
    with pytest.raises(OverlapError, match=r"nothing to code at 0:24\.000"):
        apply_edit(store, CreateAnnotation(doc, "Call phase", 24_000, 25_000, "closing", trim=True))


def test_moving_or_resizing_into_a_neighbour_is_refused_and_split_keeps_the_tier_clean(store: Store) -> None:
    doc = _coded(store)
    with pytest.raises(OverlapError, match=r"a3 at 0:19\.000–0:22\.000 overlaps a2 'information gathering'"):
        apply_edit(store, SetAnnotationTimes(doc, "a3", 19_000, 22_000))
    with pytest.raises(OverlapError, match="overlaps a3 'decision'"):
        apply_edit(store, SetAnnotationTimes(doc, "a2", 11_000, 25_000))
    apply_edit(store, SetAnnotationTimes(doc, "a3", 20_000, 23_000))  # up to the neighbour: fine
    apply_edit(store, SplitAnnotation(doc, "a2", 15_000))
    spans = _spans(store, doc)
    assert tier_overlaps((a, s, e) for a, s, e, _ in spans) == []


def test_a_file_with_overlaps_is_kept_as_it_is_flagged_and_not_made_worse(store: Store, tmp_path: Path) -> None:
    path = write_overlapping_eaf(tmp_path / "overlapping.eaf")
    result = import_file(store, path)
    assert list(result.overlaps) == [
        "tier 'Speaker': 1 overlapping pair of annotations, first a1 and a2 at 0:03.000; kept as in the file"
    ]
    did = result.doc_id
    assert _spans(store, did, "Speaker") == [("a1", 0, 5000, "one"), ("a2", 3000, 8000, "two")]
    apply_edit(store, SetAnnotationTimes(did, "a2", 4000, 9000))  # still overlaps a1 only: not worse
    with pytest.raises(OverlapError):
        apply_edit(store, CreateAnnotation(did, "Speaker", 8500, 9500, "three"))


def test_what_a_process_remembers_of_a_tier_never_hides_another_writers_edit(store: Store) -> None:
    from annotation.store import open_store

    doc = _coded(store)
    apply_edit(store, SetAnnotationTimes(doc, "a3", 24_000, 26_000))  # this process now remembers the tier
    other = open_store(store.engine.url.render_as_string(hide_password=False))  # another writer
    try:
        apply_edit(other, CreateAnnotation(doc, "Call phase", 20_000, 22_000, "consultation"))
        apply_edit(other, SetAnnotationTimes(doc, "a1", 0, 10_000))
    finally:
        other.close()
    with pytest.raises(OverlapError, match="overlaps a4 'consultation'"):
        apply_edit(store, SetAnnotationTimes(doc, "a3", 21_000, 23_000))
    apply_edit(store, CreateAnnotation(doc, "Call phase", 10_000, 11_000, "decision"))  # a1 ends at 10 s now
    undo = SetAnnotationTimes(doc, "a3", 22_000, 24_000)
    apply_edit(store, undo)
    revert_edit(store, undo)  # remembered across undo and redo
    with pytest.raises(OverlapError, match="overlaps a3 'decision'"):
        apply_edit(store, CreateAnnotation(doc, "Call phase", 23_000, 25_000, "closing"))
    assert tier_overlaps((a, s, e) for a, s, e, _ in _spans(store, doc)) == []
    apply_edit(store, CreateAnnotation(doc, "Call phase", 22_000, 24_000, "closing"))


def test_the_synthetic_coded_documents_keep_each_person_on_their_own_tier() -> None:
    from annotation.edits.overlaps import document_overlaps
    from annotation.elan import participant_tier
    from annotation.records.sample import MANAGER, WORKER, coded_document

    for seed in (1, 2, 3):
        doc, _calls = coded_document(seed, duration_ms=20 * 60_000)
        assert document_overlaps(doc) == []
        filled = {t.tier_id for t in doc.tiers if t.annotations}
        assert {participant_tier(WORKER), participant_tier(MANAGER)} <= filled
