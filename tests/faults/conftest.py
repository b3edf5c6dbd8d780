"""Fixtures of the fault tests: child processes to kill, small file systems to fill, a 50,000-annotation ELAN
file, and Hypothesis settings that give the same cases on every run (CI must be reproducible)."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from annotation.elan.model import Annotation, EafDocument, Tier, TimeSlot
from annotation.elan.writer import write_eaf
from annotation.store import cipher
from annotation.store.engine import Store, open_store
from tests.conftest import _pg_base_url

ROOT = Path(__file__).resolve().parents[2]
PASS = "correct horse battery staple"
BIG = 50_000

#: Every fuzzer: derandomized (the same examples on every run), no example database, no deadline.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


class Child:
    """A ``python -m tests.faults.child ...`` process; a thread collects its stdout line by line."""

    def __init__(self, *args: object, passphrase: str | None = None, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.child", *map(str, args)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write((passphrase or "") + "\n")
        self.proc.stdin.close()
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def read_until(self, done: Callable[[list[str]], bool], timeout: float = 60) -> list[str]:
        """Collect lines until ``done(lines)`` holds; fails when the child ends first or after ``timeout`` s."""
        end = time.monotonic() + timeout
        while not done(self.lines):
            try:
                line = self._queue.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                self.kill()
                pytest.fail(f"child did not get there in {timeout} s: {self.lines[-3:]}")
            if line is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"child ended early ({self.proc.wait()}): {self.lines[-3:]} {err[-3000:]}")
            self.lines.append(line)
        return self.lines

    def ready(self) -> None:
        self.read_until(lambda lines: "ready" in lines)

    def kill(self) -> list[str]:
        """SIGKILL, then every line it had written before dying."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._drain()
        return self.lines

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Wait for it to end: its exit status and stderr (its stdout lines are added to ``lines``)."""
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        self.proc.wait(timeout=timeout)
        self._drain()
        return self.proc.returncode, err

    def _drain(self) -> None:
        self._reader.join(timeout=30)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """A factory of small tmpfs file systems (``small_fs("1m")``), unmounted after the test. Mounting needs
    root: elsewhere the test is skipped, except on CI, where it must run."""
    mounts: list[Path] = []

    def make(size: str) -> Path:
        mnt = tmp_path / f"small-{len(mounts)}"
        mnt.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            why = proc.stderr.strip() or f"mount exited {proc.returncode}"
            if os.environ.get("CI"):
                pytest.fail(f"a small tmpfs must be mountable on CI ({why})")
            pytest.skip(f"cannot mount a small tmpfs here (it needs root): {why}")
        mounts.append(mnt)
        return mnt

    yield make
    for mnt in mounts:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="session")
def big_eaf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ELAN file of 50,000 annotations: 25,000 aligned on "Call phase", one note referring to each."""
    half = BIG // 2
    slots = [TimeSlot(f"ts{i + 1}", i * 100) for i in range(half + 1)]
    phases = [Annotation(f"a{i + 1}", f"phase {i}", f"ts{i + 1}", f"ts{i + 2}") for i in range(half)]
    notes = [Annotation(f"a{half + i + 1}", f"note {i} ü", ref=f"a{i + 1}") for i in range(half)]
    doc = EafDocument(
        root_attrs={"AUTHOR": "fault tests", "DATE": "2026-01-01T00:00:00+00:00"},
        properties=[("lastUsedAnnotationId", str(BIG))],
        time_slots=slots,
        tiers=[
            Tier({"TIER_ID": "Call phase", "LINGUISTIC_TYPE_REF": "default"}, phases),
            Tier({"TIER_ID": "Notes", "LINGUISTIC_TYPE_REF": "assoc", "PARENT_REF": "Call phase"}, notes),
        ],
        linguistic_types=[
            {"LINGUISTIC_TYPE_ID": "default", "TIME_ALIGNABLE": "true"},
            {"LINGUISTIC_TYPE_ID": "assoc", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Association"},
        ],
        constraints=[{"DESCRIPTION": "1-1 association with a parent annotation", "STEREOTYPE": "Symbolic_Association"}],
    )
    path = tmp_path_factory.mktemp("big") / "duty room 50k.eaf"
    write_eaf(doc, path)
    return path


@pytest.fixture(scope="module")
def pg_module_store() -> Iterator[Store]:
    """A store in a fresh schema of its own on the test PostgreSQL server, kept for a whole module (a
    fuzzer's examples share it; opening a store for each would cost more than the example)."""
    base = _pg_base_url()
    if base is None:
        pytest.skip("FRONTDOOR_TEST_PG not set (make test starts PostgreSQL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    store = open_store(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sqlite_problems(path: Path, passphrase: str | None = None) -> list[str]:
    """SQLite's full ``integrity_check`` and ``foreign_key_check`` of a store file: [] when it is sound."""
    conn = cipher.dbapi().connect(str(path)) if passphrase else sqlite3.connect(str(path))
    try:
        if passphrase:
            cipher.set_key(conn, passphrase)
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        fks = [repr(tuple(r)) for r in conn.execute("PRAGMA foreign_key_check")]
    finally:
        conn.close()
    return ([] if rows == ["ok"] else rows) + fks


def living_processes_with(text: str) -> list[int]:
    """Processes (not zombies) whose command line mentions ``text``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and int(d.name) != os.getpid():
            found.append(int(d.name))
    return found
