"""Importing CSV extracts on SQLite and PostgreSQL: 2,000 rows, re-imports, bad rows named one per line with
the store unchanged, identifier columns refused, encodings and mappings, and the command line."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import annotation.records.importer as record_import
from annotation.errors import IdentifierColumn, RecordImportError
from annotation.records.columns import ColumnMapping, identifier_columns
from annotation.records.importer import import_records
from annotation.records.models import ReferralRecord
from annotation.records.referrals import list_records
from annotation.records.sample import extract_rows, generate_sample, write_extract_csv
from annotation.store.engine import Store

HEADER = ["Referral ID", "Contact Date/Time", "Referral Source", "Primary Concern", "Decision", "Worker Notes"]


def _count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(ReferralRecord)) or 0)


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_two_thousand_rows_then_a_reimport_that_stores_nothing(store: Store, tmp_path: Path) -> None:
    sample = generate_sample(2000)
    path = write_extract_csv(sample, tmp_path / "extract.csv")
    t0 = time.perf_counter()
    first = import_records(store, path, "Study")
    elapsed = time.perf_counter() - t0
    print(f"\nimport of 2,000 rows on {store.dialect}: {elapsed:.2f} s")
    assert (first.rows, first.imported, first.already_stored, first.problems) == (2000, 2000, 0, ())
    assert elapsed < 20
    again = import_records(store, path, "Study")
    assert (again.imported, again.already_stored) == (0, 2000)
    assert _count(store) == 2000
    stored = list_records(store, "Study")
    by_time = sorted(sample, key=lambda r: r.values["received_at"])
    assert [r.received_at for r in stored] == [r.values["received_at"] for r in by_time]
    assert sorted((r.referrer_type, r.concern, r.decision_minutes or -1) for r in stored) == sorted(
        (r.values["referrer_type"], r.values["concern"], r.values["decision_minutes"] or -1) for r in sample
    )


def test_bad_rows_are_named_one_per_line_and_nothing_is_stored(store: Store, tmp_path: Path) -> None:
    import_records(store, write_extract_csv(generate_sample(50, seed=1), tmp_path / "earlier.csv"), "Study")
    before = _count(store)
    rows = [
        ["R1", "01/02/2026 10:00", "school", "neglect", "early help", ""],
        ["R2", "31/02/2026 10:00", "teacher", "neglect", "", ""],  # line 3: two bad columns, one line
        ["R3", "01/02/2026 10:00", "police", "", "NFA", ""],  # line 4
        ["R4", "01/02/2026 10:05", "GP", "neglect", "maybe", ""],  # line 5
        ["R1", "02/02/2026 09:00", "GP", "neglect", "", ""],  # line 6: the same reference as line 2
        ["", "02/02/2026 09:00", "GP", "neglect", "", ""],  # line 7
        ["R7", "02/02/2026 09:00", "GP"],  # line 8: too few fields
    ]
    path = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(RecordImportError) as e:
        import_records(store, path, "Study")
    assert e.value.problems == (
        "bad.csv:3: column 'Contact Date/Time': '31/02/2026 10:00' is not a date (use 31/01/2026 14:05 or "
        "2026-01-31T14:05); column 'Referral Source': 'teacher' is not a referrer type (one of: school, health "
        "visitor, GP, hospital, police, probation, housing, voluntary sector, family member, member of public, "
        "anonymous, self)",
        "bad.csv:4: column 'Primary Concern': empty (required)",
        "bad.csv:5: column 'Decision': 'maybe' is not a response (one of: no further action, signposting or advice, "
        "early help, initial assessment, strategy discussion / section 47, referral to another agency)",
        "bad.csv:6: column 'Referral ID': the same reference as row 2",
        "bad.csv:7: column 'Referral ID': empty (every referral needs its reference)",
        "bad.csv:8: has 3 fields, the header has 6",
    )
    assert "6 bad rows of 7; nothing imported" in e.value.message
    assert _count(store) == before

    result = import_records(store, path, "Study", skip_bad=True)
    assert (result.imported, result.skipped_bad, len(result.problems)) == (1, 6, 6)
    assert _count(store) == before + 1


def test_a_failure_half_way_stores_nothing(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_extract_csv(generate_sample(1200, seed=3), tmp_path / "extract.csv")
    real = record_import.insert
    calls = {"n": 0}

    def failing(model: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RecordImportError("simulated failure after the first chunk")
        return real(model)  # type: ignore[arg-type]

    monkeypatch.setattr(record_import, "insert", failing)
    with pytest.raises(RecordImportError, match="simulated"):
        import_records(store, path, "Study")
    assert _count(store) == 0


@pytest.mark.parametrize(
    "column",
    [
        "Surname",
        "Child's Name",
        "First name",
        "Name",
        "DOB",
        "Date of Birth",
        "Address Line 1",
        "Postcode",
        "NHS Number",
        "UPN",
        "Mobile",
        "Email",
        "Person ID",
        "Case Number",
        # plurals and other spellings (were let through: only "name" itself, or a listed prefix, matched)
        "Names",
        "Child Names",
        "Parent names",
        "Birthday",
        "Postal Code",
    ],
)
def test_identifier_columns_refuse_the_whole_file(store: Store, tmp_path: Path, column: str) -> None:
    rows = [["R1", "01/02/2026 10:00", "school", "neglect", "", "", "x"]]
    path = _write(tmp_path / "extract.csv", rows, [*HEADER, column])
    with pytest.raises(IdentifierColumn) as e:
        import_records(store, path, "Study", skip_bad=True)
    assert repr(column) in e.value.message and "\n" not in e.value.message
    assert _count(store) == 0


def test_ordinary_columns_are_not_taken_for_identifiers() -> None:
    ok = [
        "Referral ID",
        "Team name",
        "Team names",
        "Referrer type",
        "Age band",
        "Period",
        "Decision",
        "Outcome",
        "Worker Notes",
    ]
    assert identifier_columns(ok) == []


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-8"])
def test_encodings_and_delimiters(store: Store, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "extract.csv"
    with path.open("w", encoding=encoding, newline="") as f:
        f.write("Referral ID;Contact Date/Time;Referral Source;Primary Concern;Worker Notes\r\n")
        f.write("R1;01/02/2026 10:00;school;neglect;Référée par l'école — suivi demandé\r\n")
    result = import_records(store, path, "Study")
    assert result.encoding == encoding and result.imported == 1
    assert list_records(store, "Study")[0].notes == "Référée par l'école — suivi demandé"


def test_utf16_with_a_byte_order_mark_is_read_and_without_one_refused(store: Store, tmp_path: Path) -> None:
    # a spreadsheet's "Unicode text": UTF-16 with a byte-order mark, tab-delimited; read as Windows-1252 it
    # gave garbled header names (so an identifier column went unnoticed) and a puzzling "no column" message
    text = "Referral ID\tContact Date/Time\tReferral Source\tPrimary Concern\tChild Names\r\nR1\t01/02/2026 10:00\t"
    text += "school\tneglect\tx\r\n"
    path = tmp_path / "extract.txt"
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(IdentifierColumn, match="'Child Names'"):
        import_records(store, path, "Study")
    path.write_bytes(text.replace("\tChild Names", "\tWorker Notes").encode("utf-16"))
    result = import_records(store, path, "Study")
    assert (result.encoding, result.imported) == ("utf-16", 1)
    path.write_bytes(text.encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(RecordImportError, match="byte 2 is a zero byte") as e:
        import_records(store, path, "Study")
    assert "\n" not in e.value.message
    assert _count(store) == 1


def test_a_month_first_extract_is_refused_whole_even_with_skip_bad(store: Store, tmp_path: Path) -> None:
    # a US-style extract: 03/02/2026 is 2 March there, and was stored as 3 February (period and all) with
    # --skip-bad, the rows that could only be month first (03/15/2026) being the only ones named
    rows = [
        ["R1", "03/02/2026 10:00", "school", "neglect", "", ""],
        ["R2", "03/15/2026 10:00", "school", "neglect", "", ""],
        ["R3", "04/01/2026 09:00", "police", "neglect", "", ""],
    ]
    path = _write(tmp_path / "extract.csv", rows)
    for skip_bad in (False, True):
        with pytest.raises(
            RecordImportError, match=r"extract.csv:3: column 'Contact Date/Time': '03/15/2026 10:00'"
        ) as e:
            import_records(store, path, "Study", skip_bad=skip_bad)
        assert "month first" in e.value.message and "\n" not in e.value.message
    assert _count(store) == 0
    mapping = tmp_path / "us.json"
    mapping.write_text('{"date_format": "%m/%d/%Y %H:%M"}', encoding="utf-8")
    import_records(store, path, "Study", mapping=ColumnMapping.from_file(mapping))
    assert [(r.received_at.month, r.received_at.day, r.period) for r in list_records(store, "Study")] == [
        (3, 2, "2026-Q1"),
        (3, 15, "2026-Q1"),
        (4, 1, "2026-Q2"),
    ]
    # day-first extracts are read as before, 13 and over in the first place
    ok = _write(tmp_path / "uk.csv", [["U1", "15/03/2026 10:00", "school", "neglect", "", ""]])
    assert import_records(store, ok, "Study").imported == 1


def test_unreadable_bytes_are_one_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(b"Referral ID,Contact Date/Time,Referral Source,Primary Concern\nR1,x,\x81\x8d,y\n")
    with pytest.raises(RecordImportError, match="neither UTF-8 nor Windows-1252"):
        import_records(store, path, "Study")


@pytest.mark.parametrize("kind", ["json", "toml", "options"])
def test_mappings_values_and_date_formats(store: Store, tmp_path: Path, kind: str) -> None:
    header = ["Ref", "When", "Agency", "Why", "Result", "Hrs", "IA?", "Batch"]
    rows = [["Q-1", "2026.02.01 10:00", "Education", "DV", "s47", "2,5", "Y", "7"]]
    path = _write(tmp_path / "extract.csv", rows, header)
    columns = {
        "Ref": "reference",
        "When": "received_at",
        "Agency": "referrer_type",
        "Why": "concern",
        "Result": "response",
        "Hrs": "hours_to_decision",
        "IA?": "initial_assessment",
    }
    if kind == "json":
        import json

        mp = tmp_path / "map.json"
        mp.write_text(
            json.dumps(
                {"columns": columns, "values": {"concern": {"DV": "domestic abuse"}}, "date_format": "%Y.%m.%d %H:%M"}
            )
        )
        mapping = ColumnMapping.from_file(mp)
    elif kind == "toml":
        mp = tmp_path / "map.toml"
        lines = ["date_format = '%Y.%m.%d %H:%M'", "[columns]"] + [f"'{k}' = '{v}'" for k, v in columns.items()]
        lines += ["[values.concern]", "DV = 'domestic abuse'"]
        mp.write_text("\n".join(lines) + "\n")
        mapping = ColumnMapping.from_file(mp)
    else:
        mapping = ColumnMapping.from_options(f"{k}={v}" for k, v in columns.items()).merged(
            ColumnMapping(values={"concern": {"dv": "domestic abuse"}}, date_format="%Y.%m.%d %H:%M")
        )
    result = import_records(store, path, "Study", mapping=mapping, period="pilot")
    assert result.imported == 1 and result.ignored_columns == ("Batch",)
    [r] = list_records(store, "Study")
    assert (r.referrer_type, r.concern, r.response, r.decision_minutes, r.initial_assessment, r.period) == (
        "school",
        "domestic abuse",
        "strategy discussion / section 47",
        150,
        True,
        "pilot",
    )


def test_a_missing_reference_column_is_refused(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", [["01/02/2026 10:00", "school", "neglect"]], HEADER[1:4])
    with pytest.raises(RecordImportError, match="no column for 'reference'"):
        import_records(store, path, "Study")


def test_flagged_notes_can_be_dropped_or_refused(store: Store, tmp_path: Path) -> None:
    rows = [["R1", "01/02/2026 10:00", "school", "neglect", "", "Mrs Patel rang from 07700 900123"]]
    path = _write(tmp_path / "x.csv", rows)
    with pytest.raises(RecordImportError) as e:
        import_records(store, path, "Study", flagged_notes="refuse")
    assert e.value.problems == (
        "x.csv:2: column 'Worker Notes': characters 1-9 look like a person's name; column 'Worker Notes': "
        "characters 21-32 look like a phone number",
    )
    result = import_records(store, path, "Study", flagged_notes="drop")
    assert result.warnings == (
        "x.csv:2: column 'Worker Notes': characters 1-9 look like a person's name; characters 21-32 look like a "
        "phone number (notes not imported)",
    )
    assert list_records(store, "Study")[0].notes is None


def test_cli_prints_each_bad_row_on_its_own_line(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli.main import main

    good = extract_rows(generate_sample(5, seed=9))
    path = tmp_path / "extract.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(good[0]))
        w.writeheader()
        w.writerows(good)
        w.writerow({**good[0], "Referral ID": "B1", "Referral Source": "teacher"})
        w.writerow({**good[0], "Referral ID": "B2", "Decision": "later"})
    assert main(["--db", db_url, "records", "import", str(path), "--project", "Study"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": column")[0] for line in err[:2]] == ["extract.csv:7", "extract.csv:8"]
    assert err[2] == (
        "frontdoor: error: extract.csv: 2 bad rows of 7; nothing imported (fix them, or --skip-bad to import the "
        "5 good rows)"
    )
    assert len(err) == 3
    assert main(["--db", db_url, "records", "list", "--project", "Study"]) == 2  # the project was never made
    assert main(["--db", db_url, "records", "import", str(path), "--project", "Study", "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "imported 5 of 7 rows" in out
