"""Shared fixtures: a store on a real SQLite file and on the real PostgreSQL server, the real ELAN files.

PostgreSQL comes from ``FRONTDOOR_TEST_PG`` (``make test`` starts the server and sets it). Each test gets a
fresh schema of its own, so tests can run in parallel on one database. On CI (``CI`` set) a missing server
is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid

# Qt widgets are tested without a screen (one player test starts its own Xvfb in a subprocess), and
# libvlc must not look for a sound card the test machine does not have.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from annotation.store.engine import Store, open_store, sqlite_url
from tests.fixtures.elan_files import corpus_files

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Preferences, logs and the default store of every test go to a folder of its own, never the user's."""
    if "FRONTDOOR_HOME" not in os.environ:
        monkeypatch.setenv("FRONTDOOR_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out as ``../shared/corpus`` (``eaf/``, ``etf/``, ``ecv/``) holding the ELAN files kept in
    the repository, and the shared corpus's others when it is there (``tests/fixtures/elan_files.py``)."""
    folder = tmp_path_factory.mktemp("corpus")
    for path in corpus_files("eaf", "etf", "ecv"):
        (folder / path.suffix[1:]).mkdir(exist_ok=True)
        (folder / path.suffix[1:] / path.name).symlink_to(path)
    return folder


def _pg_base_url() -> str | None:
    url = os.environ.get("FRONTDOOR_TEST_PG")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("FRONTDOOR_TEST_PG is not set: run the suite with 'make test', which starts PostgreSQL")
        return None
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema on the test PostgreSQL server."""
    base = _pg_base_url()
    if base is None:
        pytest.skip("FRONTDOOR_TEST_PG not set (make test starts PostgreSQL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "store ü.sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "store ü.sqlite")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        s.close()


# ---- the quick inner loop: `make test-fast` runs `-m "not slow"` -------------------------------------------
#: Tests measured at over 0.5 s each (``scripts/slow-tests.sh`` rewrites the list from a full run's durations),
#: and whole folders or files whose every test starts processes, servers or tools.
SLOW_TESTS = frozenset((Path(__file__).parent / "slow_tests.txt").read_text(encoding="utf-8").splitlines())
SLOW_FILES = ("tests/faults/", "tests/test_architecture.py", "tests/test_docs.py", "test_corpus_roundtrip.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        node = item.nodeid
        if node in SLOW_TESTS or "postgresql" in node or any(part in node for part in SLOW_FILES):
            item.add_marker(pytest.mark.slow)
