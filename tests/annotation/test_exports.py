"""Exports to tsv, csv, srt, vtt, TextGrid and JSON, and annotation timing as ELAN shows it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from pympi.Praat import TextGrid

from annotation.elan.exports import export_document
from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.elan.reader import read_eaf
from annotation.elan.timing import document_segments, interpolate_slots
from annotation.errors import ExportError
from media_tools.clock import clock_text

SCHEMA = Path(__file__).parents[2] / "resources" / "schemas" / "annotations.schema.json"


def small_doc() -> EafDocument:
    return EafDocument(
        root_attrs={"AUTHOR": "R"},
        time_slots=[TimeSlot("ts1", 1000), TimeSlot("ts2", None), TimeSlot("ts3", 3000), TimeSlot("ts4", 61_500)],
        tiers=[
            Tier(
                {"TIER_ID": "Call phase", "LINGUISTIC_TYPE_REF": "t", "PARTICIPANT": "W"},
                [
                    Annotation("a1", 'opening, "quoted"\ttab', "ts1", "ts2"),
                    Annotation("a2", "reason <for> call\nline two", "ts2", "ts3"),
                    Annotation("a3", "closing", "ts3", "ts4"),
                ],
            ),
            Tier(
                {"TIER_ID": "Gloss", "LINGUISTIC_TYPE_REF": "a", "PARENT_REF": "Call phase"},
                [
                    Annotation("a4", "g1", ref="a3"),
                    Annotation("a5", "g2", ref="a3", prev="a4"),
                ],
            ),
        ],
        linguistic_types=[
            {"LINGUISTIC_TYPE_ID": "t", "TIME_ALIGNABLE": "true"},
            {"LINGUISTIC_TYPE_ID": "a", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Subdivision"},
        ],
    )


def test_timing_interpolates_and_inherits() -> None:
    assert interpolate_slots([("a", 0), ("b", None), ("c", None), ("d", 300)]) == {
        "a": (0, True),
        "b": (100, False),
        "c": (200, False),
        "d": (300, True),
    }
    segs = document_segments(small_doc())
    assert [(s.ann_id, s.start, s.end, s.aligned) for s in segs["Call phase"]] == [
        ("a1", 1000, 2000, False),
        ("a2", 2000, 3000, False),
        ("a3", 3000, 61_500, True),
    ]
    assert [(s.ann_id, s.start, s.end) for s in segs["Gloss"]] == [("a4", 3000, 32_250), ("a5", 32_250, 61_500)]


def test_clock() -> None:  # the shapes the subtitle and table exports write
    assert clock_text(61_500) == "00:01:01.500"
    assert clock_text(3_600_000 + 5, sep=",") == "01:00:00,005"


def test_tsv_and_csv_keep_values_exactly(tmp_path: Path) -> None:
    doc = small_doc()
    for fmt, delim in (("tsv", "\t"), ("csv", ",")):
        out = tmp_path / f"x.{fmt}"
        export_document(doc, fmt, out)
        with out.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter=delim))
        assert rows[0][:3] == ["tier", "participant", "annotation_id"]
        assert rows[1][8] == 'opening, "quoted"\ttab'
        assert rows[2][8] == "reason <for> call\nline two"
        assert rows[1][5:8] == ["1000", "2000", "1000"]
        assert len(rows) == 6


def test_srt_and_vtt_one_file_per_tier(tmp_path: Path) -> None:
    doc = small_doc()
    export_document(doc, "srt", tmp_path / "one.srt", ["Call phase"])
    srt = (tmp_path / "one.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,000\nopening")
    export_document(doc, "vtt", tmp_path / "all.vtt")
    assert (tmp_path / "all.Call_phase.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n\n1\n00:00:01.000 -->")
    assert "reason &lt;for&gt; call" in (tmp_path / "all.Call_phase.vtt").read_text(encoding="utf-8")
    assert (tmp_path / "all.Gloss.vtt").exists()


def test_textgrid_is_read_back_by_pympi(tmp_path: Path) -> None:
    export_document(small_doc(), "textgrid", tmp_path / "x.TextGrid")
    tg = TextGrid(str(tmp_path / "x.TextGrid"))
    intervals = [i for i in tg.get_tier("Call phase").get_intervals() if i[2]]
    assert intervals[0] == (1.0, 2.0, 'opening, "quoted"\ttab')
    assert len(intervals) == 3


def test_json_matches_its_published_schema(tmp_path: Path, corpus: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for doc in (small_doc(), read_eaf(corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf")):
        out = tmp_path / "x.json"
        export_document(doc, "json", out)
        data = json.loads(out.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema)
        assert sum(len(t["annotations"]) for t in data["tiers"]) == doc.annotation_count()


def test_unknown_format_and_tier(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format"):
        export_document(small_doc(), "docx", tmp_path / "x")
    with pytest.raises(ExportError, match="tier 'Nope'"):
        export_document(small_doc(), "tsv", tmp_path / "x", ["Nope"])


def test_export_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    from app.cli.main import main

    db = f"sqlite:///{tmp_path}/s.sqlite"
    assert main(["--db", db, "import-eaf", str(corpus / "eaf" / "neocl__speach__test.eaf")]) == 0
    doc = capsys.readouterr().out.strip().splitlines()[-1]
    for fmt in ("tsv", "csv", "srt", "vtt", "textgrid", "json"):
        assert main(["--db", db, "export", doc, "--format", fmt, str(tmp_path / f"out.{fmt}")]) == 0
    assert (tmp_path / "out.json").stat().st_size > 0
