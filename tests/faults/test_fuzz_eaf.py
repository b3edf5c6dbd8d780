"""Fuzzed ELAN files: real corpus files mutated (elements deleted, duplicated or renamed, attribute values
changed, text replaced, bytes flipped, files truncated, odd characters and encodings) and generated documents.
Each is either imported as it reads and then round-trips (exported and imported again, equal), or refused
with one line that names the file, leaving the store as it was: never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select

from annotation.elan.model import EafDocument
from annotation.elan.reader import read_eaf
from annotation.elan.writer import eaf_to_string
from annotation.errors import AnnotationError
from annotation.services import export_eaf, get_document, import_file
from annotation.store.engine import Store, open_store, sqlite_url
from annotation.store.tables import AnnotationRow, Document, HeaderProperty, TierRow, TimeSlotRow, VocabularyRow
from app.cli.main import main
from tests.faults.conftest import FUZZ
from tests.fixtures.elan_files import SMALL_EAF, corpus_files
from tests.fixtures.strategies import documents

# the corpus files small enough to mutate a few hundred times in CI time (most of them)
SMALL = [p for p in corpus_files("eaf", "etf", "ecv") if p.stat().st_size < 100_000]

ELAN_ATTRIBUTES = [
    "TIME_SLOT_ID", "TIME_VALUE", "TIME_SLOT_REF1", "TIME_SLOT_REF2", "ANNOTATION_ID", "ANNOTATION_REF",
    "PREVIOUS_ANNOTATION", "TIER_ID", "PARENT_REF", "LINGUISTIC_TYPE_REF", "LINGUISTIC_TYPE_ID",
    "CONTROLLED_VOCABULARY_REF", "CV_ID", "CVE_ID", "CVE_REF", "EXT_REF", "LANG_REF", "DEFAULT_LOCALE",
    "CONSTRAINTS", "TIME_ALIGNABLE", "MEDIA_URL", "FORMAT", "VERSION",
]  # fmt: skip
ELAN_TAGS = ["TIER", "ANNOTATION", "ALIGNABLE_ANNOTATION", "REF_ANNOTATION", "TIME_SLOT", "HEADER", "CV_ENTRY_ML",
             "LINGUISTIC_TYPE", "CONTROLLED_VOCABULARY", "ANNOTATION_VALUE", "PROPERTY", "X-FUTURE"]  # fmt: skip
ODD_VALUES = ["", "-1", "0", "2147483647", "2147483648", "99999999999999999999", "1.5", " 7 ", "+7", "7_000", "٣",
              "x" * 101, "y" * 201, "z" * 301, "a1", "ts1", "true", "false"]  # fmt: skip
ODD_BYTES = [b"\x00", b"\xff\xfe", b"\xed\xa0\x80", b"&#0;", b"&#xD800;", b"&#x10FFFF;", b"<", b"&", b"]]>", b"\r\n",
             b"<!DOCTYPE x [<!ENTITY e 'v'>]>", b"&e;", "é".encode("latin-1"), b"<!-- c -->", b"<?pi x?>"]  # fmt: skip

# text lxml can put in an attribute or element (the byte mutations bring in what it cannot)
xml_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\t\n\r &<>\"' ]]>")),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
    ),
    max_size=24,
)


@st.composite
def tree_edit(draw: st.DrawFn, root: Any) -> None:
    """One change to a parsed file: delete, duplicate or rename an element, set or drop an attribute, set a
    text (values taken from the file's own ids too, so that references break in interesting ways)."""
    elements = list(root.iter())
    el = draw(st.sampled_from(elements))
    ids = [v for e in elements for k, v in e.attrib.items() if k.endswith("_ID")] or ["a1"]
    kind = draw(st.sampled_from(["delete", "duplicate", "rename", "attribute", "drop attribute", "text", "limit"]))
    parent = el.getparent()
    if kind == "limit":  # past what the store keeps, where the reader's reference checks still pass
        draw(past_a_limit(elements))
    elif kind == "delete" and parent is not None:
        parent.remove(el)
    elif kind == "duplicate" and parent is not None:
        parent.insert(parent.index(el) + 1, copy.deepcopy(el))
    elif kind == "rename":
        el.tag = draw(st.sampled_from(ELAN_TAGS))
    elif kind == "attribute":
        name = draw(st.sampled_from(sorted(el.attrib) + ELAN_ATTRIBUTES))
        el.set(name, draw(st.one_of(st.sampled_from(ids), st.sampled_from(ODD_VALUES), xml_text)))
    elif kind == "drop attribute" and el.attrib:
        del el.attrib[draw(st.sampled_from(sorted(el.attrib)))]
    elif kind == "text":
        el.text = draw(st.one_of(xml_text, st.sampled_from(ODD_VALUES)))
    event(f"tree: {kind}")


@st.composite
def past_a_limit(draw: st.DrawFn, elements: list[Any]) -> None:
    """A time past the store's INTEGER, or an id or reference longer than its column: an id is renamed
    everywhere it is used, so the file stays consistent and only the store's limits are in the way."""
    times = [e for e in elements if e.get("TIME_VALUE") is not None]
    kind = draw(st.sampled_from(["time", "id", "reference"]))
    if kind == "time" and times:
        draw(st.sampled_from(times)).set("TIME_VALUE", draw(st.sampled_from(["2147483648", "99999999999999999999"])))
        return
    long = draw(st.sampled_from(["x" * 101, "y" * 201, "z" * 301, "w" * 51]))
    if kind == "id":
        ids = [(e, k) for e in elements for k in e.attrib if k in ("TIME_SLOT_ID", "ANNOTATION_ID", "TIER_ID", "CV_ID")]
        if ids:
            el, key = draw(st.sampled_from(ids))
            old = el.get(key)
            for e in elements:
                for k, v in e.attrib.items():
                    if v == old:
                        e.set(k, long)
            return
    carriers = [e for e in elements if e.tag in ("ALIGNABLE_ANNOTATION", "TIER", "CV_ENTRY_ML", "CVE_VALUE")]
    if carriers:
        el = draw(st.sampled_from(carriers))
        attr = {"ALIGNABLE_ANNOTATION": ["CVE_REF", "LANG_REF", "SVG_REF"], "TIER": ["DEFAULT_LOCALE"]}.get(
            el.tag, ["EXT_REF", "LANG_REF"]
        )
        el.set(draw(st.sampled_from(attr)), long)


@st.composite
def byte_edit(draw: st.DrawFn, data: bytes) -> bytes:
    """One change to the bytes: flip some, cut the file short, put odd bytes in, or say another encoding."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "encoding"]))
    event(f"bytes: {kind}")
    at = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "flip" and data:
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        return bytes(b)
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        odd = draw(st.one_of(st.sampled_from(ODD_BYTES), st.binary(min_size=1, max_size=8)))
        return data[:at] + odd + data[at:]
    enc = draw(st.sampled_from(["UTF-16", "ISO-8859-1", "windows-1252", "bogus-42", "US-ASCII"]))
    return data.replace(b'encoding="UTF-8"', f'encoding="{enc}"'.encode(), 1)


@st.composite
def mutated_corpus_file(draw: st.DrawFn) -> tuple[str, bytes]:
    src = draw(st.sampled_from(SMALL))
    root = etree.fromstring(src.read_bytes(), etree.XMLParser(resolve_entities=False, huge_tree=True))
    for _ in range(draw(st.integers(0, 3))):
        try:
            draw(tree_edit(root))
        except ValueError:  # lxml refuses a name or value outright: that change is not made
            event("tree: refused by lxml")
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    for _ in range(draw(st.integers(0, 2))):
        data = draw(byte_edit(data))
    return src.suffix, data


@st.composite
def mutated_generated_document(draw: st.DrawFn) -> tuple[str, bytes]:
    data = eaf_to_string(draw(documents())).encode("utf-8")
    if draw(st.booleans()):
        data = draw(byte_edit(data))
    return ".eaf", data


def _snapshot(store: Store) -> tuple[int, ...]:
    with store.session() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Document, TierRow, TimeSlotRow, AnnotationRow, VocabularyRow, HeaderProperty)
        )


def _comparable(doc: EafDocument, root: tuple[str, ...] = ("AUTHOR", "DATE")) -> EafDocument:
    # what an export sets by definition: EAF 3.0's format attributes on the root, and the AUTHOR and DATE the
    # schema requires when the file had none; notes of an upgrade already done
    doc.root_attrs = {k: v for k, v in doc.root_attrs.items() if k in root}
    doc.upgrade_notes = []
    return doc


def check_import(store: Store, path: Path) -> None:
    """Imported whole and round-trips, or refused in one line naming the file with the store unchanged."""
    before = _snapshot(store)
    try:
        result = import_file(store, path)
    except AnnotationError as exc:
        assert "\n" not in exc.message and "\r" not in exc.message, exc.message
        assert exc.message.startswith(f"{path}: "), exc.message
        assert _snapshot(store) == before
        event(f"refused: {type(exc).__name__}")
        return
    event("imported")
    stored = get_document(store, result.doc_id)
    assert _comparable(stored) == _comparable(read_eaf(path))  # stored as it reads
    out = path.with_name(f"exported{path.suffix}")
    export_eaf(store, result.doc_id, out)
    again = import_file(store, out)
    had = tuple(k for k in ("AUTHOR", "DATE") if k in stored.root_attrs)
    assert _comparable(get_document(store, again.doc_id), had) == _comparable(get_document(store, result.doc_id), had)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = open_store(sqlite_url(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"))
    yield store
    store.close()


def _found(old: bytes, new: bytes) -> tuple[str, bytes]:
    """A corpus file with one change that found a fault (all of ``old`` replaced)."""
    return ".eaf", SMALL_EAF.read_bytes().replace(old, new)


# the faults found so far, every run: a time past the store's INTEGER (SQLite's 64 bits too), an id longer
# than its column (renamed everywhere it is used), a negative time (ELAN's times are unsigned)
FOUND = [
    _found(b'TIME_VALUE="0"', b'TIME_VALUE="99999999999999999999"'),
    _found(b'TIME_VALUE="0"', b'TIME_VALUE="2147483648"'),
    _found(b'TIME_VALUE="0"', b'TIME_VALUE="-5"'),
    _found(b'"a1"', b'"' + b"a" * 101 + b'"'),
]


@settings(FUZZ, max_examples=450)
@given(case=mutated_corpus_file())
@example(case=FOUND[0])
@example(case=FOUND[1])
@example(case=FOUND[2])
@example(case=FOUND[3])
def test_mutated_corpus_files(fuzz_store: Store, tmp_path: Path, case: tuple[str, bytes]) -> None:
    suffix, data = case
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(data)
    check_import(fuzz_store, path)


@settings(FUZZ, max_examples=100)
@given(case=mutated_generated_document())
def test_generated_documents(fuzz_store: Store, tmp_path: Path, case: tuple[str, bytes]) -> None:
    path = tmp_path / "generated.eaf"
    path.write_bytes(case[1])
    check_import(fuzz_store, path)


@settings(FUZZ, max_examples=120)
@given(case=mutated_corpus_file())
@example(case=FOUND[1])
@example(case=FOUND[3])
def test_mutated_corpus_files_on_postgresql(pg_module_store: Store, tmp_path: Path, case: tuple[str, bytes]) -> None:
    """PostgreSQL refuses what SQLite lets pass (an id longer than its column, a time past its INTEGER)."""
    suffix, data = case
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(data)
    check_import(pg_module_store, path)


@settings(FUZZ, max_examples=40)
@given(case=mutated_corpus_file())
def test_the_command_line_says_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, bytes]
) -> None:
    path = tmp_path / f"mutated{case[0]}"
    path.write_bytes(case[1])
    url = sqlite_url(tmp_path / "cli.sqlite")
    code = main(["--db", url, "import-eaf", str(path)])
    out, err = capsys.readouterr()
    if code == 0:  # imported, with one warning line for each kind of repair it needed
        assert all(line.startswith(f"frontdoor: warning: {path}: ") for line in err.splitlines()), err
        assert out.splitlines()[-1].isdigit()
    else:
        assert code == 2 and err.startswith(f"frontdoor: error: {path}: ") and err.count("\n") == 1, err
