"""Encrypted stores on real SQLCipher files: what is on disk, wrong and missing passphrases, re-keying, and
where the command line takes a passphrase from (a descriptor, never an argument)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from annotation.backup.rolling import make_backup
from annotation.edits.commands import CreateAnnotation
from annotation.elan.compare import compare_eaf
from annotation.errors import PassphraseRequired, StoreUnavailable, WeakPassphrase, WrongPassphrase
from annotation.services import apply_edit, ensure_project, export_eaf, import_file, new_document
from annotation.store import cipher
from annotation.store.engine import Store, open_store, sqlite_url
from annotation.store.tables import Project
from app.cli.main import main
from consent.participants import add_participant, set_policy
from consent.retention.withdrawal import withdraw
from tests.fixtures.secrets import PASS, fd_with, hold_open

OTHER = "a quite different passphrase"

# what must never be readable in the files: an annotation's text, a pseudonym, a real name, a decision note
NOTE = "Zebrafinch-child-lives-at-14-Acacia-Road"
PSEUDONYM = "Pseudonym-Quokka"
REAL_NAME = "Wombat Realname-Smithers"
WITHDRAWAL = "withdrawal-note-Pangolin-changed-her-mind"
SECRETS = [NOTE, PSEUDONYM, REAL_NAME, WITHDRAWAL]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def enc_path(tmp_path: Path) -> Path:
    return tmp_path / "encrypted store.sqlite"


@pytest.fixture
def enc_store(enc_path: Path) -> Iterator[Store]:
    s = open_store(sqlite_url(enc_path), passphrase=PASS)
    try:
        yield s
    finally:
        s.close()


def _fill(store: Store) -> None:
    doc = new_document(store, "referral", name="call 1")
    apply_edit(store, CreateAnnotation(doc, "Notes", 1000, 2000, NOTE))
    set_policy(store, "Study", keep_real_names=True)
    add_participant(store, "Study", PSEUDONYM, real_name=REAL_NAME, role="social worker")
    withdraw(store, PSEUDONYM, reason=WITHDRAWAL)


def _leaks(data: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode("utf-8") in data or s.encode("utf-16-le") in data]


def test_nothing_readable_in_the_file_its_wal_or_its_backup(enc_store: Store, enc_path: Path, tmp_path: Path) -> None:
    _fill(enc_store)
    wal = Path(f"{enc_path}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # the last commits are still in the log, not checkpointed
    for f in (enc_path, wal):
        data = f.read_bytes()
        assert not data.startswith(b"SQLite format 3")
        assert _leaks(data) == [], f
    backup = make_backup(enc_store)
    data = backup.path.read_bytes()
    assert backup.encrypted and not data.startswith(b"SQLite format 3")
    assert _leaks(data) == []
    # the search finds them where they are in clear: a plain store of the same content
    plain = open_store(sqlite_url(tmp_path / "plain.sqlite"))
    _fill(plain)
    plain.close()
    assert sorted(_leaks((tmp_path / "plain.sqlite").read_bytes())) == sorted(SECRETS)


def test_round_trip_through_an_encrypted_store(enc_path: Path, corpus: Path, tmp_path: Path) -> None:
    src = corpus / "eaf" / "dopefishh__pympi__sample_3.0.eaf"
    store = open_store(sqlite_url(enc_path), passphrase=PASS)
    doc = import_file(store, src).doc_id
    store.close()
    again = open_store(sqlite_url(enc_path), passphrase=PASS)
    export_eaf(again, doc, tmp_path / "out.eaf")
    again.close()
    assert compare_eaf(src, tmp_path / "out.eaf") == []


def test_wrong_or_missing_passphrase_is_one_line_and_changes_nothing(enc_store: Store, enc_path: Path) -> None:
    ensure_project(enc_store, "Study")
    enc_store.close()
    before = sha(enc_path)
    with pytest.raises(WrongPassphrase) as wrong:
        open_store(sqlite_url(enc_path), passphrase=OTHER)
    assert str(wrong.value) == f"{enc_path}: wrong passphrase"
    with pytest.raises(PassphraseRequired) as missing:
        open_store(sqlite_url(enc_path))
    assert "\n" not in str(missing.value) and str(enc_path) in str(missing.value)
    assert sha(enc_path) == before
    assert not Path(f"{enc_path}-wal").exists() or Path(f"{enc_path}-wal").stat().st_size == 0


def test_the_passphrase_is_in_no_label_url_or_message(enc_store: Store, enc_path: Path) -> None:
    shown = [enc_store.label, repr(enc_store), str(enc_store.engine.url), repr(enc_store.engine)]
    assert not any(PASS in s for s in shown)
    enc_store.close()
    try:
        open_store(sqlite_url(enc_path), passphrase=OTHER)
    except WrongPassphrase as exc:
        chain = [exc, exc.__cause__, exc.__context__]
        assert not any(e is not None and OTHER in str(e) for e in chain)


def test_a_plain_store_refuses_a_passphrase_and_the_demo_kind_stays_plain(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite"
    open_store(sqlite_url(path)).close()
    assert path.read_bytes()[:16] == cipher.SQLITE_HEADER
    with pytest.raises(StoreUnavailable, match="not encrypted"):
        open_store(sqlite_url(path), passphrase=PASS)


def test_rekey_then_the_old_passphrase_is_refused(enc_store: Store, enc_path: Path) -> None:
    ensure_project(enc_store, "Study")
    enc_store.close()
    cipher.rekey(enc_path, PASS, OTHER)
    with pytest.raises(WrongPassphrase):
        open_store(sqlite_url(enc_path), passphrase=PASS)
    s = open_store(sqlite_url(enc_path), passphrase=OTHER)
    with s.session() as ss:
        assert [p.name for p in ss.scalars(select(Project))] == ["Study"]
    s.close()
    with pytest.raises(WeakPassphrase):
        cipher.rekey(enc_path, OTHER, "short")


def test_rekey_is_refused_while_another_program_has_the_store_open(enc_store: Store, enc_path: Path) -> None:
    ensure_project(enc_store, "Study")
    enc_store.close()
    holder = hold_open(enc_path, PASS)
    try:
        with pytest.raises(StoreUnavailable, match="in use"):
            cipher.rekey(enc_path, PASS, OTHER)
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(10)
    open_store(sqlite_url(enc_path), passphrase=PASS).close()  # unchanged


# ---- the command line ---------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(args)) == code
    out, err = capsys.readouterr()
    if code:
        assert err.count("\n") == 1 and err.startswith("frontdoor: error: "), err
        return err
    return out


def test_init_is_encrypted_by_default_and_plain_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    enc = tmp_path / "study.sqlite"
    out = run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(enc))
    assert f"created a new encrypted store: {enc}" in out
    assert cipher.is_encrypted(enc) and oct(enc.stat().st_mode & 0o777) == "0o600"
    err = run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(enc), code=2)
    assert "exists there already; nothing changed" in err
    plain = tmp_path / "demo.sqlite"
    assert "plain (not encrypted)" in run(capsys, "init", "--plain", str(plain))
    assert plain.read_bytes()[:16] == cipher.SQLITE_HEADER
    assert "10 characters or more" in run(
        capsys, "--passphrase-fd", str(fd_with("short")), "init", str(tmp_path / "x.sqlite"), code=2
    )
    assert not (tmp_path / "x.sqlite").exists()


def test_the_cli_reads_the_passphrase_from_a_descriptor_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "study.sqlite"
    db = sqlite_url(path)
    run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(path))
    out = run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "new-document", "--name", "call 1")
    assert out.strip().splitlines()[-1] == "1"
    assert "schema:" in run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "db", "info")
    # no descriptor and no terminal: one line saying how to give it
    err = run(capsys, "--db", db, "documents", code=2)
    how = "give its passphrase on a file descriptor (--passphrase-fd N) or run in a terminal"
    assert err == f"frontdoor: error: {path}: encrypted; {how}\n"
    err = run(capsys, "--db", db, "--passphrase-fd", str(fd_with(OTHER)), "documents", code=2)
    assert err == f"frontdoor: error: {path}: wrong passphrase\n" and OTHER not in err
    # an environment variable may name a descriptor (never hold the passphrase)
    monkeypatch.setenv("FRONTDOOR_PASSPHRASE_FD", str(fd_with(PASS)))
    assert "call 1" in run(capsys, "--db", db, "documents")
    monkeypatch.setenv("FRONTDOOR_PASSPHRASE_FD", PASS)
    err = run(capsys, "--db", db, "documents", code=2)
    assert PASS not in err and "not the passphrase" in err
    monkeypatch.delenv("FRONTDOOR_PASSPHRASE_FD")
    # the passphrase typed where the number goes is not repeated back
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--db", db, "--passphrase-fd", PASS, "documents"])
    assert PASS not in capsys.readouterr().err


def test_passphrase_change_re_keys_the_store_and_its_backups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "study.sqlite"
    db = sqlite_url(path)
    run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(path))
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "backup")
    out = run(
        capsys,
        "--db", db, "--passphrase-fd", str(fd_with(PASS)),
        "passphrase", "change", "--new-passphrase-fd", str(fd_with(OTHER)),
    )  # fmt: skip
    assert "passphrase changed" in out and "1 backup(s) re-encrypted" in out
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "documents", code=2)
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(OTHER)), "documents")
    backups = sorted((tmp_path / "study.sqlite.backups").glob("*.sqlite"))
    assert len(backups) == 2
    for b in backups:  # the old passphrase opens none of them
        with pytest.raises(WrongPassphrase):
            cipher.connect(b, PASS)
        cipher.connect(b, OTHER).close()
    err = run(
        capsys,
        "--db", db, "--passphrase-fd", str(fd_with(PASS)),
        "passphrase", "change", "--new-passphrase-fd", str(fd_with(OTHER + "!")),
    code=2)  # fmt: skip
    assert err == f"frontdoor: error: {path}: wrong passphrase\n"


def test_passphrase_change_re_keys_the_copy_a_restore_kept_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``restore`` keeps the store as it was beside it (with its write-ahead log); after ``passphrase change``
    the old passphrase opens that copy no more than the store (found by review: it still opened it)."""
    path = tmp_path / "study.sqlite"
    db = sqlite_url(path)
    run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(path))
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "backup")
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "new-document", "--name", NOTE)
    run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "restore", "--latest")
    (aside,) = [p for p in tmp_path.glob("study.sqlite.before-restore-*") if not p.name.endswith(("-wal", "-shm"))]
    out = run(
        capsys,
        "--db", db, "--passphrase-fd", str(fd_with(PASS)),
        "passphrase", "change", "--new-passphrase-fd", str(fd_with(OTHER)),
    )  # fmt: skip
    assert "2 backup(s) re-encrypted" in out
    with pytest.raises(WrongPassphrase):
        cipher.connect(aside, PASS)
    conn = cipher.connect(aside, OTHER)  # with the commit that was in its write-ahead log
    try:
        assert conn.execute("SELECT name FROM document").fetchall() == [(NOTE,)]
    finally:
        conn.close()
    assert not Path(f"{aside}-wal").exists() and not list(tmp_path.glob(".partial-*"))


