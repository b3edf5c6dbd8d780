"""Errors a user can cause: exit status 2, exactly one line on stderr naming the file or thing, store unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotation.services import documents
from annotation.store.engine import open_store
from app.cli.main import main

GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2026-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
    <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
    <TIME_ORDER>
        <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>
        <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="1000"/>
    </TIME_ORDER>
    <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Call phase">
        <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
            <ANNOTATION_VALUE>opening</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
        <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
            <ANNOTATION_VALUE>closing</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    </TIER>
    <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""

BAD: dict[str, tuple[bytes, str]] = {
    "not-xml": (b"this is not an ELAN file\n", "not an XML"),
    "truncated": (GOOD.encode()[: len(GOOD) // 2], "truncated"),
    "wrong-root": (b'<?xml version="1.0"?><CV_RESOURCE VERSION="0.2"/>', "root element is <CV_RESOURCE>"),
    "dangling-slot": (
        GOOD.replace(
            'TIME_SLOT_REF2="ts2">\n            <ANNOTATION_VALUE>closing',
            'TIME_SLOT_REF2="ts9">\n            <ANNOTATION_VALUE>closing',
        ).encode(),
        "time slot 'ts9', which does not exist",
    ),
    "dangling-parent": (
        GOOD.replace('TIER_ID="Call phase"', 'TIER_ID="Call phase" PARENT_REF="Nope"').encode(),
        "PARENT_REF 'Nope', which is no tier",
    ),
    "duplicate-id": (  # a repeated annotation id is repaired (tests/app/test_cli_repairs.py); a tier id is not
        GOOD.replace("</TIER>", '</TIER>\n    <TIER LINGUISTIC_TYPE_REF="default" TIER_ID="Call phase"/>').encode(),
        "tier id 'Call phase' occurs twice",
    ),
    "bad-encoding": (GOOD.replace("opening", "op\u00e9ning").encode("latin-1"), "encoding"),
    "empty": (b"", "file is empty"),
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> str:
    """A store that already holds one good document."""
    good = tmp_path / "good.eaf"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["--db", db_url, "import-eaf", str(good)]) == 0
    return db_url


def _count(db_url: str) -> int:
    store = open_store(db_url)
    try:
        return len(documents(store))
    finally:
        store.close()


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("frontdoor: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_eaf_is_refused_in_one_line_and_stores_nothing(
    case: str, seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    data, expected = BAD[case]
    path = tmp_path / f"odd name -- {case} ü.eaf"
    path.write_bytes(data)
    code, _, err = run(["--db", seeded, "import-eaf", str(path)], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert str(path) in line
    assert expected.lower() in line.lower(), line
    assert _count(seeded) == 1


def test_missing_file(seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, _, err = run(["--db", seeded, "import-eaf", str(tmp_path / "nope.eaf")], capsys)
    assert code == 2
    assert "nope.eaf: no such file" in _one_error_line(err)
    assert _count(seeded) == 1


def test_unknown_document(seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, _, err = run(["--db", seeded, "export-eaf", "999", str(tmp_path / "x.eaf")], capsys)
    assert code == 2
    assert "document 999: no such document" in _one_error_line(err)
    assert not (tmp_path / "x.eaf").exists()


def test_database_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--db", "postgresql+psycopg://nobody:pw@127.0.0.1:1/none", "documents"], capsys)
    assert code == 2
    assert "127.0.0.1:1/none" in _one_error_line(err)
    code, _, err = run(["--db", f"sqlite:///{tmp_path}/no/such/folder/x.sqlite", "documents"], capsys)
    assert code == 2
    assert "does not exist" in _one_error_line(err)


def test_unwritable_output_keeps_nothing_partial(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, _, err = run(["--db", seeded, "export-eaf", "1", str(tmp_path / "missing dir" / "x.eaf")], capsys)
    assert code == 2
    assert "does not exist" in _one_error_line(err)


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export-eaf", "abc", "out.eaf"])
    assert exc.value.code == 2
    _one_error_line(capsys.readouterr().err)


def test_console_script_reports_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "-leading dash.eaf"
    bad.write_bytes(b"<ANNOTATION_DOCUMENT><HEADER/>")
    db = f"sqlite:///{tmp_path}/s.sqlite"
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "--db", db, "import-eaf", "--", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "truncated" in proc.stderr


def test_a_reader_that_goes_away_is_not_an_internal_error(tmp_path: Path) -> None:
    """`frontdoor search … | head -1`: the pipe closes early; no traceback, no 'internal error'."""
    from annotation.edits.commands import CreateAnnotation
    from annotation.services import apply_edit, new_document
    from annotation.store.engine import sqlite_url

    db = sqlite_url(tmp_path / "s.sqlite")
    store = open_store(db)
    doc = new_document(store, "referral", name="long")
    for i in range(400):
        apply_edit(store, CreateAnnotation(doc, "Call phase", i * 10, i * 10 + 5, "x" * 300))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from app.cli.main import main; sys.exit(main())",
            "--db",
            db,
            "search",
            "x",
            "--limit",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert err == ""
