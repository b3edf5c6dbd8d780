"""The bulk insert of time slots and annotations (several hundred rows per statement on SQLite, the driver's
``executemany`` on PostgreSQL): every row stored once, in order, whatever the count, on both databases; on a
SQLite library that allows few bound variables per statement, too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event

from annotation.elan import Annotation, EafDocument, Tier, TimeSlot
from annotation.store import load_document, store_document
from annotation.store.engine import Store, open_store, sqlite_url


def _document(n: int) -> EafDocument:
    """``n`` annotations on a tier and one referring annotation on a child tier for every third of them, with
    an unaligned slot, a value holding quotes and a line break, and a CVE reference here and there."""
    slots = [TimeSlot(f"ts{i}", None if i % 97 == 5 else i * 10) for i in range(2 * n)]
    parent = Tier(attrs={"TIER_ID": "words", "LINGUISTIC_TYPE_REF": "lt"})
    child = Tier(attrs={"TIER_ID": "notes", "LINGUISTIC_TYPE_REF": "ref-lt", "PARENT_REF": "words"})
    for i in range(n):
        value = f"w{i} 'quoted' \"and\"\nsecond line" if i % 50 == 1 else f"w{i}"
        parent.annotations.append(
            Annotation(f"a{i}", value, f"ts{2 * i}", f"ts{2 * i + 1}", cve_ref="cve1" if i % 7 == 0 else None)
        )
        if i % 3 == 0:
            child.annotations.append(Annotation(f"r{i}", f"note {i}", ref=f"a{i}"))
    doc = EafDocument(time_slots=slots, tiers=[parent, child])
    doc.linguistic_types = [
        {"LINGUISTIC_TYPE_ID": "lt", "TIME_ALIGNABLE": "true"},
        {"LINGUISTIC_TYPE_ID": "ref-lt", "TIME_ALIGNABLE": "false", "CONSTRAINTS": "Symbolic_Association"},
    ]
    return doc


def _roundtrip(store: Store, doc: EafDocument) -> EafDocument:
    with store.session() as s:
        did = store_document(s, doc, "bulk")
    with store.session() as s:
        return load_document(s, did)


@pytest.mark.parametrize("n", [0, 250, 375, 376, 1_103])
def test_every_row_is_stored_once_in_order(store: Store, n: int) -> None:
    # SQLite takes 500 rows a statement: 250 makes 500 time slots, 375 makes 500 annotation rows (375 + 125),
    # 376 one more statement of 2; 1,103 several full statements and a part, across the two tiers
    doc = _document(n)
    back = _roundtrip(store, doc)
    assert back.time_slots == doc.time_slots
    assert [t.annotations for t in back.tiers] == [t.annotations for t in doc.tiers]


def test_a_sqlite_library_with_few_variables_a_statement(sqlite_path: Path) -> None:
    store = open_store(sqlite_url(sqlite_path))

    @event.listens_for(store.engine, "connect")
    def few(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)  # 2 annotation rows, 10 time slot rows

    store.engine.dispose()  # new connections, with the limit
    try:
        doc = _document(45)
        assert _roundtrip(store, doc) == doc
        with store.engine.connect() as conn:
            assert conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) == 40
    finally:
        store.close()
