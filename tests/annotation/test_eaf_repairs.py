"""Tolerant reading: a file that breaks the EAF schema in a recoverable way is read, each kind of repair is
reported once (file, what, how many times), and what is written back reads again with no repair, every value
and time kept. ``strict`` refuses such a file in one line, as Frontdoor did before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from annotation.elan import EafDocument, read_eaf, read_eaf_report, write_eaf
from annotation.elan.repairs import (
    CVE_WITHOUT_ID,
    DANGLING_PREVIOUS,
    DANGLING_TYPE,
    DECIMAL_TIME,
    DUPLICATE_ANNOTATION_ID,
    MISSING_TYPE,
    NEGATIVE_TIME,
    NO_HEADER,
    NON_NUMERIC_TIME,
    REF_THROUGH_PARENT,
    SLOTS_OUT_OF_ORDER,
)
from annotation.errors import DanglingReference, EafStructureError
from annotation.services import export_eaf, get_document, import_file
from annotation.store.engine import Store
from tests.conftest import corpus_files

HEADER = (
    '    <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">\n'
    '        <PROPERTY NAME="lastUsedAnnotationId">6</PROPERTY>\n'
    "    </HEADER>\n"
)
SLOTS = {"ts1": "0", "ts2": "1000", "ts3": "1500", "ts4": "2500"}


def _ann(aid: str, value: str, ts: tuple[str, str] | None = None, ref: str = "", prev: str = "") -> str:
    if ts is not None:
        inner = f'<ALIGNABLE_ANNOTATION ANNOTATION_ID="{aid}" TIME_SLOT_REF1="{ts[0]}" TIME_SLOT_REF2="{ts[1]}">'
        end = "</ALIGNABLE_ANNOTATION>"
    else:
        p = f' PREVIOUS_ANNOTATION="{prev}"' if prev else ""
        inner = f'<REF_ANNOTATION ANNOTATION_ID="{aid}" ANNOTATION_REF="{ref}"{p}>'
        end = "</REF_ANNOTATION>"
    return f"        <ANNOTATION>{inner}<ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>{end}</ANNOTATION>\n"


def make(
    *,
    header: str = HEADER,
    slots: dict[str, str] | None = None,
    ids: tuple[str, ...] = ("a1", "a2", "a3", "a4", "a5", "a6"),
    gloss_first: bool = False,
    gloss_type: str = ' LINGUISTIC_TYPE_REF="gloss"',
    words_type: str = "words",
    a2_slots: tuple[str, str] = ("ts3", "ts4"),
    prev: str = "",
    cve_id: str = ' CVE_ID="cveid_1"',
) -> str:
    """A small EAF 3.0 file: a top-level tier, a Symbolic_Association tier and a Symbolic_Subdivision tier
    below it, a vocabulary; each argument breaks one thing."""
    a1, a2, a3, a4, a5, a6 = ids
    time_order = "".join(
        f'        <TIME_SLOT TIME_SLOT_ID="{k}" TIME_VALUE="{v}"/>\n' for k, v in (slots or SLOTS).items()
    )
    speech = (
        '    <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Speech">\n'
        + _ann(a1, "hello", ("ts1", "ts2"))
        + _ann(a2, "world", a2_slots)
        + "    </TIER>\n"
    )
    gloss = (
        f'    <TIER{gloss_type} PARENT_REF="Speech" TIER_ID="Gloss">\n'
        + _ann(a3, "greeting", ref=a1)
        + _ann(a4, "planet", ref=a2)
        + "    </TIER>\n"
    )
    words = (
        f'    <TIER LINGUISTIC_TYPE_REF="{words_type}" PARENT_REF="Speech" TIER_ID="Words">\n'
        + _ann(a5, "hel", ref=a1)
        + _ann(a6, "lo", ref=a1, prev=prev or a5)
        + "    </TIER>\n"
    )
    types = (
        '    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>\n'
        '    <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false" '
        'LINGUISTIC_TYPE_ID="gloss" TIME_ALIGNABLE="false"/>\n'
    )
    if words_type == "words":
        types += (
            '    <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Subdivision" GRAPHIC_REFERENCES="false" '
            'LINGUISTIC_TYPE_ID="words" TIME_ALIGNABLE="false"/>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">\n'
        + header
        + f"    <TIME_ORDER>\n{time_order}    </TIME_ORDER>\n"
        + ((gloss + speech) if gloss_first else (speech + gloss))
        + words
        + types
        + '    <LANGUAGE LANG_DEF="http://cdb.iso.org/lg/CDB-00130975-001" LANG_ID="und" '
        'LANG_LABEL="undetermined (und)"/>\n'
        '    <CONSTRAINT DESCRIPTION="1-1 association with a parent annotation" STEREOTYPE="Symbolic_Association"/>\n'
        '    <CONTROLLED_VOCABULARY CV_ID="phases">\n'
        f'        <CV_ENTRY_ML{cve_id}><CVE_VALUE LANG_REF="und">opening</CVE_VALUE></CV_ENTRY_ML>\n'
        "    </CONTROLLED_VOCABULARY>\n"
        "</ANNOTATION_DOCUMENT>\n"
    )


def view(doc: EafDocument) -> dict[str, list[tuple[object, ...]]]:
    """What a user sees, without ids: each tier's annotations as (value, begin, end) or (value, parent value,
    previous value)."""
    times = doc.slot_times()
    by_id = {a.ann_id: a for t in doc.tiers for a in t.annotations}
    out: dict[str, list[tuple[object, ...]]] = {}
    for t in doc.tiers:
        rows: list[tuple[object, ...]] = []
        for a in t.annotations:
            if a.ref is None:
                rows.append((a.value, times[a.ts1 or ""], times[a.ts2 or ""]))
            else:
                prev = by_id[a.prev].value if a.prev is not None else None
                rows.append((a.value, by_id[a.ref].value, prev))
        out[t.tier_id] = rows
    return out


def good_view(**times: tuple[object, object]) -> dict[str, list[tuple[object, ...]]]:
    v: dict[str, list[tuple[object, ...]]] = {
        "Speech": [("hello", 0, 1000), ("world", 1500, 2500)],
        "Gloss": [("greeting", "hello", None), ("planet", "world", None)],
        "Words": [("hel", "hello", None), ("lo", "hello", "hel")],
    }
    for value, (begin, end) in times.items():
        v["Speech"] = [(x, begin, end) if x == value else (x, b, e) for x, b, e in v["Speech"]]
    return v


def _write(tmp_path: Path, text: str, name: str = "broken ü.eaf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


#: case: (file text, what is reported, how many times, words of the strict refusal, the view expected,
#: what a file written back still reports)
CASES: dict[str, tuple[str, str, int, str, dict[str, list[tuple[object, ...]]], list[str]]] = {
    "no-header": (make(header=""), NO_HEADER, 1, "no <HEADER> element", good_view(), []),
    "negative-time": (
        make(slots={**SLOTS, "ts1": "-4400"}),
        NEGATIVE_TIME,
        1,
        "time slot 'ts1' has a negative TIME_VALUE '-4400'",
        good_view(hello=(-4400, 1000)),
        [NEGATIVE_TIME],
    ),
    "decimal-time": (
        make(slots={**SLOTS, "ts2": "999.5", "ts3": "1500.25"}),
        DECIMAL_TIME,
        2,
        "time slot 'ts2' has a decimal TIME_VALUE '999.5'",
        good_view(),
        [],
    ),
    "non-numeric-time": (
        make(slots={**SLOTS, "ts3": "1.5s"}),
        NON_NUMERIC_TIME,
        1,
        "time slot 'ts3' has a non-numeric TIME_VALUE '1.5s'",
        good_view(world=(None, 2500)),
        [],
    ),
    "duplicate-ids": (
        # a converter that gives each referring annotation its parent's id, the referring tier first
        make(ids=("a1", "a2", "a1", "a2", "a5", "a6"), gloss_first=True),
        DUPLICATE_ANNOTATION_ID,
        2,
        "annotation id 'a1' occurs twice",
        good_view(),
        [],
    ),
    "missing-type": (
        make(gloss_type=""),
        MISSING_TYPE,
        1,
        "tier 'Gloss' has no LINGUISTIC_TYPE_REF",
        good_view(),
        [],
    ),
    "dangling-type": (
        make(words_type="Wörter"),
        DANGLING_TYPE,
        1,
        "tier 'Words' has LINGUISTIC_TYPE_REF 'Wörter', which is no linguistic type",
        good_view(),
        [],
    ),
    "dangling-previous": (
        make(prev="a99"),
        DANGLING_PREVIOUS,
        1,
        "annotation 'a6' has PREVIOUS_ANNOTATION 'a99', which does not exist",
        {**good_view(), "Words": [("hel", "hello", None), ("lo", "hello", None)]},
        [],
    ),
    "slots-out-of-order": (
        make(a2_slots=("ts4", "ts3")),
        SLOTS_OUT_OF_ORDER,
        1,
        "",  # ELAN tolerates it and so does strict reading
        good_view(world=(2500, 1500)),
        [SLOTS_OUT_OF_ORDER],
    ),
    "cv-entry-without-id": (
        make(cve_id=""),
        CVE_WITHOUT_ID,
        1,
        "an entry of vocabulary 'phases' has no CVE_ID",
        good_view(),
        [],
    ),
}


def test_the_valid_file_needs_no_repair(tmp_path: Path) -> None:
    doc, repairs = read_eaf_report(_write(tmp_path, make()))
    assert repairs == []
    assert view(doc) == good_view()


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_repair_is_reported_once_and_written_back_valid(case: str, tmp_path: Path) -> None:
    text, what, count, _, expected, still = CASES[case]
    path = _write(tmp_path, text)
    doc, repairs = read_eaf_report(path)
    times = "once" if count == 1 else f"{count} times"
    assert str(repairs[0]) == f"{path}: {what} ({times})"
    assert [r.what for r in repairs[1:]] == ([REF_THROUGH_PARENT] if case == "duplicate-ids" else [])
    assert view(doc) == expected
    out = tmp_path / "written.eaf"
    write_eaf(doc, out)
    again, repairs_again = read_eaf_report(out)
    assert [r.what for r in repairs_again] == still
    assert view(again) == expected
    ids = [a.ann_id for t in again.tiers for a in t.annotations]
    assert len(ids) == len(set(ids))
    # and written once more, the same bytes: a repaired file is a fixed point like any valid one
    out2 = tmp_path / "written again.eaf"
    write_eaf(again, out2)
    assert out2.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][3]))
def test_strict_reading_refuses_in_one_line(case: str, tmp_path: Path) -> None:
    text, _, _, refusal, _, _ = CASES[case]
    path = _write(tmp_path, text)
    with pytest.raises(EafStructureError) as exc:
        read_eaf(path, strict=True)
    assert exc.value.message == f"{path}: {refusal}"


def test_strict_reading_passes_time_slots_out_of_order(tmp_path: Path) -> None:
    doc, repairs = read_eaf_report(_write(tmp_path, CASES["slots-out-of-order"][0]), strict=True)
    assert [r.what for r in repairs] == [SLOTS_OUT_OF_ORDER]
    assert view(doc) == good_view(world=(2500, 1500))


def test_no_header_reads_as_milliseconds_with_no_media(tmp_path: Path) -> None:
    doc = read_eaf(_write(tmp_path, make(header="")))
    assert doc.header_attrs == {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"}
    assert doc.media == [] and doc.properties == []


def test_duplicate_ids_are_resolved_on_the_parent_tier(tmp_path: Path) -> None:
    """The Gloss tier comes first and keeps a1 and a2; Speech's a1 and a2 get fresh ids after the highest
    used, and Gloss's references (and Words', which names a1 too) point at Speech's, where they really are."""
    doc, repairs = read_eaf_report(_write(tmp_path, CASES["duplicate-ids"][0]))
    assert [r.what for r in repairs] == [DUPLICATE_ANNOTATION_ID, REF_THROUGH_PARENT]
    assert repairs[1].count == 4  # two on Gloss, two on Words
    speech = [a.ann_id for a in doc.tier("Speech").annotations]
    assert speech == ["a7", "a8"]  # a5 and a6 are taken
    assert [a.ref for a in doc.tier("Gloss").annotations] == ["a7", "a8"]
    assert [a.ref for a in doc.tier("Words").annotations] == ["a7", "a7"]
    assert ("lastUsedAnnotationId", "8") in doc.properties  # ELAN numbers its next annotation after these


