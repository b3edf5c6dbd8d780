"""The consent commands a researcher uses around the gate: participants from a tier, clips from
annotations, forms, edits to participants."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from tests.consent.conftest import World


def test_from_tier_annotation_clips_and_forms(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = world.store.engine.url.render_as_string(hide_password=False)

    def run(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        assert main(["--db", url, *args]) == code
        out, err = capsys.readouterr()
        return out if code == 0 else err

    for who in ("Duty worker A", "Manager B"):
        run("participant", "add", who, "--project", "Duty room study")
    doc = run(
        "new-document", "--name", "call coding", "--recording", str(world.recording_id),
        "--participant", "Duty worker A", "--participant", "Manager B",
    ).strip().splitlines()[-1]  # fmt: skip
    run("annotate", "add", doc, "Participants: Duty worker A", "0s", "12s", "Duty worker A")
    run("annotate", "add", doc, "Participants: Manager B", "3s", "5s", "Manager B")  # both present: two tiers
    run("annotate", "add", doc, "Call phase", "2s", "4.5s", "reason for call")
    run("annotate", "add", doc, "Sensitive identifier", "3.2s", "3.6s", "child name")
    assert "2 appearances taken" in run("participant", "from-tier", doc)
    ann = run("show", doc, "--annotations")
    call = next(line.split()[0] for line in ann.splitlines() if "reason for call" in line)
    out = run("clip", "create", str(world.recording_id), "--annotation", f"{doc}:{call}", "--redact-sensitive", doc)
    assert "present: Duty worker A, Manager B" in out
    shown = run("clip", "show", "1")
    assert "2-4.5 s" in shown and "1 audio" in shown  # the coded name is bleeped in every version
    form = tmp_path / "form for B.pdf"
    assert f"wrote {form}" in run("consent", "form", "Manager B", str(form))
    assert form.read_bytes()[:5] == b"%PDF-"
    assert run("consent", "form", "Manager B", str(tmp_path / "form.doc"), code=2).endswith(
        "use an .html or .pdf name\n"
    )

    run("annotate", "add", doc, "Participants", "6s", "7s", "Somebody Else")
    err = run("participant", "from-tier", doc, code=2)
    assert err == (
        f"frontdoor: error: document {doc}: tier 'Participants' names 'Somebody Else', who is not a participant "
        "(add them first)\n"
    )

    run("participant", "edit", "Manager B", "--role", "team manager")
    assert "team manager" in run("participant", "list")
    assert "does not keep real names" in run("participant", "edit", "Manager B", "--real-name", "Bea", code=2)
    run("participant", "policy", "--project", "Duty room study", "--keep-real-names", "yes")
    run("participant", "edit", "Manager B", "--real-name", "Bea")
