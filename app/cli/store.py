"""``frontdoor init|passphrase|backup|backups|restore``: encrypted stores, their passphrase, and backups; and
where a store's passphrase comes from for every command.

A passphrase is never a command-line argument (other users can read those in the process list) nor an
environment variable holding it in clear. It comes, in this order, from the file descriptor given by
``--passphrase-fd N`` (or named by ``$FRONTDOOR_PASSPHRASE_FD``), from the OS keyring when the ``keyring``
package has a usable backend and the passphrase was stored there (``frontdoor passphrase remember``), or
from a prompt when there is a terminal (or a dialog, for the desktop app).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV_FD = "FRONTDOOR_PASSPHRASE_FD"
KEYRING_SERVICE = "frontdoor"
#: asks the user for a passphrase (the prompt names the store); None when they cancel
Ask = Callable[[str], "str | None"]


def fd_number(text: str) -> int:
    """argparse type for a descriptor number; the message never repeats what was typed (it may be the
    passphrase itself, typed where the number belongs)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            "give the number of a file descriptor; the passphrase itself is never an argument"
        )
    return int(text)


# ---- where a passphrase comes from -------------------------------------------------------------------------


def _read_fd(args: argparse.Namespace, fd: int, what: str) -> str:
    cache: dict[int, str] = args.__dict__.setdefault("_fd_lines", {})
    if fd in cache:
        return cache[fd]
    from app.cli.main import UserError

    try:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as f:
            line = f.readline()
    except (OSError, ValueError) as exc:
        raise UserError(
            f"{what} {fd}: cannot read a passphrase from it ({getattr(exc, 'strerror', None) or exc})"
        ) from None
    value = line.rstrip("\r\n")
    if not value:
        raise UserError(f"{what} {fd}: no passphrase on it (the first line is empty)")
    cache[fd] = value
    return value


def _fd_from(args: argparse.Namespace) -> tuple[int, str] | None:
    fd = getattr(args, "store_passphrase_fd", None)  # the global option (its own dest: subcommands have theirs)
    if fd is not None:
        return fd, "--passphrase-fd"
    env = os.environ.get(ENV_FD, "").strip()
    if env:
        if not env.isdigit():
            from app.cli.main import UserError

            raise UserError(f"${ENV_FD}: give the number of a file descriptor, not the passphrase")
        return int(env), f"${ENV_FD}"
    return None


