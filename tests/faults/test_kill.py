"""kill -9 during an import, a batch of edits, a render and a backup: on restart the store opens and passes
its integrity check, every committed edit is there (the one in flight wholly or not at all), and no file that
looks finished but is not is left in an output folder; what a killed process left hidden is removed by the
next run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotation.backup.catalogue import backup_folder, list_backups
from annotation.backup.checks import check_backup
from annotation.backup.rolling import make_backup
from annotation.services import document_display, documents, import_file, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from annotation.store.tables import AnnotationRow, Document, TierRow, TimeSlotRow
from app.cli.main import main
from media_tools.synth import make_test_recording
from tests.faults.child import TIER, plan_edits, replay
from tests.faults.conftest import BIG, PASS, ROOT, Child, living_processes_with, sqlite_problems
from tests.fixtures.elan_files import SMALL_EAF
from tests.fixtures.secrets import fd_with

BACKENDS = ["sqlite", "sqlcipher", "postgresql"]


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url")), None
    return sqlite_url(tmp_path / "study.sqlite"), PASS if backend == "sqlcipher" else None


def _rows(store: Store) -> dict[str, int]:
    """Rows of every per-document table of the store (an import cut short must leave none behind)."""
    with store.session() as s:
        return {
            m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Document, TierRow, TimeSlotRow, AnnotationRow)
        }


def _reopen(url: str, key: str | None) -> Store:
    store = open_store(url, passphrase=key)  # runs SQLite's quick_check: a damaged store is refused here
    path = store.path
    if path is not None:
        assert sqlite_problems(path, key) == []
    return store


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_during_import_of_50000_annotations(
    backend: str, big_eaf: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url, key = _url(backend, tmp_path, request)
    store = open_store(url, passphrase=key)
    first = import_file(store, SMALL_EAF).doc_id  # committed before any kill
    store.close()
    # moments spread over the parse, the bulk inserts and the commit (PostgreSQL takes about 3 s for it)
    longest = 3.5 if backend == "postgresql" else 1.3
    rng = random.Random(8)
    moments = sorted(rng.uniform(0.05, longest) for _ in range(2 if backend != "sqlite" else 3))
    whole = 0
    for moment in moments:
        store = _reopen(url, key)
        before_docs = [d.id for d in documents(store)]
        before = _rows(store)
        store.close()

        child = Child("import", url, big_eaf, passphrase=key)
        child.ready()
        time.sleep(moment)
        said = child.kill()

        store = _reopen(url, key)
        docs = {d.id: d for d in documents(store)}
        new = sorted(set(docs) - set(before_docs))
        after = _rows(store)
        assert first in docs and docs[first].annotations == 7
        if any(line.startswith("done") for line in said):
            assert len(new) == 1, f"the import said it was done, but the store has {new}"
        if new:  # committed: all of it
            (doc,) = new
            assert docs[doc].annotations == BIG
            assert after == {
                "document": before["document"] + 1,
                "tier": before["tier"] + 2,
                "time_slot": before["time_slot"] + BIG // 2 + 1,
                "annotation": before["annotation"] + BIG,
            }
            first_two = [(s.start, s.end, s.value) for s in document_display(store, doc)["Call phase"][:2]]
            assert first_two == [(0, 100, "phase 0"), (100, 200, "phase 1")]
            whole += 1
        else:  # not committed: nothing of it
            assert after == before
        store.close()
    print(f"\n{backend}: killed {len(moments)} imports at {[round(m, 2) for m in moments]} s, {whole} had committed")


def _committed_at_least(n: int, lines: list[str]) -> bool:
    return sum(ln.startswith("committed") for ln in lines) >= n


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_during_a_batch_of_edits(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, key = _url(backend, tmp_path, request)
    for seed, after in ((1, 6), (2, 23), (3, 40)):
        store = open_store(url, passphrase=key)
        doc = new_document(store, "referral", name=f"batch {seed}")
        store.close()
        plan = plan_edits(seed, 80)

        child = Child("edits", url, doc, seed, len(plan), passphrase=key)
        child.ready()
        child.read_until(partial(_committed_at_least, after))
        time.sleep(random.Random(seed).uniform(0, 0.004))  # somewhere inside the next edit
        said = child.kill()
        committed = [int(ln.split()[1]) for ln in said if ln.startswith("committed")]
        k = len(committed)
        assert committed == list(range(k)) and k >= after

        store = _reopen(url, key)
        got = sorted((s.start, s.end, s.value) for s in document_display(store, doc)[TIER])
        store.close()
        # every edit it said was committed is there; the one in flight wholly or not at all
        assert got in (replay(plan, k), replay(plan, k + 1)), f"after {k} committed edits of {plan[: k + 1]}"


@pytest.fixture(scope="module")
def slow_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec whose render takes a few seconds (a slow preset and a blur over a 720p source)."""
    folder = tmp_path_factory.mktemp("slow")
    src = make_test_recording(folder / "hd.mp4", seconds=10, size="1280x720")
    spec = folder / "slow.json"
    spec.write_text(
        json.dumps(
            {
                "source": str(src),
                "start": 0.5,
                "end": 9.5,
                "encode": {"preset": "slower"},
                "redactions": [
                    {"kind": "blur", "start": 0, "end": 10, "keyframes": [{"t": 0, "x": 0, "y": 0, "w": 1, "h": 1}]}
                ],
            }
        )
    )
    return spec


