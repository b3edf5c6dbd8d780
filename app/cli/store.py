"""``frontdoor db|init|passphrase|backup|backups|restore``: the store itself — its schema, encryption, passphrase
and backups. Where a store's passphrase comes from for every command is in ``app.cli.common``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.common import (
    KEYRING_SERVICE,
    UserError,
    ask_terminal,
    command_store,
    current_passphrase,
    fd_number,
    interactive,
    keyring_user,
    new_passphrase,
    open_store_for,
    passphrase_fd,
    read_passphrase_fd,
    usable_keyring,
)

# ---- commands -----------------------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    from annotation.store import head_revision, schema_revision

    if args.action == "upgrade":
        store = open_store_for(args, migrate=False)
        before = schema_revision(store.engine)
        from annotation.store import upgrade_schema

        upgrade_schema(store.engine)
        after = schema_revision(store.engine)
        print(
            f"{store.label}: schema {before or 'empty'} -> {after}"
            if before != after
            else f"{store.label}: schema is up to date ({after})"
        )
        return 0
    store = open_store_for(args, migrate=False)
    rev = schema_revision(store.engine)
    print(f"database: {store.label} ({store.dialect})")
    print(f"schema:   {rev or 'empty'} (newest {head_revision()})")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.store import default_db_url, file_state, sqlite_file, sqlite_url

    if args.path and args.db:
        raise UserError("init: give either PATH or --db, not both")
    if args.path:
        target = Path(args.path).expanduser()
        if target.is_dir():
            target = target / "frontdoor.sqlite"
        url = sqlite_url(target.absolute())
    else:
        url = args.db or default_db_url()
    path = sqlite_file(url)
    if path is None:
        if not args.plain:
            raise UserError("init: a PostgreSQL store is protected by its server; use --plain to create its tables")
        store = open_store(url)
        print(f"{store.label}: store ready (schema up to date)")
        return 0
    if file_state(path) != "missing":
        raise UserError(f"{path}: a store exists there already; nothing changed")
    path.parent.mkdir(parents=True, exist_ok=True)
    passphrase = None if args.plain else new_passphrase(args, str(path))
    old_umask = os.umask(0o077)  # the store, its -wal and -shm readable by this user only
    try:
        store = open_store(url, passphrase=passphrase)
    finally:
        os.umask(old_umask)
    store.close()
    kind = "plain (not encrypted)" if args.plain else "encrypted"
    print(f"created a new {kind} store: {path}")
    if args.path:
        print(f"use it with: frontdoor --db {url!r} ...   (or set FRONTDOOR_DB)")
    return 0


def cmd_passphrase(args: argparse.Namespace) -> int:
    from annotation.backup import make_backup, rekey_backups
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.errors import StoreUnavailable, WrongPassphrase
    from annotation.store import default_db_url, rekey, sqlite_file, store_is_encrypted

    url = args.db or default_db_url()
    path = sqlite_file(url)
    if path is None or not store_is_encrypted(url):
        raise UserError(f"{path or url}: not an encrypted store (create one with 'frontdoor init')")
    if args.action in ("remember", "forget"):
        return _keyring_action(args, path)
    old, source = current_passphrase(args, str(path), path)
    store = open_store(url, passphrase=old)  # checks the old passphrase and the store before anything changes
    store.close()
    new = new_passphrase(args, str(path), fd_attr="new_passphrase_fd")
    if new == old:
        raise UserError(f"{path}: the new passphrase is the old one; nothing changed")
    try:
        rekey(path, old, new)
    except WrongPassphrase:
        raise
    except StoreUnavailable as exc:
        raise UserError(f"{exc.message}; the passphrase is unchanged") from None
    print(f"{path}: passphrase changed")
    done, left = rekey_backups(url, old, new)
    if done:
        print(f"{done} backup(s) re-encrypted under the new passphrase")
    for p in left:
        print(f"note: {p}: not re-encrypted (another passphrase, or damaged): it still opens with an older one")
    if source == "keyring":
        kr = usable_keyring()
        if kr is not None:
            kr.set_password(KEYRING_SERVICE, keyring_user(path), new)
            print("the keyring holds the new passphrase")
    store = open_store(url, passphrase=new)
    try:
        info = make_backup(store)
        print(f"backup under the new passphrase: {info.path}")
    finally:
        store.close()
    return 0


def _keyring_action(args: argparse.Namespace, path: Path) -> int:
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.store import sqlite_url

    kr = usable_keyring()
    if kr is None:
        raise UserError("keyring: no usable OS keyring here (pip install keyring, and a desktop keyring service)")
    if args.action == "forget":
        try:
            kr.delete_password(KEYRING_SERVICE, keyring_user(path))
        except Exception:
            print(f"{path}: the keyring held no passphrase for it")
            return 0
        print(f"{path}: passphrase removed from the keyring")
        return 0
    src = passphrase_fd(args)
    if src is not None:
        value = read_passphrase_fd(args, src[0], src[1])
    elif interactive():
        value = ask_terminal(f"Passphrase for {path}: ") or ""
    else:
        raise UserError(f"{path}: give the passphrase on a file descriptor (--passphrase-fd N) or run in a terminal")
    open_store(sqlite_url(path), passphrase=value).close()  # only a passphrase that opens the store is kept
    kr.set_password(KEYRING_SERVICE, keyring_user(path), value)
    print(f"{path}: passphrase kept in the keyring ({type(kr.get_keyring()).__name__})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    import time

    from annotation.backup import save_setting
    from consent.anchors import backup

    if args.save_keep:
        if args.keep is None:
            raise UserError("--save-keep: give the number with --keep N")
        save_setting("backup_keep", args.keep)
    store = command_store(args)
    t0 = time.perf_counter()
    info = backup(store, keep=args.keep)  # its sidecar and the anchor log carry the consent log's head
    assert info is not None
    took = time.perf_counter() - t0
    enc = ", encrypted" if info.encrypted else ""
    print(
        f"backup of {store.label}: {info.path} ({_size(info.size)}{enc}, schema {info.revision}, checked, {took:.1f} s)"
    )
    return 0


def cmd_backups(args: argparse.Namespace) -> int:
    from annotation.backup import backup_folder, check_backup, list_backups
    from annotation.errors import AnnotationError
    from annotation.store import default_db_url, sqlite_file

    url = args.db or default_db_url()
    items = list_backups(url)
    folder = backup_folder(url)
    if not items:
        print(f"no backups in {folder} (make one with 'frontdoor backup')")
        return 0
    print(f"backups in {folder} (newest first):")
    bad = 0
    for b in items:
        status = b.status
        if args.verify:
            try:
                key = None
                if b.encrypted:
                    key = current_passphrase(args, str(b.path), sqlite_file(url))[0]
                check_backup(b.path, passphrase=key)
                status = "ok (verified now)"
            except AnnotationError as exc:
                status = f"FAILS: {exc.message}"
                bad += 1
        enc = "encrypted" if b.encrypted else "plain"
        rev = b.revision or "?"
        head = f"  audit head {str(b.note['audit_head']).split(':')[0]}" if b.note.get("audit_head") else ""
        print(f"  {b.created_display}  {_size(b.size):>9}  {enc:<9}  schema {rev:<6}  {status}  {b.path.name}{head}")
    return 1 if bad else 0


def cmd_restore(args: argparse.Namespace) -> int:
    from annotation.backup import latest_good_backup, restore_backup
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.errors import StoreUnavailable, WrongPassphrase
    from annotation.store import cipher, default_db_url, sqlite_file

    url = args.db or default_db_url()
    if args.latest == bool(args.file):
        raise UserError("restore: give a backup FILE or --latest (see 'frontdoor backups')")
    if args.latest:
        latest = latest_good_backup(url)
        if latest is None:
            raise UserError(f"{sqlite_file(url) or url}: no good backup to restore (see 'frontdoor backups')")
        backup = latest.path
    else:
        backup = Path(args.file).expanduser()
    key = None
    if backup.suffix != ".dump" and backup.is_file() and cipher.is_encrypted(backup):
        key = current_passphrase(args, f"the backup {backup.name}", sqlite_file(url))[0]
    path = sqlite_file(url)
    other_key = False  # the backup opens with a passphrase the store does not: the store's changes with it
    if key is not None and path is not None and cipher.is_encrypted(path):
        try:
            cipher.connect(path, key, timeout=2.0).close()
        except WrongPassphrase:
            other_key = True
        except StoreUnavailable:
            pass
    result = restore_backup(url, backup, passphrase=key)
    store = open_store(url, passphrase=key)  # the restored store, brought to the newest schema
    try:
        from consent.verification import verify_records

        rolled_back = verify_records(store).rolled_back
    finally:
        store.close()
    print(f"restored {store.label} from {backup} ({result.backup.created_display}, schema {result.revision})")
    if rolled_back:
        print(
            "note: consent changes anchored after this backup are not in it: exports are refused until you "
            "record them again and acknowledge the rollback ('frontdoor audit acknowledge-rollback --reason ...')"
        )
    if result.set_aside is not None:
        print(f"the store as it was is kept as {result.set_aside}")
    if other_key:
        print(
            "note: the backup's passphrase is not the one the store had: the store now opens with the backup's "
            "(change it with 'frontdoor passphrase change'; one kept in the keyring: 'frontdoor passphrase remember')"
        )
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


# ---- parsers ------------------------------------------------------------------------------------------------


def add_db_parser(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    """Register ``frontdoor db`` (schema upgrade and info; server roles and users from ``app.cli.roles``)."""
    from app.cli.roles import add_db_parsers

    s = sub(
        subs,
        "db",
        "database schema: 'upgrade' migrates an older store, 'info' shows its state; on a shared PostgreSQL "
        "server 'roles' and 'user' say who may do what",
        "frontdoor --db postgresql://user:pw@host/frontdoor db upgrade",
        cmd_db,
    )
    add_db_parsers(s, parser_class)


def add_store_parsers(subs: Any, sub: Callable[..., argparse.ArgumentParser], parser_class: type) -> None:
    s = sub(
        subs,
        "init",
        "create a new store: encrypted (asks the passphrase twice) unless --plain",
        "frontdoor init ~/study/frontdoor.sqlite",
        cmd_init,
    )
    s.add_argument("path", nargs="?", help="the new store's file (or a folder for frontdoor.sqlite); default: --db")
    s.add_argument("--plain", action="store_true", help="not encrypted (a demo or test store)")

    s = sub(
        subs,
        "passphrase",
        "an encrypted store's passphrase: 'change' re-keys the store and its backups; keyring remember/forget",
        "frontdoor passphrase change",
        cmd_passphrase,
    )
    s.add_argument("action", choices=["change", "remember", "forget"])
    s.add_argument(
        "--new-passphrase-fd", type=fd_number, metavar="N", help="scripts: read the new passphrase from descriptor N"
    )

    s = sub(
        subs,
        "backup",
        "back up the store now (consistent while in use, checked), keeping the newest N",
        "frontdoor backup --keep 20",
        cmd_backup,
    )
    s.add_argument("--keep", type=int, metavar="N", help="backups to keep (default: your setting, else 10)")
    s.add_argument("--save-keep", action="store_true", help="make --keep N your default")

    s = sub(subs, "backups", "list the store's backups with size, time and status", "frontdoor backups", cmd_backups)
    s.add_argument("--verify", action="store_true", help="check every backup now (integrity and schema)")

    s = sub(
        subs,
        "restore",
        "replace the store with a checked backup (the current store is kept aside)",
        "frontdoor restore --latest",
        cmd_restore,
    )
    s.add_argument("file", nargs="?", help="a backup file (see 'frontdoor backups')")
    s.add_argument("--latest", action="store_true", help="the newest good backup")
