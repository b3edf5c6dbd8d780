"""The review station from the command line: the passphrase set by prompt or from a file descriptor (never
an argument), and 'frontdoor review' refusing what it must refuse, in one line."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from app.cli.main import main
from consent.participants import add_participant
from consent.retention.withdrawal import withdraw
from consent.station import passphrase
from tests.consent.conftest import PROJECT, World

SECRET = "a long enough passphrase"
NEWER = "an even longer passphrase"


def _fd(text: str) -> int:
    """A pipe's read end with ``text`` waiting in it, as a script would pass it."""
    r, w = os.pipe()
    os.write(w, text.encode("utf-8"))
    os.close(w)
    return r


@pytest.fixture
def run(world: World, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    url = world.store.engine.url.render_as_string(hide_password=False)

    def go(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        assert main(["--db", url, *args]) == code
        out, err = capsys.readouterr()
        for secret in (SECRET, NEWER):
            assert secret not in out and secret not in err
        return out if code == 0 else err

    return go


def test_set_and_change_from_a_file_descriptor(
    world: World, run: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = run("consent", "passphrase", "set", "--project", PROJECT, "--passphrase-fd", str(_fd(SECRET + "\n")))
    assert out == f"project {PROJECT!r}: review-station passphrase set\n"
    assert passphrase.verify_passphrase(world.store, PROJECT, SECRET)
    err = run("consent", "passphrase", "set", "--project", PROJECT, "--passphrase-fd", str(_fd(NEWER)), code=2)
    hint = "a passphrase is set; give the current one with --old-passphrase-fd N"
    assert err == f"frontdoor: error: project {PROJECT!r}: {hint}\n"
    err = run(
        "consent", "passphrase", "set", "--project", PROJECT,
        "--passphrase-fd", str(_fd(NEWER)), "--old-passphrase-fd", str(_fd("wrong guess!\n")), code=2,
    )  # fmt: skip
    assert "the current passphrase given is not right; nothing changed" in err and err.count("\n") == 1
    run(
        "consent", "passphrase", "set", "--project", PROJECT,
        "--passphrase-fd", str(_fd(NEWER + "\r\n")), "--old-passphrase-fd", str(_fd(SECRET + "\n")),
    )  # fmt: skip
    assert passphrase.verify_passphrase(world.store, PROJECT, NEWER)
    err = run(
        "consent", "passphrase", "set", "--project", PROJECT, "--passphrase-fd", "987", "--old-passphrase-fd", "986",
        code=2,
    )  # fmt: skip
    assert err.startswith("frontdoor: error: --old-passphrase-fd 986: cannot read it")
    # never on the command line, not even by abbreviation
    with pytest.raises(SystemExit) as stop:
        main(["consent", "passphrase", "set", "--project", PROJECT, "--passphrase", "xyz"])
    assert stop.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_set_by_prompt_twice(world: World, run: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    answers[:] = [SECRET, SECRET + "x"]
    assert "the two entries differ; nothing changed" in run(
        "consent", "passphrase", "set", "--project", PROJECT, code=2
    )
    assert not passphrase.has_passphrase(world.store, PROJECT)
    answers[:] = ["short", "short"]
    assert "shorter than 8 characters" in run("consent", "passphrase", "set", "--project", PROJECT, code=2)
    answers[:] = [SECRET, SECRET]
    assert "passphrase set" in run("consent", "passphrase", "set", "--project", PROJECT)
    answers[:] = [SECRET, NEWER, NEWER]  # the current one first
    assert "passphrase changed" in run("consent", "passphrase", "set", "--project", PROJECT)
    assert passphrase.verify_passphrase(world.store, PROJECT, NEWER)
    assert "project 'Nowhere': not found" in run("consent", "passphrase", "set", "--project", "Nowhere", code=2)


def test_review_refuses_without_a_passphrase_and_for_the_withdrawn(world: World, run: Callable[..., str]) -> None:
    add_participant(world.store, PROJECT, "Duty worker A")
    add_participant(world.store, PROJECT, "Manager B")
    err = run("review", "--project", PROJECT, "--participant", "Duty worker A", code=2)
    assert err == (
        f"frontdoor: error: project {PROJECT!r}: no review-station passphrase is set; the researcher sets one "
        f"with 'frontdoor consent passphrase set --project \"{PROJECT}\"'\n"
    )
    withdraw(world.store, "Manager B")
    assert "'Manager B': withdrew on" in run("review", "--project", PROJECT, "--participant", "Manager B", code=2)
    assert "not found" in run("review", "--project", PROJECT, "--participant", "Nobody", code=2)
    assert "not found" in run("review", "--project", "Nowhere", "--participant", "Duty worker A", code=2)
