"""The whole flow on real files, through the command line, on SQLite and PostgreSQL: three participants,
five clips, mixed decisions, an edit after consent, a withdrawal. Exactly the usable clips are exported per
scope, the manifest and the audit agree, and the audit fails once a row is changed behind Frontdoor."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from sqlalchemy import text

from app.cli.main import main
from media_tools.files import sha256_file
from tests.consent.conftest import PROJECT, World


class Cli:
    def __init__(self, world: World, capsys: pytest.CaptureFixture[str]) -> None:
        self.url = world.store.engine.url.render_as_string(hide_password=False)
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> str:
        self.capsys.readouterr()
        got = main(["--db", self.url, *args])
        out, err = self.capsys.readouterr()
        assert got == code, out + err
        return out if code == 0 else err


def current(run: Cli, clip: int) -> str:
    """The short hash of a clip's current version, as 'clip show' prints it (what the person saw)."""
    line = next(ln for ln in run("clip", "show", str(clip)).splitlines() if "(current)" in ln)
    return line.split()[2]


def exported(report: str) -> set[int]:
    return {int(line.split()[2]) for line in report.splitlines() if line.startswith("exported clip ")}


def test_three_people_five_clips(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = Cli(world, capsys)
    rec = str(world.recording_id)
    for who, role in (
        ("Duty worker A", "social worker"),
        ("Manager B", "team manager"),
        ("Admin C", "business support"),
    ):
        run("participant", "add", who, "--project", PROJECT, "--role", role)
    run("participant", "appear", "Duty worker A", rec, "0s", "12s")
    run("participant", "appear", "Manager B", rec, "2s", "6s")
    run("participant", "appear", "Admin C", rec, "7s", "11s")
    spans = [("1s", "2s"), ("2.5s", "4s"), ("5s", "6.5s"), ("7.5s", "9s"), ("9.5s", "11s")]
    for i, (a, b) in enumerate(spans, 1):
        out = run("clip", "create", rec, "--start", a, "--end", b, "--name", f"call {i}")
        assert out.strip().splitlines()[-1] == str(i)
    assert "present: Admin C, Duty worker A" in run("clip", "show", "4")

    def decide(clip: int, who: str, scope: str, decision: str = "granted", *extra: str) -> None:
        version = current(run, clip)
        run("consent", "record", str(clip), who, "--scope", scope, "--decision", decision, "--version", version, *extra)

    decide(1, "Duty worker A", "publication")
    decide(2, "Duty worker A", "external_seminar")
    decide(2, "Manager B", "internal_training")
    decide(3, "Duty worker A", "internal_training")
    decide(3, "Manager B", "research_team", "withheld")
    decide(4, "Duty worker A", "external_seminar")
    decide(4, "Admin C", "external_seminar")
    decide(5, "Duty worker A", "internal_training")
    decide(5, "Admin C", "publication", "granted", "--condition", "not-after:2027-12-31")
    # clip 4 is edited after everyone consented: the new version needs consent again
    assert "version 2" in run("clip", "edit", "4", "--end", "9.2s", "--reason", "tighter cut")
    status = run("consent", "status", "--scope", "internal_training")
    assert "-> clip 1             USABLE" in status and "-> clip 4             not usable" in status
    assert "-> clip 5             USABLE if conds" in status

    out1 = tmp_path / "training"
    out1.mkdir()
    report = run(
        "export-clips", "--scope", "internal_training", str(out1), "--audience", "Team day", "--expires", "2027-06-30"
    )
    assert exported(report) == {1, 2, 5}
    assert "skipped clip 3 v1: Manager B withheld research_team" in report
    assert "skipped clip 4 v2: Admin C has not decided (internal_training); Duty worker A has not decided" in report
    (manifest_file,) = out1.glob("manifest-*.json")
    manifest = json.loads(manifest_file.read_text())
    assert [c["clip"] for c in manifest["clips"]] == [1, 2, 5]
    for c in manifest["clips"]:
        f = out1 / c["output"]
        assert sha256_file(f) == c["output_sha256"]
        with av.open(str(f)) as container:
            assert container.streams.video[0].frames > 0
        assert all(p["decisions"] for p in c["participants"])
    assert {c["clip"]: sorted(p["pseudonym"] for p in c["participants"]) for c in manifest["clips"]} == {
        1: ["Duty worker A"],
        2: ["Duty worker A", "Manager B"],
        5: ["Admin C", "Duty worker A"],
    }

    for scope, want in (("research_team", {1, 2}), ("external_seminar", {1}), ("publication", {1})):
        folder = tmp_path / scope
        folder.mkdir()
        assert exported(run("export-clips", "--scope", scope, str(folder))) == want, scope

    # Admin C withdraws: clip 5's exported file must be destroyed, and it is never exported again
    out = run("consent", "withdraw", "Admin C", "--reason", "left the team")
    clip5 = out1 / next(c["output"] for c in manifest["clips"] if c["clip"] == 5)
    assert f"{clip5.resolve()} (clip 5" in out
    item = out.split("item ")[1].split(":")[0]
    err = run("consent", "destroy", item, code=2)
    assert err == f"frontdoor: error: {clip5.resolve()}: still exists; delete it (or pass --delete) before confirming\n"
    assert "destroyed" in run("consent", "destroy", item, "--delete")
    assert not clip5.exists()
    assert "no exported files are waiting" in run("consent", "destroy", "--list")
    again = tmp_path / "again"
    again.mkdir()
    assert exported(run("export-clips", "--scope", "internal_training", str(again), "--expires", "2027-01-31")) == {
        1,
        2,
    }

    # the audit holds every step and verifies
    history = run("audit", "show")
    assert history.count(" decision ") == 9 and history.count(" export ") == 3 + 2 + 1 + 1 + 2
    assert " withdrawal " in history and " destruction " in history
    assert "chain intact" in run("audit", "verify")

    # someone turns Manager B's refusal into a grant directly in the database
    with world.store.engine.begin() as conn:
        if world.store.dialect == "postgresql":
            conn.execute(text("ALTER TABLE decision DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER decision_no_update"))
        conn.execute(text("UPDATE decision SET decision = 'granted' WHERE decision = 'withheld'"))
    err = run("audit", "verify", code=3)
    assert err.startswith("frontdoor: audit: decision 5: differs from audit entry ")
    # and the gate refuses to export anything from records that fail their audit
    err = run("export-clips", "--scope", "research_team", str(again), code=2)
    assert "the consent records fail their audit" in err and "nothing exported" in err


def test_bad_input_is_one_line_and_changes_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    run = Cli(world, capsys)
    rec = str(world.recording_id)
    run("participant", "add", "A", "--project", PROJECT)
    run("participant", "appear", "A", rec, "0s", "5s")
    run("clip", "create", rec, "--start", "1s", "--end", "2s")
    v1 = current(run, 1)
    run("clip", "edit", "1", "--end", "2.5s")
    v2 = current(run, 1)
    before = run("audit", "show")
    e = "frontdoor: error: "
    no_scope = e + "scope 'tv': unknown (use one of research_team, internal_training, external_seminar, publication)\n"
    nobody = e + "participant 'Nobody': not found (see 'frontdoor participant list')\n"
    decide = ("consent", "record", "1", "A", "--decision", "granted", "--version", v2)
    cases = [
        (("consent", "record", "1", "Nobody", "--scope", "research_team", "--decision", "granted", "--version", v2),
         nobody),
        (("consent", "record", "9", "A", "--scope", "research_team", "--decision", "granted", "--version", v2),
         e + "clip '9': not found (see 'frontdoor clip list')\n"),
        ((*decide, "--scope", "tv"), no_scope),
        (("consent", "record", "1", "A", "--decision", "granted", "--scope", "research_team", "--version", v1),
         e + "clip 1: version 1 is superseded by version 2; decide on the current version\n"),
        (("consent", "withdraw", "Nobody"), nobody),
        (("export-clips", "--scope", "tv", "."), no_scope),
        (("export-clips", "--scope", "research_team", "/dev/null/out"),
         e + "/dev/null/out: the output folder cannot be made (Not a directory)\n"),
        (("clip", "create", rec, "--start", "11s", "--end", "13s"),
         e + "clip: end: 13 s is past the end of the source (12.000 s)\n"),
        (("consent", "record", "1", "A", "--decision", "granted", "--scope", "research_team"),
         e + "consent record: give --version HASH (the version the person saw: 'frontdoor clip show CLIP') "
         "or --form-ref REF (from the signed form)\n"),
        (("export-clips", "--scope", "research_team", ".", "--recording", "99"),
         e + "recording 99: not found (see 'frontdoor recording add')\n"),
        (("clip", "show", "9" * 20), e + f"clip '{'9' * 20}': not found (see 'frontdoor clip list')\n"),
        (("participant", "add", "42", "--project", PROJECT),
         e + "participant '42': a pseudonym needs a letter (numbers are participant ids)\n"),
    ]  # fmt: skip
    for args, message in cases:
        assert run(*args, code=2) == message, args
    assert run("audit", "show") == before  # nothing was recorded
