"""Shared fixtures: a store on a real SQLite file and on the real PostgreSQL server, the real ELAN files.

PostgreSQL comes from ``FRONTDOOR_TEST_PG`` (``make test`` starts the server and sets it). Each test gets a
fresh schema of its own, so tests can run in parallel on one database. On CI (``CI`` set) a missing server
is a failure, never a skip.
"""

from __future__ import annotations

import gc
import os
import uuid

# Qt widgets are tested without a screen (one player test starts its own Xvfb in a subprocess), and
# libvlc must not look for a sound card the test machine does not have.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from annotation.store.engine import Store, open_store, sqlite_url
from tests.fixtures.elan_files import corpus_files
from tests.fixtures.stores import copy_sqlite_store, fill_pg_schema, migrated_pg_sql, migrated_sqlite_file

# The cycle collector at its default thresholds (700, 10, 10) walked the whole heap dozens of times a test when a
# test held a large document (9,000 annotations, a main window) and read it again each step: a third of such a
# test's time. Collecting after 50,000 new objects lets the short-lived ones die first; nothing depends on when.
gc.set_threshold(50_000, 20, 20)

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


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_file(tmp_path_factory.mktemp("migrated"))


@pytest.fixture(scope="session")
def _migrated_pg() -> tuple[str, str] | None:
    base = _pg_base_url()
    return None if base is None else migrated_pg_sql(base)


@pytest.fixture
def migrated_pg_url(pg_url: str, _migrated_pg: tuple[str, str] | None) -> str:
    """``pg_url`` with its schema at the newest revision: a copy of one the migrations made once per test
    process (``tests/fixtures/stores.py``)."""
    base = _pg_base_url()
    assert base is not None and _migrated_pg is not None  # pg_url skipped the test otherwise
    fill_pg_schema(base, pg_url.rsplit("%3D", 1)[1], _migrated_pg)
    return pg_url


@pytest.fixture
def store(db_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The store of ``db_url`` at the newest schema: a copy of one the migrations made once per test process
    (``tests/fixtures/stores.py``); the migrations themselves are tested on empty databases."""
    if db_url.startswith("sqlite"):
        copy_sqlite_store(request.getfixturevalue("_migrated_sqlite"), Path(make_url(db_url).database or ""))
    else:
        request.getfixturevalue("migrated_pg_url")
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


#: The longest single tests (15-40 s each in a full run): started first, so that with ``-n 2`` neither worker
#: is left running one of them alone at the end (collection order had the mypy and docs tests last).
LONGEST_FIRST = (
    "tests/annotation/test_display_machine.py::",
    "tests/test_architecture.py::test_mypy_clean_on_model_packages",
    "tests/app/test_window_patches.py::",
    "tests/app/test_cli.py::test_demo_runs_headless",
    "tests/consent/test_gate_properties.py::test_the_gate_exports_exactly_what_the_rule_allows",
    "tests/app/test_analysis_views.py::",
    "tests/test_docs.py::",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        node = item.nodeid
        if node in SLOW_TESTS or "postgresql" in node or any(part in node for part in SLOW_FILES):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable: the rest keep their order
