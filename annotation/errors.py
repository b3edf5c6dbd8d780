"""Errors raised by the annotation package.

Every error carries ``message``: one line for the user that names the file or thing and says what is wrong.
Front ends print exactly that line; ``detail`` (optional) is for the log.

    AnnotationError
    ├── EafError                       an ELAN file (.eaf/.etf/.ecv) cannot be read or written
    │   ├── EafFileNotFound            the path does not exist or is not a file
    │   ├── EafParseError              not well-formed XML, truncated, unreadable encoding
    │   └── EafStructureError          well-formed but not a valid ELAN document
    │       ├── WrongRootElement
    │       ├── DanglingReference      time slot, parent tier, annotation, type, CV ... that does not exist
    │       └── DuplicateId            an id that must be unique occurs twice
    ├── StoreError                     the database
    │   ├── StoreUnavailable           cannot connect / open
    │   │   ├── PassphraseRequired     an encrypted store and no passphrase to open it with
    │   │   ├── WrongPassphrase        the passphrase does not open the encrypted store (or backup)
    │   │   └── StoreCorrupt           the store fails its integrity check (names the latest good backup)
    │   ├── WeakPassphrase             a new passphrase too short for a store or an archive
    │   ├── BackupError                a backup cannot be made, checked or restored
    │   │   ├── BackupToolMissing      pg_dump / pg_restore not found
    │   │   └── BadBackup              a backup file that fails its checks (damaged, truncated, foreign)
    │   ├── AccessDenied               the database role may not read or write that (shared PostgreSQL)
    │   ├── NotFound                   unknown document, tier, annotation ... id
    │   ├── ConflictError              someone else changed the row since it was read (row versioning)
    │   ├── ValueOutOfRange            a value the database cannot hold (a text too long, a number too large)
    │   └── InvalidEdit                an edit that would break ELAN's rules (end before start, ...)
    │       └── OverlapError           two annotations of one tier would overlap in time
    ├── AnalysisError                  an analysis of coded time cannot be computed as asked (bad threshold, ...)
    ├── ExportError                    an export format cannot represent the document
    └── RecordError                    referral records (records.py, record_import.py, report.py)
        ├── InvalidRecord              a value outside its vocabulary or range, an unknown field
        ├── RecordImportError          a CSV extract that cannot be imported (bad rows, unreadable file)
        │   └── IdentifierColumn       the extract has a column for a child's or family's identifier
        └── ReportError                the report cannot be produced (no records, unknown period)
"""

from __future__ import annotations


class AnnotationError(Exception):
    """Base of every error the annotation package raises on purpose."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class EafError(AnnotationError):
    """An ELAN file cannot be read or written."""


class EafFileNotFound(EafError):
    """The path does not exist or is not a regular file."""


class EafParseError(EafError):
    """Not well-formed XML, truncated, or in an encoding that cannot be decoded."""


class EafStructureError(EafError):
    """Well-formed XML that breaks ELAN's document rules."""


class WrongRootElement(EafStructureError):
    """The root element is not the one this file type needs."""


class DanglingReference(EafStructureError):
    """A reference to a time slot, tier, annotation, type or vocabulary that does not exist."""


class DuplicateId(EafStructureError):
    """An id that must be unique within the document occurs twice."""


class StoreError(AnnotationError):
    """A problem with the annotation store."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


class PassphraseRequired(StoreUnavailable):
    """The store (or backup) is encrypted and no passphrase was given."""


class WrongPassphrase(StoreUnavailable):
    """The passphrase given does not open the encrypted store or backup (SQLCipher: "file is not a database")."""


class StoreCorrupt(StoreUnavailable):
    """The store fails its integrity check; the message names the latest good backup, if there is one."""


class WeakPassphrase(StoreError):
    """A new passphrase (for a store or a transport archive) that is too short."""


class BackupError(StoreError):
    """A backup cannot be made, listed, checked or restored."""


class BackupToolMissing(BackupError):
    """``pg_dump`` or ``pg_restore`` is not installed."""


class BadBackup(BackupError):
    """A backup file fails its checks: damaged, truncated, not a Frontdoor backup or from a newer version."""


class AccessDenied(StoreError):
    """The database refused a statement: the role connected may not read or write that table, column or row
    (``annotation.store.privileges``)."""


class NotFound(StoreError):
    """An id names nothing in the store."""


class ConflictError(StoreError):
    """The row was changed by another writer since it was read."""


class ValueOutOfRange(StoreError):
    """The database refused a value it cannot hold: a text longer than its column, a number out of range."""


class InvalidEdit(StoreError):
    """An edit that would break the document's rules."""


class OverlapError(InvalidEdit):
    """An edit would make two annotations of one tier overlap in time (ELAN's model has no overlaps on a
    tier). ``neighbour`` is the id of the annotation it runs into."""

    def __init__(self, message: str, neighbour: str, detail: str | None = None) -> None:
        super().__init__(message, detail)
        self.neighbour = neighbour


class AnalysisError(AnnotationError):
    """Statistics, agreement or consensus cannot be computed as asked: an overlap threshold out of range, two
    documents that code different recordings, a consensus decision that does not fit its disagreement."""


class ExportError(AnnotationError):
    """An export cannot be produced."""


class RecordError(AnnotationError):
    """A problem with referral records."""


class InvalidRecord(RecordError):
    """A record value outside its vocabulary or range, or a field that does not exist."""


class RecordImportError(RecordError):
    """A CSV extract cannot be imported. ``problems`` holds one line per bad row (``FILE:ROW: ...``)."""

    def __init__(self, message: str, detail: str | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, detail)
        self.problems = problems


class IdentifierColumn(RecordImportError):
    """The extract has a column that holds a direct identifier of a child or family (name, address, ...)."""


class ReportError(RecordError):
    """The report cannot be produced."""
