"""Every real ELAN file (those in tests/data/elan, and those of ../shared/corpus when it is there) survives
import and export unchanged, as an ELAN user sees it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pympi
import pytest

from annotation.elan.compare import compare_eaf
from annotation.elan.pympi_adapter import to_pympi
from annotation.elan.reader import read_eaf
from annotation.elan.writer import write_eaf
from annotation.services import export_eaf, import_file
from annotation.store.engine import Store
from tests.fixtures.elan_files import ELAN_DATA, ELAN_SUFFIXES, SHARED_CORPUS, corpus_file, corpus_files

ELAN_FILES = corpus_files("eaf", "etf", "ecv")
ids = [p.name for p in ELAN_FILES]


@pytest.mark.parametrize("path", ELAN_FILES, ids=ids)
def test_codec_roundtrip_is_lossless(path: Path, tmp_path: Path) -> None:
    out = tmp_path / f"out{path.suffix}"
    write_eaf(read_eaf(path), out)
    assert compare_eaf(path, out) == []
    # Writing what we read back gives the same bytes: the output is a fixed point.
    again = tmp_path / f"again{path.suffix}"
    write_eaf(read_eaf(out), again)
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("path", ELAN_FILES, ids=ids)
def test_store_roundtrip_is_lossless(path: Path, store: Store, tmp_path: Path) -> None:
    result = import_file(store, path)
    out = tmp_path / f"out {path.name}"
    export_eaf(store, result.doc_id, out)
    assert compare_eaf(path, out) == []


def test_corpus_is_there() -> None:
    """Every file kept in the repository is tested; so is every file of the shared corpus when it is there
    (extra coverage only: no test needs it, on CI or anywhere)."""
    kept = {p.name for p in ELAN_DATA.iterdir() if p.suffix in ELAN_SUFFIXES}
    assert len(kept) >= 16
    tested = {p.name for p in ELAN_FILES}
    assert kept <= tested
    if SHARED_CORPUS.is_dir():
        assert {p.name for p in SHARED_CORPUS.glob("*/*") if p.suffix in ELAN_SUFFIXES} <= tested


def _pympi_view(eaf: pympi.Elan.Eaf) -> dict[str, object]:
    return {
        # (alignable annotations, referring annotations, attributes) of each tier
        "tiers": {t: v[:3] for t, v in eaf.tiers.items()},
        "tier_order": list(eaf.get_tier_names()),
        "timeslots": eaf.timeslots,
        "linguistic_types": eaf.linguistic_types,
        "media": eaf.media_descriptors,
        "linked": eaf.linked_file_descriptors,
        "properties": eaf.properties,
        "external_refs": eaf.external_refs,
        "locales": eaf.locales,
        "constraints": eaf.constraints,
        "author": eaf.adocument.get("AUTHOR"),
    }


EAF_30 = [p for p in corpus_files("eaf") if 'VERSION="3.0"' in p.read_text(encoding="utf-8", errors="replace")[:600]]


@pytest.mark.parametrize("path", EAF_30, ids=[p.name for p in EAF_30])
def test_pympi_reads_our_output_as_it_reads_the_original(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = pympi.Elan.Eaf(str(path))
    ours = to_pympi(read_eaf(path))
    assert _pympi_view(ours) == _pympi_view(original)
    assert ours.controlled_vocabularies == original.controlled_vocabularies
    assert ours.languages == original.languages


def test_old_vocabularies_are_upgraded_like_elan(tmp_path: Path) -> None:
    old = corpus_file("dopefishh__pympi__sample_2.7.eaf")
    doc = read_eaf(old)
    gesture = next(cv for cv in doc.vocabularies if cv.cv_id == "Gesture")
    assert gesture.descriptions == [("und", "Gesture phases")]
    assert [(e.cve_id, e.values[0].value, e.values[0].lang_ref) for e in gesture.entries][:2] == [
        ("cveid0", "prep", "und"),
        ("cveid1", "hold", "und"),
    ]
    assert any(lang["LANG_ID"] == "und" for lang in doc.languages)
    assert doc.upgrade_notes
    out = tmp_path / "up.eaf"
    write_eaf(doc, out)
    text = out.read_text(encoding="utf-8")
    assert "<CV_ENTRY " not in text and "<CV_ENTRY_ML" in text and 'FORMAT="3.0"' in text
