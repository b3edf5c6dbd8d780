"""Two writers (two processes) editing one document at the same moment, on SQLite and PostgreSQL: no update is
lost (the result is one of the serial outcomes and everything a process was told was saved is there), and the
loser of a real conflict gets one clear line. The test holds the document while the writers start, so that
they queue behind it and run into each other rather than one after the other."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from annotation.edits.commands import CreateAnnotation
from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.elan.reader import read_eaf
from annotation.services import apply_edit, document_display, export_eaf, new_document
from annotation.store.documents import store_document
from annotation.store.engine import Store, open_store, sqlite_file, sqlite_url
from annotation.store.tables import AnnotationRow
from tests.faults.child import TIER
from tests.faults.conftest import ROOT, Child

CONFLICT = "changed by someone else since you opened it; reload to see their change"
#: The writers' environment: their PostgreSQL sessions are named, so the test sees them queue.
WRITERS = dict(os.environ, PGAPPNAME=f"frontdoor-writer-{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "shared.sqlite")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = open_store(url)
    yield s
    s.close()


@contextlib.contextmanager
def held(url: str, doc: int) -> Iterator[Callable[[list[int]], None]]:
    """Hold the document (SQLite's write lock; PostgreSQL's lock on its row) until the block ends. Yields a
    function that waits until the given writer processes (started with :data:`WRITERS` in their
    environment) are queued behind it."""
    path = sqlite_file(url)
    if path is not None:
        lock = sqlite3.connect(str(path), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")

        def queued(pids: list[int]) -> None:
            # each writer has opened the store and waits for the lock in SQLite's busy handler
            deadline = time.monotonic() + 30
            while not all(_has_open(pid, path) for pid in pids):
                assert time.monotonic() < deadline, "the writers never opened the store"
                time.sleep(0.02)
            time.sleep(0.5)

        try:
            yield queued
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    engine = create_engine(url)
    with engine.connect() as conn, engine.connect() as watch:
        conn.execute(text("SELECT id FROM document WHERE id = :d FOR UPDATE"), {"d": doc})

        def waiting(pids: list[int]) -> None:
            # the first writer waits for this transaction, the others for the writer before them
            sql = text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app AND wait_event_type = 'Lock'"
            )
            deadline = time.monotonic() + 30
            while True:
                watch.execute(text("SELECT pg_stat_clear_snapshot()"))
                if watch.execute(sql, {"app": WRITERS["PGAPPNAME"]}).scalar() == len(pids):
                    break
                assert time.monotonic() < deadline, "the writers never queued behind the held document"
                time.sleep(0.02)

        try:
            yield waiting
        finally:
            conn.rollback()
    engine.dispose()


def _has_open(pid: int, path: Path) -> bool:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if fd.resolve() == path.resolve():
                return True
    return False


def _version(store: Store, doc: int, ann: str) -> int:
    with store.session() as s:
        v = s.scalar(select(AnnotationRow.version).where(AnnotationRow.document_id == doc, AnnotationRow.ann_id == ann))
    assert v is not None
    return int(v)


def _tier(store: Store, doc: int) -> dict[str, tuple[int, int, str]]:
    return {s.ann_id: (s.start, s.end, s.value) for s in document_display(store, doc)[TIER]}


def _still_a_valid_document(store: Store, doc: int, tmp_path: Path) -> None:
    out = tmp_path / "after.eaf"
    export_eaf(store, doc, out)
    read_eaf(out)  # the reader checks every reference and id: the edits left a document ELAN opens


def test_both_change_the_value_of_one_annotation_from_the_command_line(url: str, store: Store) -> None:
    doc = new_document(store, "referral")
    cmd = CreateAnnotation(doc, TIER, 1000, 2000, "opening")
    apply_edit(store, cmd)
    ann = str(cmd.ann_id)
    seen = _version(store, doc, ann)  # what both writers have on their screens

    with held(url, doc) as wait:
        procs = {}
        for value in ("referral", "closing"):
            argv = ["--db", url, "annotate", "set", str(doc), ann, value, "--expect-version", str(seen)]
            procs[value] = subprocess.Popen(
                [sys.executable, "-m", "app.cli.main", *argv],
                cwd=ROOT,
                env=WRITERS,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        wait([p.pid for p in procs.values()])
    results = {value: (p.wait(60), *p.communicate()) for value, p in procs.items()}

    winners = [v for v, (rc, _, _) in results.items() if rc == 0]
    losers = [v for v, (rc, _, _) in results.items() if rc == 2]
    assert len(winners) == 1 and len(losers) == 1, results
    _, out, err = results[losers[0]]
    assert err == f"frontdoor: error: annotation {ann!r}: {CONFLICT}\n"
    assert out == ""
    assert results[winners[0]][1].startswith(f"change value of {ann}: saved")
    assert _tier(store, doc)[ann] == (1000, 2000, winners[0])
    assert _version(store, doc, ann) == seen + 1


def test_both_add_annotations_to_one_tier(url: str, store: Store, tmp_path: Path) -> None:
    doc = new_document(store, "referral")
    n = 15
    with held(url, doc) as wait:
        # interleaved, never overlapping: A at 0-400 ms of each second, B at 500-900 (one tier never overlaps)
        writers = [Child("add", url, doc, who, n, offset, env=WRITERS) for who, offset in (("A", 0), ("B", 500))]
        for w in writers:
            w.ready()
        wait([w.proc.pid for w in writers])
    said = []
    for w in writers:
        rc, err = w.finish()
        assert (rc, err) == (0, ""), err  # adding never conflicts: both writers' adds are all saved
        said += [line.split()[1] for line in w.lines if line.startswith("committed")]
    assert len(said) == 2 * n and len(set(said)) == 2 * n
    tier = _tier(store, doc)
    assert sorted(tier) == sorted(said)
    assert sorted(v for _, _, v in tier.values()) == sorted(f"{who}{i}" for who in "AB" for i in range(n))
    _still_a_valid_document(store, doc, tmp_path)


def test_both_add_over_the_same_spans_and_each_span_is_taken_once(url: str, store: Store, tmp_path: Path) -> None:
    """The no-overlap rule holds between processes: of two writers adding over the same spans at once, each
    span goes to one of them and the other is refused in one line naming it."""
    doc = new_document(store, "referral")
    n = 8
    with held(url, doc) as wait:
        writers = [Child("add", url, doc, who, n, 0, env=WRITERS) for who in "AB"]
        for w in writers:
            w.ready()
        wait([w.proc.pid for w in writers])
    refused = []
    for w in writers:
        rc, err = w.finish()
        assert (rc, err) == (0, ""), err
        refused += [line for line in w.lines if line.startswith("refused")]
    assert len(refused) == n and all("annotations on one tier cannot overlap" in line for line in refused)
    tier = _tier(store, doc)
    assert sorted((s, e) for s, e, _ in tier.values()) == [(1000 * i, 1000 * i + 400) for i in range(n)]
    _still_a_valid_document(store, doc, tmp_path)


def test_both_retime_annotations_that_share_a_time_slot(url: str, store: Store, tmp_path: Path) -> None:
    doc = EafDocument(
        root_attrs={"AUTHOR": "", "DATE": "2026-01-01T00:00:00+00:00"},
        time_slots=[TimeSlot("ts1", 0), TimeSlot("ts2", 1000), TimeSlot("ts3", 2000), TimeSlot("ts4", 3000),
                    TimeSlot("ts5", 4000)],
        tiers=[Tier({"TIER_ID": TIER, "LINGUISTIC_TYPE_REF": "default"},
                    [Annotation("a1", "one", "ts1", "ts2"), Annotation("a2", "two", "ts2", "ts3"),
                     Annotation("a3", "three", "ts4", "ts5")])],
        linguistic_types=[{"LINGUISTIC_TYPE_ID": "default", "TIME_ALIGNABLE": "true"}],
    )  # fmt: skip
    with store.session() as s:
        did = store_document(s, doc, "shared slot")
    moves = {
        "a1 earlier end": ("a1", 0, 800),  # a1 and a2 share ts2: neither may move the other's boundary
        "a2 later start": ("a2", 1200, 2000),
        "a3 longer": ("a3", 3000, 4500),  # these two change a3 from the same version: one must lose
        "a3 earlier": ("a3", 2500, 4000),
    }
    with held(url, did) as wait:
        writers = {
            name: Child("move", url, did, ann, start, end, 1, env=WRITERS) for name, (ann, start, end) in moves.items()
        }
        for w in writers.values():
            w.ready()
        wait([w.proc.pid for w in writers.values()])
    said = {}
    for name, w in writers.items():
        rc, err = w.finish()
        assert (rc, err) == (0, ""), err
        said[name] = w.lines[-1]
    assert said["a1 earlier end"] == said["a2 later start"] == "saved"
    a3 = sorted(said[name] for name in ("a3 longer", "a3 earlier"))
    assert a3 == ["refused annotation 'a3': " + CONFLICT, "saved"], said
    a3_won = next(name for name in ("a3 longer", "a3 earlier") if said[name] == "saved")
    tier = _tier(store, did)
    assert {k: v[:2] for k, v in tier.items()} == {"a1": (0, 800), "a2": (1200, 2000), "a3": moves[a3_won][1:]}
    _still_a_valid_document(store, did, tmp_path)