def test_a_missing_type_is_picked_from_those_that_fit_else_created(tmp_path: Path) -> None:
    doc = read_eaf(_write(tmp_path, make(gloss_type="")))
    assert doc.tier("Gloss").attrs["LINGUISTIC_TYPE_REF"] == "gloss"  # the Symbolic_Association type there
    doc = read_eaf(_write(tmp_path, make(words_type="Wörter")))
    created = next(lt for lt in doc.linguistic_types if lt["LINGUISTIC_TYPE_ID"] == "Wörter")
    assert created["CONSTRAINTS"] == "Symbolic_Subdivision" and created["TIME_ALIGNABLE"] == "false"
    assert any(c.get("STEREOTYPE") == "Symbolic_Subdivision" for c in doc.constraints)


def test_a_cv_entry_without_an_id_gets_one_that_clashes_with_none(tmp_path: Path) -> None:
    text = make(cve_id="").replace(
        "</CONTROLLED_VOCABULARY>",
        '    <CV_ENTRY_ML CVE_ID="cveid_1"><CVE_VALUE LANG_REF="und">closing</CVE_VALUE></CV_ENTRY_ML>\n'
        "    </CONTROLLED_VOCABULARY>",
    )
    doc = read_eaf(_write(tmp_path, text))
    assert [e.cve_id for e in doc.vocabularies[0].entries] == ["cveid_2", "cveid_1"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        # which annotation was meant would be a guess: refused, in strict reading or not
        (lambda t: t.replace('ANNOTATION_REF="a2"', 'ANNOTATION_REF="a9"'), "refers to annotation 'a9'"),
        (lambda t: t.replace('TIME_VALUE="2500"', 'TIME_VALUE="-2147483649"'), "before the earliest time"),
        (lambda t: t.replace('TIME_VALUE="2500"', 'TIME_VALUE="-1e12"'), "before the earliest time"),
        (lambda t: t.replace('TIME_VALUE="2500"', 'TIME_VALUE="-99999999999999999999"'), "before the earliest time"),
        (lambda t: t.replace('TIME_VALUE="2500"', 'TIME_VALUE="1e40"'), "past the longest time"),
    ],
)
def test_what_cannot_be_repaired_is_still_refused(change: Callable[[str], str], refusal: str, tmp_path: Path) -> None:
    path = _write(tmp_path, change(make()))
    with pytest.raises(EafStructureError) as exc:
        read_eaf(path)
    assert exc.value.message.startswith(f"{path}: ") and refusal in exc.value.message
    assert "\n" not in exc.value.message


