"""The review-station passphrase: a slow salted hash in the store (SQLite file and PostgreSQL), never the
passphrase itself, checked in constant time, audited without it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from annotation.services import ensure_project
from annotation.store.engine import Store, open_store, sqlite_url
from consent import audit
from consent.errors import InvalidRequest, UnknownThing, WeakPassphrase, WrongPassphrase
from consent.models import AuditEntry, ConsentPolicy
from consent.station import passphrase
from tests.consent.conftest import PROJECT

SECRET = "Tr0ub4dor & the horse"
OTHER_PROJECT = "Second duty room"


@pytest.fixture(autouse=True)
def _actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")


def _stored(store: Store, project: str) -> str | None:
    pid = ensure_project(store, project)
    with store.session() as s:
        return s.scalar(select(ConsentPolicy.passphrase_hash).where(ConsentPolicy.project_id == pid))


def test_set_then_verify_right_and_wrong(store: Store) -> None:
    ensure_project(store, PROJECT)
    assert not passphrase.has_passphrase(store, PROJECT)
    assert not passphrase.verify_passphrase(store, PROJECT, SECRET)  # none set: nothing unlocks
    passphrase.set_passphrase(store, PROJECT, SECRET)  # no policy row yet: it is made
    assert passphrase.has_passphrase(store, PROJECT)
    assert passphrase.verify_passphrase(store, PROJECT, SECRET)
    for wrong in ("", "tr0ub4dor & the horse", SECRET + " ", SECRET[:-1]):
        assert not passphrase.verify_passphrase(store, PROJECT, wrong)
    # the same passphrase typed with a decomposed accent still matches
    accented = "caf\u00e9 au lait du matin"
    passphrase.set_passphrase(store, PROJECT, accented, old=SECRET)
    assert passphrase.verify_passphrase(store, PROJECT, "cafe\u0301 au lait du matin")


def test_stored_as_a_self_describing_salted_scrypt_hash_never_in_clear(store: Store) -> None:
    ensure_project(store, PROJECT)
    ensure_project(store, OTHER_PROJECT)
    passphrase.set_passphrase(store, PROJECT, SECRET)
    passphrase.set_passphrase(store, OTHER_PROJECT, SECRET)
    a, b = _stored(store, PROJECT), _stored(store, OTHER_PROJECT)
    assert a is not None and b is not None
    for stored in (a, b):
        kind, n, r, p, salt, key = stored.split("$")
        assert (kind, int(n), int(r), int(p)) == ("scrypt", passphrase.N, passphrase.R, passphrase.P)
        assert int(n) >= 2**15  # slow enough to make guessing from a copied database expensive
        assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
        assert SECRET not in stored
    assert a.split("$")[4] != b.split("$")[4]  # a random salt each time
    assert a != b
    with store.session() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "review_passphrase_set")))
        assert len(rows) == 2
        for e in rows:
            assert json.loads(e.payload)["replaced"] is False
            assert SECRET not in e.payload and a.split("$")[5] not in e.payload and b.split("$")[5] not in e.payload
        assert audit.check(s) is None
        # nowhere in the database, whatever the table
        dumped = json.dumps(
            [list(map(str, r)) for t in ("consent_policy", "audit_log") for r in s.execute(text(f"SELECT * FROM {t}"))]
        )
        assert SECRET not in dumped


def test_the_sqlite_file_never_holds_the_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    st = open_store(sqlite_url(path))
    try:
        ensure_project(st, PROJECT)
        passphrase.set_passphrase(st, PROJECT, SECRET)
        passphrase.set_passphrase(st, PROJECT, "another long passphrase", old=SECRET)
        assert passphrase.verify_passphrase(st, PROJECT, "another long passphrase")
        # the raw bytes of the database and its write-ahead log, before and after a checkpoint
        for _ in range(2):
            raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("store.sqlite"))
            for needle in (SECRET, "another long passphrase"):
                for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                    assert needle.encode(enc) not in raw
            assert b"scrypt$" in raw  # the hash is there (so the search looked at the right bytes)
            with st.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        st.close()


def test_short_passphrases_are_refused_with_one_line_and_nothing_stored(store: Store) -> None:
    ensure_project(store, PROJECT)
    for short in ("", "1234567", "ab cd e"):
        with pytest.raises(WeakPassphrase) as err:
            passphrase.set_passphrase(store, PROJECT, short)
        assert "\n" not in str(err.value) and "8 characters" in str(err.value)
        assert short not in str(err.value) or not short
    assert not passphrase.has_passphrase(store, PROJECT)
    passphrase.set_passphrase(store, PROJECT, "12345678")  # exactly eight will do
    assert passphrase.verify_passphrase(store, PROJECT, "12345678")


def test_changing_it_needs_the_current_one(store: Store) -> None:
    ensure_project(store, PROJECT)
    passphrase.set_passphrase(store, PROJECT, SECRET)
    before = _stored(store, PROJECT)
    with pytest.raises(WrongPassphrase, match="give the current one"):
        passphrase.set_passphrase(store, PROJECT, "a brand new passphrase")
    with pytest.raises(WrongPassphrase, match="not right; nothing changed"):
        passphrase.set_passphrase(store, PROJECT, "a brand new passphrase", old="not the passphrase")
    assert _stored(store, PROJECT) == before
    passphrase.set_passphrase(store, PROJECT, "a brand new passphrase", old=SECRET)
    assert not passphrase.verify_passphrase(store, PROJECT, SECRET)
    assert passphrase.verify_passphrase(store, PROJECT, "a brand new passphrase")
    with store.session() as s:
        events = [
            json.loads(e.payload)["replaced"]
            for e in s.scalars(select(AuditEntry).where(AuditEntry.event == "review_passphrase_set"))
        ]
        assert events == [False, True]
        assert audit.check(s) is None


def test_unknown_project_and_a_tampered_hash(store: Store) -> None:
    with pytest.raises(UnknownThing, match="not found"):
        passphrase.set_passphrase(store, "No such project", SECRET)
    with pytest.raises(UnknownThing):
        passphrase.verify_passphrase(store, "No such project", SECRET)
    good = passphrase.hash_passphrase(SECRET)
    assert passphrase.check_hash(good, SECRET)
    _kind, n, r, p, salt, key = good.split("$")
    for bad in (
        "plain text",
        f"md5${n}${r}${p}${salt}${key}",
        f"scrypt${2**30}${r}${p}${salt}${key}",  # would take gigabytes
        f"scrypt$1000${r}${p}${salt}${key}",  # not a power of two
        f"scrypt${n}${r}${p}$not*base64${key}",
    ):
        with pytest.raises(InvalidRequest, match="unreadable"):
            passphrase.check_hash(bad, SECRET)
