"""``frontdoor identifiers``: terms come from a file, a pipe or a prompt (never the command line); only the
researcher's list and review commands print them; every other line and every error names numbers."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from annotation.services import ensure_project
from annotation.store.engine import open_store, sqlite_url
from app.cli.main import main
from tests.fixtures.transcripts import transcript_document, transcript_scheme

PROJECT = "Duty room study"
TERMS = ["Kayden | Kaydan", "name: Wójcik", "case number: CN-2024-00123"]
SECRETS = ("Kayden", "Kaydan", "Wójcik", "Wojcik", "CN-2024-00123")


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, int]:
    url = sqlite_url(tmp_path / "store.sqlite")
    store = open_store(url)
    try:
        pid = ensure_project(store, PROJECT)
        doc = transcript_document(
            store,
            transcript_scheme(tmp_path),
            [(1000, 3000, "mum says kayden's school rang"), (4000, 30_000, "the Wojcik file, cn-2024-00123")],
            project_id=pid,
        )
        transcript_document(store, transcript_scheme(tmp_path), [(1000, 2000, "Kayden")], name="no project")
    finally:
        store.close()
    return url, doc


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def clean(text: str) -> bool:
    return not any(s.lower() in text.lower() for s in SECRETS)


def test_the_researchers_round(
    db: tuple[str, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url, doc = db
    terms = tmp_path / "terms.txt"
    terms.write_text("# the family\n" + "\n".join(TERMS[:2]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "--db", url, "identifiers", "watch", "add", "--project", PROJECT, "--file", str(terms))
    assert code == 0 and err == "" and "2 terms added" in out and clean(out)
    monkeypatch.setattr("sys.stdin", io.StringIO(TERMS[2] + "\nKAYDEN | Caden\n"))  # a pipe
    code, out, err = run(capsys, "--db", url, "identifiers", "watch", "add", "--project", PROJECT)
    assert code == 0 and "1 term added, 1 already listed" in out and clean(out + err)

    code, out, _ = run(capsys, "--db", url, "identifiers", "watch", "list", "--project", PROJECT)
    assert code == 0  # the one command that shows the terms
    assert re.search(r"name\s+family name\s+Kayden \| Kaydan \| Caden", out)
    assert re.search(r"case number\s+case number\s+CN-2024-00123", out)

    code, out, err = run(capsys, "--db", url, "identifiers", "scan", str(doc))
    assert code == 0 and err == "" and clean(out)
    assert "3 new proposals; 3 waiting for review" in out and "(Notes, Transcript, Translation)" in out

    code, out, _ = run(capsys, "--db", url, "identifiers", "proposals", str(doc))
    assert code == 0
    assert "[[kayden]]'s school" in out and "[[Wojcik]]" in out and "[[cn-2024-00123]]" in out
    assert "long: narrow it with --start/--end" in out
    ids = [int(m) for m in re.findall(r"^\s+(\d+)\s+pending", out, re.M)]
    assert len(ids) == 3
    code, out, _ = run(capsys, "--db", url, "identifiers", "proposals", str(doc), "--no-context")
    assert code == 0 and clean(out)

    code, out, err = run(capsys, "--db", url, "identifiers", "confirm", str(ids[0]))
    assert code == 0 and err == "" and clean(out)
    assert "on 'Sensitive identifier'" in out and "0:01.000-0:03.000 (family name)" in out
    code, out, err = run(
        capsys, "--db", url, "identifiers", "confirm", str(ids[1]), "--start", "0:05.000", "--end", "5.8s"
    )
    assert code == 0 and "0:05.000-0:05.800" in out and clean(out + err)
    code, out, err = run(capsys, "--db", url, "identifiers", "reject", str(ids[2]))
    assert code == 0 and "rejected" in out and clean(out + err)
    code, out, _ = run(capsys, "--db", url, "identifiers", "proposals", str(doc))
    assert "no pending proposals" in out
    code, out, _ = run(capsys, "--db", url, "identifiers", "proposals", str(doc), "--all", "--no-context")
    assert out.count("confirmed") == 2 and out.count("rejected") == 1 and clean(out)

    code, out, err = run(capsys, "--db", url, "identifiers", "scan", str(doc))
    assert "0 new proposals; 0 waiting for review; 1 kept rejected; 2 confirmed before" in out

    listed = run(capsys, "--db", url, "identifiers", "watch", "list", "--project", PROJECT)[1]
    first = int(listed.splitlines()[1].split()[0])
    code, out, err = run(capsys, "--db", url, "identifiers", "watch", "remove", "--project", PROJECT, str(first))
    assert code == 0 and "1 term removed" in out and clean(out + err)
    assert clean(caplog.text)


def test_errors_are_one_line_without_the_terms(db: tuple[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    url, doc = db
    (Path(url.removeprefix("sqlite:///")).parent / "t.txt").write_text("\n".join(TERMS), encoding="utf-8")
    f = str(Path(url.removeprefix("sqlite:///")).parent / "t.txt")
    assert run(capsys, "--db", url, "identifiers", "watch", "add", "--project", PROJECT, "--file", f)[0] == 0
    run(capsys, "--db", url, "identifiers", "scan", str(doc))
    out = run(capsys, "--db", url, "identifiers", "proposals", str(doc), "--no-context")[1]
    first = re.findall(r"^\s+(\d+)\s+pending", out, re.M)[0]
    bad = [
        (["watch", "add", "--project", "Nope", "--file", f], "project 'Nope': no such project"),
        (["watch", "add", "--project", PROJECT, "--label", "Kayden", "--file", f], "line 1: the label must say"),
        (["watch", "add", "--project", PROJECT, "--file", f + ".missing"], "cannot read it"),
        (["watch", "remove", "--project", PROJECT, "999"], "watch term 999: not on the watch list"),
        (["confirm", first, "--value", "Kayden's name"], f"identifier proposal {first}: the value must say"),
        (["confirm", first, "--value", "nickname"], "is not in the 'Sensitive identifier' vocabulary"),
        (["confirm", first, "--start", "0:50", "--end", "0:51"], "does not overlap the annotation"),
        (["confirm", first, first, "--start", "1s"], "--start and --end adjust one proposal at a time"),
        (["confirm", "999"], "identifier proposal 999: not found"),
        (["reject", "999"], "identifier proposal 999: not found"),
        (["scan", str(doc), "--tier", "Sensitive identifier"], "holds what a scan proposes"),
        (["scan", "999"], "document 999"),
    ]
    for argv, message in bad:
        code, out, err = run(capsys, "--db", url, "identifiers", *argv)
        assert code == 2, argv
        assert err.startswith("frontdoor: error: ") and err.count("\n") == 1 and message in err, (argv, err)
        assert clean(out + err), argv


def test_warnings_when_there_is_no_watch_list(
    db: tuple[str, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, doc = db
    code, _out, err = run(capsys, "--db", url, "identifiers", "scan", str(doc))
    assert code == 0 and "has an empty watch list: only the identifier patterns" in err
    code, _out, err = run(capsys, "--db", url, "identifiers", "scan", str(doc + 1))
    assert code == 0 and "belongs to no project, so no watch list was searched" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n# nothing\n"))
    code, _out, err = run(capsys, "--db", url, "identifiers", "watch", "add", "--project", PROJECT)
    assert code == 2 and "no terms given" in err


def test_terms_typed_at_a_prompt(
    db: tuple[str, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = db

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    typed = iter(["Kayden", "place: Acacia Road", ""])
    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or next(typed))
    code, out, err = run(capsys, "--db", url, "identifiers", "watch", "add", "--project", PROJECT)
    assert code == 0 and "2 terms added" in out and len(prompts) == 3
    assert "not your shell history" in err and clean(out + err)