def _keyring() -> Any | None:
    """The ``keyring`` module when it is installed and has a backend that can really keep secrets."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


def _keyring_user(path: Path) -> str:
    return f"store:{path.resolve()}"


def _from_keyring(path: Path) -> str | None:
    kr = _keyring()
    if kr is None:
        return None
    try:
        value = kr.get_password(KEYRING_SERVICE, _keyring_user(path))
    except Exception:  # a locked or broken keyring is no reason to fail: the user is asked instead
        return None
    return str(value) if value else None


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _getpass(prompt: str) -> str | None:
    from getpass import getpass

    return getpass(prompt)


def current_passphrase(
    args: argparse.Namespace, label: str, path: Path | None, *, ask: Ask | None = None
) -> tuple[str, str]:
    """The passphrase of an existing encrypted store (or backup) and where it came from
    (``fd``, ``keyring`` or ``prompt``).

    Raises:
        PassphraseRequired: none of the sources has one.
    """
    from annotation.errors import PassphraseRequired

    src = _fd_from(args)
    if src is not None:
        return _read_fd(args, src[0], src[1]), "fd"
    if path is not None:
        stored = _from_keyring(path)
        if stored is not None:
            return stored, "keyring"
    if ask is not None:
        value = ask(f"Passphrase for {label}")
        if value:
            return value, "prompt"
        raise PassphraseRequired(f"{label}: encrypted; no passphrase given")
    if _interactive():
        value = _getpass(f"Passphrase for {label}: ")
        if value:
            return value, "prompt"
    raise PassphraseRequired(
        f"{label}: encrypted; give its passphrase on a file descriptor (--passphrase-fd N) or run in a terminal"
    )


def new_passphrase(args: argparse.Namespace, what: str, *, fd_attr: str | None = None) -> str:
    """A new passphrase: from a descriptor (``fd_attr``'s option, else the store's ``--passphrase-fd``), else
    asked twice at the terminal; checked for length.

    Raises:
        UserError: no terminal and no descriptor, or the two entries differ.
        WeakPassphrase: too short.
    """
    from annotation.store.cipher import check_new_passphrase
    from app.cli.main import UserError

    flag = "--" + fd_attr.replace("_", "-") if fd_attr else "--passphrase-fd"
    fd = getattr(args, fd_attr, None) if fd_attr else None
    src = (fd, flag) if fd is not None else (None if fd_attr else _fd_from(args))
    if src is not None:
        value = _read_fd(args, src[0], src[1])
    elif _interactive():
        from annotation.store.cipher import MIN_LENGTH

        value = _getpass(f"New passphrase for {what} ({MIN_LENGTH} characters or more): ") or ""
        check_new_passphrase(value, what)
        if value != _getpass("The same again: "):
            raise UserError(f"{what}: the two entries differ; nothing changed")
    else:
        raise UserError(
            f"{what}: a new passphrase is needed: give it on a file descriptor ({flag} N) or run in a terminal"
        )
    check_new_passphrase(value, what)
    return value


def open_store_for(args: argparse.Namespace, *, ask: Ask | None = None, migrate: bool = True) -> Any:
    """Open the store named by ``--db`` (or the default), with its passphrase when it is encrypted. A
    prompt or dialog is tried up to three times; a passphrase from a descriptor or the keyring once.

    Raises:
        PassphraseRequired, WrongPassphrase, StoreCorrupt, StoreUnavailable.
    """
    from annotation.errors import WrongPassphrase
    from annotation.store.engine import default_db_url, open_store, sqlite_file, store_is_encrypted

    url = args.db or default_db_url()
    if not store_is_encrypted(url):
        return open_store(args.db, migrate=migrate)
    path = sqlite_file(url)
    label = str(path)
    for attempt in range(3):
        passphrase, source = current_passphrase(args, label, path, ask=ask)
        try:
            return open_store(args.db, migrate=migrate, passphrase=passphrase)
        except WrongPassphrase as exc:
            if source != "prompt" or attempt == 2:
                hint = " (the one kept in the keyring: 'frontdoor passphrase forget')" if source == "keyring" else ""
                raise WrongPassphrase(f"{exc.message}{hint}") from None
            if ask is None:
                sys.stderr.write("wrong passphrase, try again\n")
    raise AssertionError("unreachable")


# ---- commands -----------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from annotation.store.cipher import file_state
    from annotation.store.engine import default_db_url, open_store, sqlite_file, sqlite_url
    from app.cli.main import UserError

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
    from annotation.backup.rolling import make_backup, rekey_backups
    from annotation.errors import StoreUnavailable, WrongPassphrase
    from annotation.store.cipher import rekey
    from annotation.store.engine import default_db_url, open_store, sqlite_file, store_is_encrypted
    from app.cli.main import UserError

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
        kr = _keyring()
        if kr is not None:
            kr.set_password(KEYRING_SERVICE, _keyring_user(path), new)
            print("the keyring holds the new passphrase")
    store = open_store(url, passphrase=new)
    try:
        info = make_backup(store)
        print(f"backup under the new passphrase: {info.path}")
    finally:
        store.close()
    return 0


def _keyring_action(args: argparse.Namespace, path: Path) -> int:
    from annotation.store.engine import open_store, sqlite_url
    from app.cli.main import UserError

    kr = _keyring()
    if kr is None:
        raise UserError("keyring: no usable OS keyring here (pip install keyring, and a desktop keyring service)")
    if args.action == "forget":
        try:
            kr.delete_password(KEYRING_SERVICE, _keyring_user(path))
        except Exception:
            print(f"{path}: the keyring held no passphrase for it")
            return 0
        print(f"{path}: passphrase removed from the keyring")
        return 0
    src = _fd_from(args)
    if src is not None:
        value = _read_fd(args, src[0], src[1])
    elif _interactive():
        value = _getpass(f"Passphrase for {path}: ") or ""
    else:
        raise UserError(f"{path}: give the passphrase on a file descriptor (--passphrase-fd N) or run in a terminal")
    open_store(sqlite_url(path), passphrase=value).close()  # only a passphrase that opens the store is kept
    kr.set_password(KEYRING_SERVICE, _keyring_user(path), value)
    print(f"{path}: passphrase kept in the keyring ({type(kr.get_keyring()).__name__})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    import time

    from annotation.backup.rolling import make_backup, save_setting
    from app.cli.main import _store

    if args.save_keep:
        if args.keep is None:
            from app.cli.main import UserError

            raise UserError("--save-keep: give the number with --keep N")
        save_setting("backup_keep", args.keep)
    store = _store(args)
    t0 = time.perf_counter()
    info = make_backup(store, keep=args.keep)
    took = time.perf_counter() - t0
    enc = ", encrypted" if info.encrypted else ""
    print(
        f"backup of {store.label}: {info.path} ({_size(info.size)}{enc}, schema {info.revision}, checked, {took:.1f} s)"
    )
    return 0


def cmd_backups(args: argparse.Namespace) -> int:
    from annotation.backup.rolling import backup_folder, check_backup, list_backups
    from annotation.errors import AnnotationError
    from annotation.store.engine import default_db_url, sqlite_file

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
        print(f"  {b.created_display}  {_size(b.size):>9}  {enc:<9}  schema {rev:<6}  {status}  {b.path.name}")
    return 1 if bad else 0


def cmd_restore(args: argparse.Namespace) -> int:
    from annotation.backup.rolling import latest_good_backup, restore_backup
    from annotation.errors import StoreUnavailable, WrongPassphrase
    from annotation.store import cipher
    from annotation.store.engine import default_db_url, open_store, sqlite_file
    from app.cli.main import UserError

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
    store.close()
    print(f"restored {store.label} from {backup} ({result.backup.created_display}, schema {result.revision})")
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
