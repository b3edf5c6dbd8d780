"""A new, empty SQLite store made in one transaction from the recorded schema of a migrated one.

Running the Alembic migrations on a new SQLite file costs about 1.7 s of CPU and 70 MB of memory (Alembic, its
scripts and SQLite's table rebuilds): a user's first command paid it. ``schema_sqlite.sql`` is the dump
(``iterdump``) of a store the migrations have just brought to ``HEAD_REVISION``: every table, index and trigger
as SQLite holds its SQL, and the rows the migrations put in (the version stamp among them). A new, empty
SQLite file runs it statement by statement in one ``BEGIN IMMEDIATE`` transaction, after checking under that
lock that the file is still empty (two processes opening one new store at once: the second finds the first's
tables and opens the store as it is).

The recording is used only when its revision is the code's ``HEAD_REVISION``; otherwise (and for PostgreSQL,
whose roles, policies and functions stay with the migrations) the migrations run as before. A test checks that
the recording is at the head and gives exactly the store the migrations give (every object's SQL, every row,
the header pragmas): after a new migration, record it again with ``scripts/record-sqlite-schema.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RECORDING", "create_from_recording", "dump", "recorded_revision"]

#: the recorded schema of a new SQLite store (:func:`dump`, written by ``scripts/record-sqlite-schema.py``)
RECORDING = Path(__file__).with_name("schema_sqlite.sql")
_HEAD_LINE = "-- Frontdoor SQLite store at schema revision "
_TRANSACTION = {"BEGIN TRANSACTION;", "COMMIT;"}  # iterdump's own; the recording runs in ours


def recorded_revision(recording: Path = RECORDING) -> str | None:
    """The schema revision the recording was made at (None if there is no recording)."""
    try:
        with recording.open(encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        return None
    return first[len(_HEAD_LINE) :].split(":")[0].strip() if first.startswith(_HEAD_LINE) else None


def _statements(recording: Path) -> Iterator[str]:
    """The recording's statements in order (one may span lines: a trigger, a value with a line break)."""
    buf: list[str] = []
    with recording.open(encoding="utf-8") as f:
        for line in f:
            if not buf and line.startswith("--"):
                continue
            buf.append(line)
            stmt = "".join(buf)
            if sqlite3.complete_statement(stmt):
                buf.clear()
                if stmt.strip() not in _TRANSACTION:
                    yield stmt
    if "".join(buf).strip():
        raise ValueError(f"{recording}: ends inside a statement")


def create_from_recording(engine: Any, revision: str, recording: Path = RECORDING) -> bool:
    """Make the empty SQLite database of ``engine`` a store at ``revision`` from the recording, in one
    transaction; returns False (nothing done) when the recording is of another revision or the database is
    not empty (its caller then runs the migrations, which know what to do with it)."""
    if recorded_revision(recording) != revision:
        return False
    raw = engine.raw_connection()  # the engine's own connection: a SQLCipher store is already keyed
    try:
        dbc = raw.driver_connection
        level = dbc.isolation_level
        dbc.isolation_level = None  # the transaction below is ours, statement by statement
        try:
            cur = dbc.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if cur.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    cur.execute("ROLLBACK")
                    return False
                cur.execute("PRAGMA defer_foreign_keys=ON")  # seed rows come table by table, by name
                for stmt in _statements(recording):
                    cur.execute(stmt)
                cur.execute("COMMIT")
            except BaseException:
                if dbc.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        finally:
            dbc.isolation_level = level
    finally:
        raw.close()
    return True


def dump(engine: Any) -> str:
    """The recording of the SQLite store of ``engine`` (a store the migrations have just made): a first line
    naming its revision, then its ``iterdump``."""
    raw = engine.raw_connection()
    try:
        dbc = raw.driver_connection
        assert dbc is not None
        revision = dbc.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        lines = list(dbc.iterdump())
    finally:
        raw.close()
    head = f"{_HEAD_LINE}{revision}: the dump of a store the migrations made (scripts/record-sqlite-schema.py)\n"
    return head + "".join(f"{line}\n" for line in lines)
