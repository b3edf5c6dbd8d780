"""Hypothesis-generated ELAN documents survive the codec and the store unchanged."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.elan.model import (
    Annotation,
    ControlledVocabulary,
    CVEntry,
    CVEValue,
    EafDocument,
    RefLink,
    RefLinkSet,
    Tier,
    TimeSlot,
)
from annotation.elan.reader import parse_eaf_bytes
from annotation.elan.writer import eaf_to_string
from annotation.store.documents import load_document, store_document
from annotation.store.engine import open_store, sqlite_url

# Any character XML 1.0 can carry (no other control characters, no surrogates), with the awkward ones
# (whitespace of every kind, markup characters, quotes) well represented.
xml_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\t\n\r &<>\"' ]]>")),
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    ),
    max_size=30,
)
ident = st.text(alphabet=string.ascii_letters + string.digits + "_-. éß", min_size=1, max_size=12)


@st.composite
def documents(draw: st.DrawFn) -> EafDocument:
    n_slots = draw(st.integers(2, 20))
    slots = [TimeSlot(f"ts{i + 1}", draw(st.one_of(st.none(), st.integers(0, 10_000_000)))) for i in range(n_slots)]
    slot_ids = [s.slot_id for s in slots]
    lt = {"LINGUISTIC_TYPE_ID": "default", "TIME_ALIGNABLE": "true", "GRAPHIC_REFERENCES": "false"}
    assoc = {"CONSTRAINTS": "Symbolic_Association", "LINGUISTIC_TYPE_ID": "assoc", "TIME_ALIGNABLE": "false"}
    tier_ids = draw(st.lists(ident, min_size=1, max_size=4, unique=True))
    n = 0
    tiers: list[Tier] = []
    for tid in tier_ids:
        attrs = {"TIER_ID": tid, "LINGUISTIC_TYPE_REF": "default"}
        if draw(st.booleans()):
            attrs["PARTICIPANT"] = draw(xml_text)
        anns = []
        for _ in range(draw(st.integers(0, 6))):
            n += 1
            anns.append(
                Annotation(
                    f"a{n}",
                    draw(xml_text),
                    draw(st.sampled_from(slot_ids)),
                    draw(st.sampled_from(slot_ids)),
                    ext_ref=draw(st.one_of(st.none(), st.just("er1"))),
                    lang_ref=draw(st.one_of(st.none(), st.just("eng"))),
                    cve_ref=draw(st.one_of(st.none(), ident)),
                )
            )
        tiers.append(Tier(attrs=attrs, annotations=anns))
    parent = tiers[0]
    if parent.annotations and draw(st.booleans()):
        child = Tier(attrs={"TIER_ID": "child tier", "LINGUISTIC_TYPE_REF": "assoc", "PARENT_REF": parent.tier_id})
        for p in parent.annotations:
            n += 1
            child.annotations.append(Annotation(f"a{n}", draw(xml_text), ref=p.ann_id))
        tiers.append(child)
    cv = ControlledVocabulary(
        cv_id=draw(ident),
        descriptions=[("eng", draw(st.one_of(st.none(), xml_text.filter(bool))))],
        entries=[
            CVEntry(f"cveid{i}", [CVEValue(draw(xml_text), "eng", draw(st.one_of(st.none(), xml_text)))])
            for i in range(draw(st.integers(0, 3)))
        ],
    )
    media = {"MEDIA_URL": "file:///" + draw(ident), "MIME_TYPE": "video/mp4"}
    if draw(st.booleans()):
        media = {"MIME_TYPE": "video/mp4", "TIME_ORIGIN": str(draw(st.integers(0, 9999))), **media}
    return EafDocument(
        root_attrs={"AUTHOR": draw(xml_text), "DATE": "2026-01-01T00:00:00+00:00"},
        licenses=[(draw(st.one_of(st.none(), ident)), draw(xml_text))] if draw(st.booleans()) else [],
        media=[media],
        properties=[("lastUsedAnnotationId", str(n)), (draw(ident), draw(xml_text))],
        time_slots=slots,
        tiers=tiers,
        linguistic_types=[lt, assoc],
        languages=[{"LANG_DEF": "http://cdb.iso.org/lg/CDB-00138502-001", "LANG_ID": "eng", "LANG_LABEL": "English"}],
        constraints=[{"DESCRIPTION": "1-1 association with a parent annotation", "STEREOTYPE": "Symbolic_Association"}],
        vocabularies=[cv],
        external_refs=[{"EXT_REF_ID": "er1", "TYPE": "iso12620", "VALUE": draw(xml_text)}],
        ref_link_sets=[
            RefLinkSet(
                {"LINK_SET_ID": "ls1", "LINK_SET_NAME": draw(xml_text)},
                [
                    RefLink(
                        "CROSS_REF_LINK",
                        {"REF_LINK_ID": "rl1", "REF1": "a1", "REF2": "a1"},
                        draw(st.one_of(st.none(), xml_text.filter(bool))),
                    )
                ],
            )
        ]
        if n
        else [],
    )


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
