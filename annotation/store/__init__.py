"""The annotation store: opening it (SQLite, SQLCipher or PostgreSQL), its tables and Alembic migrations, whole
documents in and out, media links, search, database privileges, and the common look-ups (a row or NotFound,
a project by name). It knows nothing of backups, edits or analyses, which are built on it."""

from __future__ import annotations

from annotation.store import cipher, tables
from annotation.store.cipher import MIN_LENGTH, check_new_passphrase, file_state, rekey
from annotation.store.documents import (
    DocumentInfo,
    delete_document,
    get_document_row,
    list_documents,
    load_document,
    store_document,
)
from annotation.store.engine import (
    Store,
    create_store_engine,
    default_db_url,
    describe_url,
    head_revision,
    known_revisions,
    open_store,
    schema_revision,
    sqlite_file,
    sqlite_url,
    store_is_encrypted,
    upgrade_schema,
    user_data_dir,
)
from annotation.store.lookup import get_or_not_found, project_by_name
from annotation.store.media_links import DocumentMedia, descriptor_origin, document_media
from annotation.store.search import SearchHit, search_annotations
from annotation.store.tables import (
    AnnotationRow,
    Base,
    Constraint,
    Document,
    HeaderProperty,
    LinguisticType,
    Project,
    Recording,
    TierRow,
    TimeSlotRow,
    VocabularyEntry,
    VocabularyRow,
    VocabularyValue,
    now,
)

__all__ = [
    "MIN_LENGTH",
    "AnnotationRow",
    "Base",
    "Constraint",
    "Document",
    "DocumentInfo",
    "DocumentMedia",
    "HeaderProperty",
    "LinguisticType",
    "Project",
    "Recording",
    "SearchHit",
    "Store",
    "TierRow",
    "TimeSlotRow",
    "VocabularyEntry",
    "VocabularyRow",
    "VocabularyValue",
    "check_new_passphrase",
    "cipher",
    "create_store_engine",
    "default_db_url",
    "delete_document",
    "describe_url",
    "descriptor_origin",
    "document_media",
    "file_state",
    "get_document_row",
    "get_or_not_found",
    "head_revision",
    "known_revisions",
    "list_documents",
    "load_document",
    "now",
    "open_store",
    "project_by_name",
    "rekey",
    "schema_revision",
    "search_annotations",
    "sqlite_file",
    "sqlite_url",
    "store_document",
    "store_is_encrypted",
    "tables",
    "upgrade_schema",
    "user_data_dir",
]
