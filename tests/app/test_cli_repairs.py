"""``import-eaf`` of a file that needs repairs: one warning line per kind on stderr, then imported; ``--strict``
refuses it as before; ``check-eaf`` lists every repair and refusal without importing."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.elan.compare import compare_eaf
from annotation.elan.repairs import DUPLICATE_ANNOTATION_ID, NEGATIVE_TIME, NO_HEADER
from annotation.services import documents
from annotation.store.engine import open_store, sqlite_url
from app.cli.main import main
from tests.annotation.test_eaf_repairs import SLOTS, make
from tests.fixtures.elan_files import write_overlapping_eaf


def _count(db: str) -> int:
    store = open_store(db)
    try:
        return len(documents(store))
    finally:
        store.close()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """No HEADER, a negative time and a converter's repeated ids, in a name with a space and an umlaut."""
    path = tmp_path / "from another tool ü.eaf"
    text = make(header="", slots={**SLOTS, "ts1": "-4400"}, ids=("a1", "a2", "a1", "a2", "a5", "a6"))
    path.write_text(text, encoding="utf-8")
    return path


def test_import_prints_each_repair_once_and_imports(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_url(tmp_path / "s.sqlite")
    assert main(["--db", db, "import-eaf", str(broken)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[:3] == [
        f"frontdoor: warning: {broken}: {NO_HEADER} (once)",
        f"frontdoor: warning: {broken}: {NEGATIVE_TIME} (once)",
        f"frontdoor: warning: {broken}: {DUPLICATE_ANNOTATION_ID} (2 times)",
    ]
    assert all(line.startswith(f"frontdoor: warning: {broken}: ") for line in err.splitlines())
    assert out.splitlines()[-1] == "1" and _count(db) == 1
    # the stored document is the repaired one: exported, it reads back with only the negative time to report
    exported = tmp_path / "exported.eaf"
    assert main(["--db", db, "export-eaf", "1", str(exported)]) == 0
    capsys.readouterr()
    assert main(["check-eaf", str(exported)]) == 0
    out, err = capsys.readouterr()
    assert err == f"frontdoor: warning: {exported}: {NEGATIVE_TIME} (once)\n"


def test_strict_import_refuses_in_one_line_and_stores_nothing(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_url(tmp_path / "s.sqlite")
    assert main(["--db", db, "import-eaf", "--strict", str(broken)]) == 2
    _, err = capsys.readouterr()
    assert err == f"frontdoor: error: {broken}: no <HEADER> element\n"
    assert _count(db) == 0


def test_check_eaf_lists_repairs_and_refusals_without_importing(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "never made.sqlite"
    monkeypatch.setenv("FRONTDOOR_DB", sqlite_url(db))
    valid = tmp_path / "valid.eaf"
    valid.write_text(make(), encoding="utf-8")
    refused = tmp_path / "refused.eaf"
    refused.write_text(make().replace('ANNOTATION_REF="a2"', 'ANNOTATION_REF="a9"'), encoding="utf-8")

    assert main(["check-eaf", str(valid), str(broken)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{valid}: readable, valid", f"{broken}: readable, 4 kinds of repair"]
    assert len(err.splitlines()) == 4 and all(x.startswith(f"frontdoor: warning: {broken}: ") for x in err.splitlines())

    assert main(["check-eaf", str(refused), str(valid)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{valid}: readable, valid"]
    assert err == f"frontdoor: error: {refused}: annotation 'a4' refers to annotation 'a9', which does not exist\n"
    assert not db.exists()


def test_roundtrip_prints_each_repair_once_as_import_does(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite_url(tmp_path / "s.sqlite")
    assert main(["--db", db, "import-eaf", str(broken)]) == 0
    imported = capsys.readouterr().err.splitlines()
    out_file = tmp_path / "out.eaf"
    assert main(["--db", db, "roundtrip", str(broken), str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[:3] == [
        f"frontdoor: warning: {broken}: {NO_HEADER} (once)",
        f"frontdoor: warning: {broken}: {NEGATIVE_TIME} (once)",
        f"frontdoor: warning: {broken}: {DUPLICATE_ANNOTATION_ID} (2 times)",
    ]
    # one line per kind of repair (4 here), the same lines import-eaf printed for this file
    assert len(err.splitlines()) == 4 and err.splitlines() == imported
    assert out.splitlines()[-1] == "2" and _count(db) == 2
    # what was written is the repaired document: it reads back with only the negative time to report
    assert main(["check-eaf", str(out_file)]) == 0
    assert capsys.readouterr().err == f"frontdoor: warning: {out_file}: {NEGATIVE_TIME} (once)\n"


def test_roundtrip_of_a_valid_file_prints_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    valid = tmp_path / "valid.eaf"
    valid.write_text(make(), encoding="utf-8")
    out_file = tmp_path / "out.eaf"
    assert main(["--db", sqlite_url(tmp_path / "s.sqlite"), "roundtrip", str(valid), str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines()[-1] == "1"
    assert compare_eaf(valid, out_file) == []


def test_import_names_the_file_on_its_overlap_warnings_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_overlapping_eaf(tmp_path / "overlapping ü.eaf")
    assert main(["--db", sqlite_url(tmp_path / "s.sqlite"), "import-eaf", str(path)]) == 0
    assert capsys.readouterr().err == (
        f"frontdoor: warning: {path}: tier 'Speaker': 1 overlapping pair of annotations, first a1 and a2 at "
        "0:03.000; kept as in the file\n"
    )
