"""The referral-handling scheme shipped in resources/, and schemes a project brings."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.elan.reader import read_eaf
from annotation.elan.scheme import RESOURCES, SENSITIVE_TIER, scheme_documents
from annotation.elan.writer import eaf_to_string
from annotation.errors import EafError
from annotation.services import get_document, import_file, new_document
from annotation.store.engine import Store
from tests.fixtures.elan_files import corpus_file, in_corpus


def test_shipped_files_match_the_definition() -> None:
    etf, ecv = scheme_documents()
    assert (RESOURCES / "referral.etf").read_text(encoding="utf-8") == eaf_to_string(etf)
    assert (RESOURCES / "referral.ecv").read_text(encoding="utf-8") == eaf_to_string(ecv)


def test_scheme_covers_the_research_questions() -> None:
    etf = read_eaf(RESOURCES / "referral.etf")
    tiers = [t.tier_id for t in etf.tiers]
    for needed in (
        "Call phase",
        "Referrer type",
        "Concern",
        "Response",
        "Manager consulted",
        "Feedback to referrer",
        "Initial assessment after professional referral",
        "Shared referral language",
        "Participants",
        SENSITIVE_TIER,
    ):
        assert needed in tiers
    cvs = {cv.cv_id: [e.values[0].value for e in cv.entries] for cv in etf.vocabularies}
    assert cvs["Call phase"] == [
        "opening",
        "reason for call",
        "information gathering",
        "consultation",
        "decision",
        "feedback to referrer",
        "closing",
    ]
    assert {"school", "health visitor", "GP", "police", "anonymous", "self"} <= set(cvs["Referrer type"])
    assert "strategy discussion / section 47" in cvs["Response"]
    ecv = read_eaf(RESOURCES / "referral.ecv")
    assert [cv.cv_id for cv in ecv.vocabularies] == list(cvs)


def test_new_document_from_the_referral_scheme(store: Store) -> None:
    doc_id = new_document(store, "referral", name="session 1")
    doc = get_document(store, doc_id)
    assert doc.kind == "eaf" and doc.annotation_count() == 0
    assert len(doc.vocabularies) == 9
    assert doc.root_attrs["DATE"] != "2026-11-28T00:00:00+00:00"


def test_project_scheme_and_bad_scheme(store: Store, corpus: Path, tmp_path: Path) -> None:
    doc_id = new_document(store, str(corpus / "etf" / "LAAC-LSCP__ChildProject__basic.etf"))
    assert len(get_document(store, doc_id).tiers) == 6
    with pytest.raises(EafError, match="no such file"):
        new_document(store, str(tmp_path / "missing.etf"))
    with pytest.raises(EafError, match="a scheme is 'referral'"):
        new_document(store, "notes.txt")


VOCABULARIES = [
    ("neocl__speach__fables_cv.ecv", 4),
    *((n, 3597) for n in in_corpus("borstell__borstell.github.io__test.ecv")),
]
TEMPLATES = [
    ("sillsdev__saymore__annotationTemplate.etf", 2),
    *((n, 72) for n in in_corpus("christopheparisse__teicorpo__DL-2022-05-02-GEN-TPL.etf")),
]


@pytest.mark.parametrize(("name", "entries"), VOCABULARIES)
def test_vocabularies_import(store: Store, name: str, entries: int) -> None:
    r = import_file(store, corpus_file(name))
    assert r.kind == "ecv" and r.tiers == 0
    assert len(get_document(store, r.doc_id).vocabularies[0].entries) == entries


@pytest.mark.parametrize(("name", "tiers"), TEMPLATES)
def test_templates_import(store: Store, name: str, tiers: int) -> None:
    r = import_file(store, corpus_file(name))
    assert r.kind == "etf" and r.tiers == tiers
