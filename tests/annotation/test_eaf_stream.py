"""The streaming EAF reader: annotations and time slots are read as lxml parses them and dropped from the tree,
and a file with a DOCTYPE is parsed whole instead (where its entities are checked). Both ways read every file
alike, and refuse a bad one with the refusal a whole-tree reader gives: a parse error first, then a wrong
root element, then (strict) a missing HEADER, then the first problem in document order."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from annotation.elan import read_eaf_report
from annotation.elan.repairs import NEGATIVE_TIME, NO_HEADER
from annotation.errors import AnnotationError, EafParseError, EafStructureError
from tests.faults.test_fuzz_eaf import mutated_corpus_file
from tests.fixtures.elan_files import corpus_files

DOCTYPE = b"<!DOCTYPE ANNOTATION_DOCUMENT>\n"


def _with_doctype(data: bytes) -> bytes:
    """The same file with a DOCTYPE (no entities): read whole, not streamed."""
    if data.startswith(b"<?xml") and b"?>" in data:  # (a mutated file may be cut inside the declaration)
        end = data.index(b"?>") + 2
        return data[:end] + b"\n" + DOCTYPE + data[end:]
    return DOCTYPE + data


def _read(path: Path, data: bytes, strict: bool = False) -> tuple[str, object, object]:
    path.write_bytes(data)
    try:
        doc, repairs = read_eaf_report(path, strict=strict)
    except AnnotationError as exc:
        # lxml words a syntax error a little differently when it parses in pieces: the kind is what counts
        return "refused", type(exc).__name__, "" if isinstance(exc, EafParseError) else exc.message
    return "read", doc, [str(r) for r in repairs]


@pytest.mark.parametrize("path", corpus_files("eaf", "etf"), ids=lambda p: p.name)
def test_streamed_and_whole_tree_read_every_corpus_file_alike(path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    for strict in (False, True):
        streamed = _read(tmp_path / f"s{path.suffix}", data, strict)
        whole = _read(tmp_path / f"s{path.suffix}", _with_doctype(data), strict)
        assert streamed == whole


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_corpus_file())
def test_streamed_and_whole_tree_read_mutated_files_alike(tmp_path_factory: pytest.TempPathFactory, f: object) -> None:
    suffix, data = f  # type: ignore[misc]
    if suffix == ".ecv" or b"<!DOCTYPE" in data:
        return
    tmp = tmp_path_factory.mktemp("stream")
    for strict in (False, True):
        assert _read(tmp / f"s{suffix}", data, strict) == _read(tmp / f"s{suffix}", _with_doctype(data), strict)


GOOD_TIER = (
    '<TIER LINGUISTIC_TYPE_REF="t" TIER_ID="w"><ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" '
    'TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2"><ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION>'
    "</ANNOTATION></TIER>"
)
BAD_TIER = GOOD_TIER.replace('ANNOTATION_ID="a1" ', "")
TYPE = '<LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="t" TIME_ALIGNABLE="true"/>'


def _doc(*parts: str, header: bool = True, slots: tuple[str, str] = ("0", "1000")) -> bytes:
    head = '<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>' if header else ""
    order = (
        f'<TIME_ORDER><TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="{slots[0]}"/>'
        f'<TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="{slots[1]}"/></TIME_ORDER>'
    )
    body = "".join(parts)
    xml = f"<ANNOTATION_DOCUMENT>{head}{order}{body}</ANNOTATION_DOCUMENT>\n"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + xml.encode()


@pytest.mark.parametrize("doctype", [False, True], ids=["streamed", "whole"])
@pytest.mark.parametrize(
    ("data", "strict", "kind", "says"),
    [
        # an element the reader skips inside annotations, at the top level before a bad tier: named first
        (_doc("<ALIGNABLE_ANNOTATION/>", BAD_TIER, TYPE), False, EafStructureError, "unexpected element <ALIGNA"),
        (_doc(GOOD_TIER, TYPE, "<X-FUTURE/>"), False, EafStructureError, "unexpected element <X-FUTURE>"),
        (_doc(BAD_TIER, "<TIME_SLOT/>", TYPE), False, EafStructureError, "on tier 'w' has no ANNOTATION_ID"),
        # a refusal met early, then a file cut short: the parse error comes first
        (_doc(BAD_TIER, TYPE)[: -len("</ANNOTATION_DOCUMENT>\n")], False, EafParseError, "truncated"),
        # strict: a missing HEADER is named before a repair the time slots need
        (_doc(GOOD_TIER, TYPE, header=False, slots=("0.5", "1000")), True, EafStructureError, "no <HEADER>"),
        (_doc(GOOD_TIER, TYPE, slots=("0.5", "1000")), True, EafStructureError, "decimal TIME_VALUE"),
    ],
)
def test_refusals_come_in_the_whole_tree_readers_order(
    tmp_path: Path, data: bytes, strict: bool, kind: type[Exception], says: str, doctype: bool
) -> None:
    path = tmp_path / "bad.eaf"
    path.write_bytes(_with_doctype(data) if doctype else data)
    with pytest.raises(kind) as refused:
        read_eaf_report(path, strict=strict)
    assert says in str(refused.value) and str(refused.value).startswith(f"{path}: ")


def test_a_missing_header_is_reported_before_the_repairs_found_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "noheader.eaf"
    path.write_bytes(_doc(GOOD_TIER, TYPE, header=False, slots=("-5", "1000")))
    doc, repairs = read_eaf_report(path)
    assert [r.what for r in repairs] == [NO_HEADER, NEGATIVE_TIME]
    assert [s.time for s in doc.time_slots] == [-5, 1000] and doc.tiers[0].annotations[0].value == "x"