def test_a_reference_to_a_repeated_id_off_the_parent_tier_is_refused(tmp_path: Path) -> None:
    # a3 is used twice, both on Gloss; a Words annotation naming it cannot be resolved on Words' parent tier
    # Speech, and which of the two it meant is a guess
    text = make(ids=("a1", "a2", "a3", "a3", "a5", "a6")).replace(
        'ANNOTATION_REF="a1" PREV', 'ANNOTATION_REF="a3" PREV'
    )
    with pytest.raises(DanglingReference) as exc:
        read_eaf(_write(tmp_path, text))
    assert "refers to annotation 'a3', an id used more than once, none of them on tier 'Speech'" in exc.value.message


def test_negative_times_are_stored_and_exported_as_they_are(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, CASES["negative-time"][0])
    result = import_file(store, path)
    assert [r.what for r in result.repairs] == [NEGATIVE_TIME]
    assert view(get_document(store, result.doc_id)) == good_view(hello=(-4400, 1000))
    out = tmp_path / "exported.eaf"
    export_eaf(store, result.doc_id, out)
    assert '<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="-4400"/>' in out.read_text(encoding="utf-8")


def test_a_repaired_import_is_stored_repaired(store: Store, tmp_path: Path) -> None:
    """What the store holds is the repaired document: exported, it reads back with no repair."""
    path = _write(tmp_path, CASES["duplicate-ids"][0])
    result = import_file(store, path)
    assert [r.what for r in result.repairs] == [DUPLICATE_ANNOTATION_ID, REF_THROUGH_PARENT]
    out = tmp_path / "exported.eaf"
    export_eaf(store, result.doc_id, out)
    doc, repairs = read_eaf_report(out)
    assert repairs == [] and view(doc) == good_view()
    with pytest.raises(EafStructureError):
        import_file(store, path, strict=True)


def test_valid_elan_files_need_no_repair() -> None:
    """The real files in tests/data/elan, and in ../shared/corpus when it is there, are read as they are."""
    here = Path(__file__).parents[1] / "data" / "elan"
    files = sorted(p for p in here.iterdir() if p.suffix in (".eaf", ".etf", ".ecv")) + corpus_files(
        "eaf", "etf", "ecv"
    )
    assert files
    for p in files:
        assert read_eaf_report(p)[1] == [], p