def _render(spec: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "media", "render", str(spec), str(out), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_during_a_render(slow_render: Path, tmp_path: Path) -> None:
    out = tmp_path / "clips"
    out.mkdir()
    proc = _render(slow_render, out / "clip.mp4")
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in out.iterdir()):  # ffmpeg is writing
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.3)
    proc.kill()
    proc.communicate()

    # ffmpeg went with it (it ignores SIGPIPE: it used to finish the file for nobody), and nothing in the
    # folder has the clip's name or looks finished: at most the hidden temporary file
    deadline = time.monotonic() + 5
    while living_processes_with(str(out)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert living_processes_with(str(out)) == []
    left = [p.name for p in out.iterdir()]
    assert "clip.mp4" not in left
    assert all(name.startswith(".frontdoor-") and name.endswith(".part") for name in left), left

    # the next render into the folder removes what the killed one left
    quick = tmp_path / "quick.json"
    quick.write_text(json.dumps(dict(json.loads(slow_render.read_text()), start=1, end=2, encode={})))
    again = _render(quick, out / "next.mp4")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert [p.name for p in out.iterdir()] == ["next.mp4"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_during_a_backup(
    backend: str, big_eaf: Path, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    url, key = _url(backend, tmp_path, request)
    store = open_store(url, passphrase=key)
    # SQLite: a store big enough for its backup to take a while; pg_dump takes its while anyway
    import_file(store, SMALL_EAF if backend == "postgresql" else big_eaf)
    first = make_backup(store, keep=50)
    store.close()
    folder = backup_folder(url)
    longest = 0.8
    for moment in sorted(random.Random(5).uniform(0.0, longest) for _ in range(2)):
        child = Child("backup", url, passphrase=key)
        child.ready()
        time.sleep(moment)
        said = child.kill()

        # every backup listed was checked when written and is whole (--verify below checks them again);
        # nothing half-made is listed or visible
        listed = list_backups(url)
        assert first.path in [b.path for b in listed]
        if any(line.startswith("done") for line in said):
            assert len(listed) >= 2
        assert all(b.status == "ok" for b in listed), listed
        visible = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
        assert sorted(visible) == sorted([b.path.name for b in listed] + [b.path.name + ".json" for b in listed])

    fds = ["--passphrase-fd", str(fd_with(PASS))] if key else []
    assert main(["--db", url, *fds, "backups", "--verify"]) == 0  # integrity, schema, size and SHA-256 of each
    out = capsys.readouterr().out
    assert out.count("ok (verified now)") == len(list_backups(url)) and "FAILS" not in out
    check_backup(first.path, passphrase=key)
    # the store opens, and the next backup removes what the killed ones left hidden
    store = _reopen(url, key)
    make_backup(store, keep=50)
    store.close()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
