"""The store on a real SQLite file and a real PostgreSQL server: settings, migrations, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

import annotation.store.documents as repository
from annotation.elan.reader import read_eaf
from annotation.errors import EafError, NotFound
from annotation.services import documents, get_document, import_file
from annotation.store.engine import (
    Store,
    create_store_engine,
    head_revision,
    open_store,
    schema_revision,
    sqlite_url,
    upgrade_schema,
)
from annotation.store.tables import AnnotationRow, Base, TimeSlotRow, VocabularyEntry


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_path: Path) -> None:
    store = open_store(sqlite_url(sqlite_path))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def _holds_exactly_the_models(store: Store) -> None:
    import annotation.schema  # noqa: F401  (every table of annotation)
    import consent.models  # noqa: F401  (the consent tables live on the same Base)

    assert schema_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_migrations_create_exactly_the_models(db_url: str) -> None:
    engine, label = create_store_engine(db_url)
    upgrade_schema(engine)  # an empty database: every migration runs
    store = Store(engine, label)
    try:
        _holds_exactly_the_models(store)
    finally:
        store.close()


def test_a_new_store_holds_exactly_the_models(db_url: str) -> None:
    """Opening an empty database: migrated on PostgreSQL, made from the recorded schema on SQLite."""
    store = open_store(db_url)
    try:
        _holds_exactly_the_models(store)
    finally:
        store.close()


def test_the_store_each_test_starts_from_holds_exactly_the_models(store: Store) -> None:
    """The ``store`` fixture's copy of a migrated store (``tests/fixtures/stores.py``) is one too."""
    _holds_exactly_the_models(store)


def test_db_upgrade_on_an_empty_database(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    assert main(["--db", db_url, "db", "info"]) == 0
    assert "schema:   empty" in capsys.readouterr().out
    assert main(["--db", db_url, "db", "upgrade"]) == 0
    assert f"empty -> {head_revision()}" in capsys.readouterr().out
    assert main(["--db", db_url, "db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_references_are_enforced_by_the_database(store: Store, corpus: Path) -> None:
    r = import_file(store, corpus / "eaf" / "dopefishh__pympi__fto.eaf")
    with pytest.raises(Exception, match=r"(?i)foreign key"), store.session() as s:
        s.execute(
            AnnotationRow.__table__.update().where(AnnotationRow.document_id == r.doc_id).values(ts1="no-such-slot")
        )
    assert get_document(store, r.doc_id).annotation_count() == 7


def test_a_failed_import_leaves_nothing(store: Store, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise EafError("simulated failure half-way through the import")

    monkeypatch.setattr(repository, "_store_vocabularies", broken)
    with pytest.raises(EafError):
        import_file(store, corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf")
    assert documents(store) == []
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(TimeSlotRow)) == 0
        assert s.scalar(select(func.count()).select_from(AnnotationRow)) == 0


def test_delete_document_removes_everything(store: Store, corpus: Path) -> None:
    r = import_file(store, corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf")
    keep = import_file(store, corpus / "eaf" / "neocl__speach__test.eaf")
    with store.session() as s:
        repository.delete_document(s, r.doc_id)
    assert [d.id for d in documents(store)] == [keep.doc_id]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(VocabularyEntry)) > 0  # the other document's
        assert s.scalar(select(func.count()).where(AnnotationRow.document_id == r.doc_id)) == 0
    with pytest.raises(NotFound), store.session() as s:
        repository.delete_document(s, r.doc_id)


def test_documents_lists_counts(store: Store, corpus: Path) -> None:
    path = corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf"
    r = import_file(store, path)
    doc = read_eaf(path)
    [info] = documents(store)
    assert (info.id, info.tiers, info.annotations) == (r.doc_id, len(doc.tiers), doc.annotation_count())