def test_restore_never_leaves_an_encrypted_store_plain_and_says_when_its_passphrase_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain backup put over an encrypted store would leave its records readable on disk (found by review: it
    was restored without a word); a backup under another passphrase is restored, and the store then opens
    with that one, which is said."""
    path = tmp_path / "study.sqlite"
    db = sqlite_url(path)
    run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(path))
    plain = tmp_path / "demo.sqlite"
    run(capsys, "init", "--plain", str(plain))
    run(capsys, "--db", sqlite_url(plain), "backup")
    (plain_backup,) = (tmp_path / "demo.sqlite.backups").glob("*.sqlite")
    err = run(capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "restore", str(plain_backup), code=2)
    assert "not encrypted, and the store is" in err and "nothing changed" in err
    assert cipher.is_encrypted(path) and not list(tmp_path.glob("study.sqlite.before-restore-*"))
    other = tmp_path / "other.sqlite"
    run(capsys, "--passphrase-fd", str(fd_with(OTHER)), "init", str(other))
    run(capsys, "--db", sqlite_url(other), "--passphrase-fd", str(fd_with(OTHER)), "backup")
    (other_backup,) = (tmp_path / "other.sqlite.backups").glob("*.sqlite")
    out = run(capsys, "--db", db, "--passphrase-fd", str(fd_with(OTHER)), "restore", str(other_backup))
    assert "note: the backup's passphrase is not the one the store had" in out and OTHER not in out
    cipher.connect(path, OTHER).close()
    out = run(capsys, "--db", db, "--passphrase-fd", str(fd_with(OTHER)), "restore", str(other_backup))
    assert "note:" not in out


def test_the_keyring_can_keep_the_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            self.kept: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.kept.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.kept[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            del self.kept[(service, username)]

    before = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        path = tmp_path / "study.sqlite"
        db = sqlite_url(path)
        run(capsys, "--passphrase-fd", str(fd_with(PASS)), "init", str(path))
        run(capsys, "--db", db, "--passphrase-fd", str(fd_with(OTHER)), "passphrase", "remember", code=2)
        assert "kept in the keyring" in run(
            capsys, "--db", db, "--passphrase-fd", str(fd_with(PASS)), "passphrase", "remember"
        )
        assert "no documents" in run(capsys, "--db", db, "documents")
        run(capsys, "--db", db, "passphrase", "forget")
        run(capsys, "--db", db, "documents", code=2)
    finally:
        keyring.set_keyring(before)
