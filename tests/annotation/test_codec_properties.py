"""Hypothesis-generated ELAN documents survive the codec and the store unchanged."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from annotation.elan.model import (
    EafDocument,
)
from annotation.elan.reader import parse_eaf_bytes
from annotation.elan.writer import eaf_to_string
from annotation.store.documents import load_document, store_document
from annotation.store.engine import open_store, sqlite_url
from tests.fixtures.strategies import documents


def _normalise(doc: EafDocument) -> EafDocument:
    # What EAF 3.0 output fixes by definition: the format attributes on the root.
    doc.root_attrs = {k: v for k, v in doc.root_attrs.items() if k in ("AUTHOR", "DATE")}
    return doc


@settings(max_examples=150, deadline=None)
@given(documents())
def test_codec_roundtrip(doc: EafDocument) -> None:
    back = parse_eaf_bytes(eaf_to_string(doc).encode("utf-8"), name="generated.eaf")
    assert _normalise(back) == _normalise(doc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents())
def test_store_roundtrip(doc: EafDocument, tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "prop.sqlite"))
    try:
        with store.session() as s:
            did = store_document(s, doc, "generated")
        with store.session() as s:
            back = load_document(s, did)
    finally:
        store.close()
    assert _normalise(back) == _normalise(doc)
