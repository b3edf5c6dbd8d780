"""Searching every document of a project for a text, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.edits.commands import CreateAnnotation
from annotation.errors import InvalidEdit
from annotation.services import apply_edit, ensure_project, import_file, new_document
from annotation.store.engine import Store
from annotation.store.search import search_annotations

EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-11-29T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="1200"/>
    <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="3400"/>
    <TIME_SLOT TIME_SLOT_ID="ts3"/>
    <TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="5000"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Talk">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>school nurse calls, 100% sure</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE>Nurse again</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="gloss" PARENT_REF="Talk" TIER_ID="Note">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a3" ANNOTATION_REF="a1">
      <ANNOTATION_VALUE>referrer_type: nurse</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="gloss"
    TIME_ALIGNABLE="false"/>
  <CONSTRAINT DESCRIPTION="1-1 association with a parent annotation" STEREOTYPE="Symbolic_Association"/>
</ANNOTATION_DOCUMENT>
"""


@pytest.fixture
def project(store: Store, tmp_path: Path) -> tuple[int, int, int]:
    pid = ensure_project(store, "Study")
    eaf = tmp_path / "call 7.eaf"
    eaf.write_text(EAF, "utf-8")
    first = import_file(store, eaf, project_id=pid).doc_id
    second = new_document(store, "referral", name="call 8", project_id=pid)
    apply_edit(store, CreateAnnotation(second, "Call phase", 100, 900, "opening"))
    other = new_document(store, "referral", name="elsewhere", project_id=ensure_project(store, "Other"))
    apply_edit(store, CreateAnnotation(other, "Call phase", 0, 10, "nurse"))
    return pid, first, second


def test_search_finds_text_in_every_document_of_the_project(store: Store, project: tuple[int, int, int]) -> None:
    pid, first, _ = project
    hits, more = search_annotations(store, "NURSE", project_id=pid)
    assert not more
    assert [(h.doc_name, h.tier_id, h.ann_id, h.start, h.end) for h in hits] == [
        ("call 7.eaf", "Talk", "a1", 1200, 3400),
        ("call 7.eaf", "Talk", "a2", None, 5000),  # an unaligned start has no time
        ("call 7.eaf", "Note", "a3", 1200, 3400),  # a referring annotation at its parent's time
    ]
    assert {h.doc_id for h in hits} == {first}
    assert len(search_annotations(store, "nurse")[0]) == 4  # every project


def test_search_takes_wildcards_literally_and_filters_by_tier(store: Store, project: tuple[int, int, int]) -> None:
    pid, _, _ = project
    assert [h.ann_id for h in search_annotations(store, "100%", project_id=pid)[0]] == ["a1"]
    assert [h.ann_id for h in search_annotations(store, "_", project_id=pid)[0]] == ["a3"]  # only a real "_"
    assert [h.value for h in search_annotations(store, "o", project_id=pid, tier="Call phase")[0]] == ["opening"]
    hits, more = search_annotations(store, "e", project_id=pid, limit=2)
    assert len(hits) == 2 and more


def test_search_refuses_empty_text_and_silly_limits(store: Store) -> None:
    with pytest.raises(InvalidEdit, match="type some text"):
        search_annotations(store, "  ")
    with pytest.raises(InvalidEdit, match="limit 0"):
        search_annotations(store, "x", limit=0)


def test_search_finds_the_documents_that_belong_to_the_project_through_their_recording(
    store: Store, tmp_path: Path
) -> None:
    """A document made for a recording ('frontdoor new --recording', the app's documents) has no project of
    its own: it belongs to its recording's project, as document_project and the window say. A search of the
    project found nothing in it."""
    from annotation.services import add_recording, document_project

    pid = ensure_project(store, "Study")
    video = tmp_path / "call.mp4"
    video.write_bytes(b"not really a video")
    rid = add_recording(store, pid, video, duration_ms=10_000, fps=25.0)
    doc = new_document(store, "referral", name="call 9", recording_id=rid)
    apply_edit(store, CreateAnnotation(doc, "Call phase", 100, 900, "opening"))
    elsewhere = new_document(store, "referral", name="other", recording_id=rid, project_id=ensure_project(store, "X"))
    apply_edit(store, CreateAnnotation(elsewhere, "Call phase", 100, 900, "opening"))
    assert document_project(store, doc)[0] == pid
    hits, _ = search_annotations(store, "opening", project_id=pid)
    assert [(h.doc_id, h.ann_id) for h in hits] == [(doc, "a1")]  # not the document filed in project X
