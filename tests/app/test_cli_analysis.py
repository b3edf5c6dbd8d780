"""``frontdoor stats|agreement|consensus`` as a user meets them: exact columns, numbers, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from annotation.store.engine import sqlite_url
from app.cli.main import main

# Two coders' call phases on one recording (times in ms):
#   A: opening 0-5000, information gathering 5000-20000, decision 20000-30000, closing 40000-45000
#   B: opening 0-5200, consultation 5200-20000, decision 20000-33000, closing 50000-55000
SPANS = {
    "Coder A": [(0, 5000, "opening"), (5000, 20000, "information gathering"), (20000, 30000, "decision"),
                (40000, 45000, "closing")],
    "Coder B": [(0, 5200, "opening"), (5200, 20000, "consultation"), (20000, 33000, "decision"),
                (50000, 55000, "closing")],
}  # fmt: skip


def _eaf() -> str:
    slots, tiers, n = [], [], 0
    for tier, spans in SPANS.items():
        anns = []
        for start, end, value in spans:
            n += 1
            slots.append(f'<TIME_SLOT TIME_SLOT_ID="ts{2 * n - 1}" TIME_VALUE="{start}"/>')
            slots.append(f'<TIME_SLOT TIME_SLOT_ID="ts{2 * n}" TIME_VALUE="{end}"/>')
            anns.append(
                f'<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a{n}" TIME_SLOT_REF1="ts{2 * n - 1}" '
                f'TIME_SLOT_REF2="ts{2 * n}"><ANNOTATION_VALUE>{value}</ANNOTATION_VALUE>'
                "</ALIGNABLE_ANNOTATION></ANNOTATION>"
            )
        tiers.append(f'<TIER LINGUISTIC_TYPE_REF="phase" TIER_ID="{tier}">{"".join(anns)}</TIER>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">'
        '<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">'
        f'<PROPERTY NAME="lastUsedAnnotationId">{n}</PROPERTY></HEADER>'
        f"<TIME_ORDER>{''.join(slots)}</TIME_ORDER>{''.join(tiers)}"
        '<LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="phase" TIME_ALIGNABLE="true"/>'
        "</ANNOTATION_DOCUMENT>\n"
    )


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    return ["--db", sqlite_url(tmp_path / "cli.sqlite")]


@pytest.fixture
def doc(db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "double coded.eaf"
    path.write_text(_eaf(), encoding="utf-8")
    assert main([*db, "import-eaf", str(path)]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_csv_has_exactly_the_columns(db: list[str], doc: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*db, "stats", doc, "--tier", "Coder A"], capsys)
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["tier", "value", "count", "total_ms", "mean_ms"]
    assert rows[1:] == [
        ["Coder A", "opening", "1", "5000", "5000.0"],
        ["Coder A", "information gathering", "1", "15000", "15000.0"],
        ["Coder A", "decision", "1", "10000", "10000.0"],
        ["Coder A", "closing", "1", "5000", "5000.0"],
    ]
    code, out, _ = run([*db, "stats", doc, "--tier", "Coder B", "--tier", "Coder A"], capsys)
    assert [r[0] for r in csv.reader(io.StringIO(out))][1:] == ["Coder B"] * 4 + ["Coder A"] * 4


def test_stats_json_adds_the_share(db: list[str], doc: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run([*db, "stats", doc, "--format", "json"], capsys)
    data = json.loads(out)
    # no recording linked: shares are of the document's extent, 0 to 55 s
    assert (data["length_ms"], data["length_from"]) == (55_000, "annotations")
    first = data["stats"][0]
    assert first == {
        "tier": "Coder A",
        "value": "opening",
        "count": 1,
        "total_ms": 5000,
        "mean_ms": 5000.0,
        "share": round(5000 / 55000, 6),
    }
    assert len(data["stats"]) == 8


def test_stats_co_occurrence(db: list[str], doc: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run([*db, "stats", doc, "--co-occurrence", "Coder A", "Coder B"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["tier_a", "value_a", "tier_b", "value_b", "count", "overlap_ms", "share_a", "share_b"]
    got = {(r["value_a"], r["value_b"]): int(r["overlap_ms"]) for r in rows}
    # information gathering 5000-20000 against consultation 5200-20000: 14800 ms; against opening 0-5200: 200
    assert got[("information gathering", "consultation")] == 14_800
    assert got[("information gathering", "opening")] == 200
    assert got[("decision", "decision")] == 10_000


def test_agreement_text_and_json(db: list[str], doc: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*db, "agreement", doc, "Coder A", "Coder B"], capsys)
    assert (code, err) == (0, "")
    assert "3 pairs, 1 only in A, 1 only in B" in out
    assert "kappa_ipf" in out and "Unmatched" in out
    code, out, _ = run([*db, "agreement", doc, "Coder A", "Coder B", "--format", "json", "--overlap", "60%"], capsys)
    data = json.loads(out)
    # matched pairs: (opening, opening), (information gathering, consultation), (decision, decision):
    # raw agreement 2/3. Labels consultation, decision, information gathering, opening; A's marginals
    # 0 1/3 1/3 1/3, B's 1/3 1/3 0 1/3, so p_e = 1/9 + 1/9 = 2/9 and kappa = (6/9 - 2/9) / (7/9) = 4/7
    assert data["matched"] == 3 and data["cohen"]["raw_agreement"] == pytest.approx(2 / 3, abs=1e-6)
    assert data["cohen"]["kappa"] == pytest.approx(4 / 7, abs=1e-6)
    elan = data["elan_modified_kappa"]
    assert elan["labels"][-1] == "Unmatched" and sum(map(sum, elan["matrix"])) == 8
    assert elan["excl_unmatched"]["kappa"] == pytest.approx(4 / 7, abs=1e-6)


def test_consensus_list_template_and_build(
    db: list[str], doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "decisions.json"
    code, out, err = run([*db, "consensus", "list", doc, "Coder A", "Coder B", "--template", str(template)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("4 disagreements, 1 agreed pairs")
    assert [line.split()[:2] for line in lines[2:]] == [
        ["a2/a6", "value"],
        ["a3/a7", "boundaries"],
        ["a4/-", "only_a"],
        ["-/a8", "only_b"],
    ]
    assert "information gathering [00:00:05.000-00:00:20.000]  |  consultation [00:00:05.200-00:00:20.000]" in out
    assert f"wrote {template}" in err
    # the template is not overwritten by a second 'list'
    code, _, err = run([*db, "consensus", "list", doc, "Coder A", "Coder B", "--template", str(template)], capsys)
    assert code == 2 and err.count("\n") == 1 and "exists" in err
    decisions = json.loads(template.read_text(encoding="utf-8"))
    decisions["a2/a6"].update(take="b", rationale="on the phone to the manager")
    decisions["a3/a7"].update(take="a", rationale="decision stated by 30 s")
    decisions["a4/-"].update(take="a", rationale="closing audible")
    template.write_text(json.dumps(decisions), encoding="utf-8")
    build = [*db, "consensus", "build", doc, "Coder A", "Coder B", "--decisions", str(template)]
    code, _, err = run([*build, "--new-tier", "Consensus"], capsys)
    assert code == 2 and err == (
        "frontdoor: error: disagreement '-/a8': not decided (1 of 4 undecided; decide them or build a partial "
        "consensus)\n"
    )
    code, out, err = run([*build, "--new-tier", "Consensus", "--partial"], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"added tier 'Consensus' to document {doc}: 4 annotations (1 agreed, 3 from 3 decisions, 0 dropped)",
        "added tier 'Consensus rationale': 3 rationale notes",
    ]
    code, out, _ = run([*db, "stats", doc, "--tier", "Consensus"], capsys)
    assert [r[1] for r in csv.reader(io.StringIO(out))][1:] == ["opening", "consultation", "decision", "closing"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats", "99"], "frontdoor: error: document 99: no such document in the store"),
        (["stats", "{doc}", "--tier", "Nope"], "frontdoor: error: document {doc}: no tier 'Nope'"),
        (["stats", "{doc}", "--co-occurrence", "Coder A", "Nope"], "no tier 'Nope'"),
        (["agreement", "{doc}", "Coder A", "Nope"], "frontdoor: error: document {doc}: no tier 'Nope'"),
        (["agreement", "{doc}", "Coder A", "Coder B", "--doc-b", "77"], "document 77: no such document"),
        (["agreement", "{doc}", "Coder A", "Coder A"], "tier 'Coder A' compared with itself"),
        (["agreement", "{doc}", "Coder A", "Coder B", "--overlap", "1.5"], "the overlap must be more than 0"),
        (["agreement", "{doc}", "Coder A", "Coder B", "--overlap", "lots"], "'lots' is not an overlap"),
        (["consensus", "list", "{doc}", "Coder A", "Coder B", "--tolerance", "soon"], "'soon' is not a time"),
        (["consensus", "build", "{doc}", "Coder A", "Coder B", "--decisions", "{tmp}/none.json", "--new-tier", "C"],
         "none.json: cannot read the decisions"),
        (["consensus", "build", "{doc}", "Coder A", "Coder B", "--decisions", "{tmp}/bad.json", "--new-tier", "C"],
         "decisions: not JSON"),
        (["consensus", "build", "{doc}", "Coder A", "Coder B", "--decisions", "{tmp}/stale.json", "--new-tier", "C"],
         "decision 'a1/a9': no such disagreement between 'Coder A' and 'Coder B' now"),
        (["consensus", "build", "{doc}", "Coder A", "Coder B", "--decisions", "{tmp}/stale.json",
          "--new-tier", "Coder B"], "tier 'Coder B': document {doc} already has a tier"),
        (["stats", "x1"], "'x1' is not a document id"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    db: list[str], doc: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "stale.json").write_text('{"a1/a9": {"take": "a"}}', encoding="utf-8")
    args = [a.format(doc=doc, tmp=tmp_path) for a in argv]
    try:
        code = main([*db, *args])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("frontdoor: error: "), err
    assert message.format(doc=doc) in err
    assert "Traceback" not in err
