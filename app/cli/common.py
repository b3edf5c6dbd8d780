"""What every ``frontdoor`` command module shares: the user-error type, the parser class and the helper that
registers a subcommand, argument types (times, from ``app.time_input``; document ids; descriptor numbers),
opening the store of ``--db`` with its passphrase, reading a secret from a file descriptor, and the progress
line.

It is the bottom of ``app.cli``: command modules import it, it imports none of them (and no Qt), so the
command modules and ``app.cli.main`` form no import cycle.

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
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from app.time_input import parse_time

if TYPE_CHECKING:
    from media_tools.ffmpeg_bin import Progress

__all__ = [
    "ENV_FD",
    "KEYRING_SERVICE",
    "PROG",
    "Ask",
    "CliParser",
    "UserError",
    "add_command",
    "ask_terminal",
    "command_store",
    "current_passphrase",
    "doc_id",
    "fd_number",
    "interactive",
    "keyring_user",
    "new_passphrase",
    "open_store_for",
    "parse_time",
    "passphrase_fd",
    "progress_printer",
    "read_fd",
    "read_passphrase_fd",
    "usable_keyring",
]

PROG = "frontdoor"
ENV_FD = "FRONTDOOR_PASSPHRASE_FD"
KEYRING_SERVICE = "frontdoor"
#: asks the user for a passphrase (the prompt names the store); None when they cancel
Ask = Callable[[str], "str | None"]


class UserError(Exception):
    """A problem with what the user asked for, reported as one line (``frontdoor: error: ...``, exit 2)."""


def one_line(message: str) -> str:
    """A message as one line: line breaks and other control characters in it (a file name may hold them)
    are written as escapes, so that the error is always exactly one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


class CliParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``frontdoor: error:`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{PROG}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def add_command(
    subs: Any, name: str, help: str, example: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Register subcommand ``name`` on ``subs`` with its help as description, an example as epilog, and
    ``func`` as what runs it."""
    p: argparse.ArgumentParser = subs.add_parser(
        name,
        help=help,
        description=help,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=func)
    return p


# ---- argument types ---------------------------------------------------------------------------------------


def doc_id(text: str) -> int:
    """argparse type for a stored document's id.

    Raises:
        argparse.ArgumentTypeError: not a number.
    """
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a document id (a number; see 'frontdoor documents')")
    return int(text)


def seconds_arg(text: str) -> float:
    """argparse type: seconds from any time ``parse_time`` reads (``62.04s``, ``01:02.5``...)."""
    return parse_time(text) / 1000


def date_arg(text: str) -> date:
    """argparse type: a day as ``YYYY-MM-DD``.

    Raises:
        argparse.ArgumentTypeError: not such a date.
    """
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def fd_number(text: str) -> int:
    """argparse type for a descriptor number; the message never repeats what was typed (it may be the
    passphrase itself, typed where the number belongs).

    Raises:
        argparse.ArgumentTypeError: not a number.
    """
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            "give the number of a file descriptor; the passphrase itself is never an argument"
        )
    return int(text)


# ---- secrets on a file descriptor -------------------------------------------------------------------------


def read_fd(fd: int, what: str) -> str:
    """The first line of what a script passes on file descriptor ``fd`` (never the command line, which
    other users can read in the process list).

    Raises:
        UserError: the descriptor cannot be read (``what`` names the option that gave it).
    """
    try:
        with os.fdopen(fd, "r", encoding="utf-8") as f:
            line = f.readline()
    except (OSError, ValueError) as exc:
        raise UserError(f"{what} {fd}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    return line.rstrip("\r\n")


def read_passphrase_fd(args: argparse.Namespace, fd: int, what: str) -> str:
    """A passphrase from descriptor ``fd``, read once per command (a second use of the same descriptor gets
    the same line).

    Raises:
        UserError: the descriptor cannot be read, or its first line is empty.
    """
    cache: dict[int, str] = args.__dict__.setdefault("_fd_lines", {})
    if fd in cache:
        return cache[fd]
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


# ---- where a store's passphrase comes from ----------------------------------------------------------------


def passphrase_fd(args: argparse.Namespace) -> tuple[int, str] | None:
    """The descriptor the store's passphrase is on (``--passphrase-fd`` or ``$FRONTDOOR_PASSPHRASE_FD``) and
    the name to report it by; None when neither is given.

    Raises:
        UserError: the environment variable holds something other than a number.
    """
    fd = getattr(args, "store_passphrase_fd", None)  # the global option (its own dest: subcommands have theirs)
    if fd is not None:
        return fd, "--passphrase-fd"
    env = os.environ.get(ENV_FD, "").strip()
    if env:
        if not env.isdigit():
            raise UserError(f"${ENV_FD}: give the number of a file descriptor, not the passphrase")
        return int(env), f"${ENV_FD}"
    return None


def usable_keyring() -> Any | None:
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


def keyring_user(path: Path) -> str:
    """The keyring's user name for the store at ``path``."""
    return f"store:{path.resolve()}"


def _from_keyring(path: Path) -> str | None:
    kr = usable_keyring()
    if kr is None:
        return None
    try:
        value = kr.get_password(KEYRING_SERVICE, keyring_user(path))
    except Exception:  # a locked or broken keyring is no reason to fail: the user is asked instead
        return None
    return str(value) if value else None


def interactive() -> bool:
    """Whether there is a terminal to ask at."""
    return sys.stdin is not None and sys.stdin.isatty()


def ask_terminal(prompt: str) -> str | None:
    """A secret typed at the terminal, not echoed."""
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

    src = passphrase_fd(args)
    if src is not None:
        return read_passphrase_fd(args, src[0], src[1]), "fd"
    if path is not None:
        stored = _from_keyring(path)
        if stored is not None:
            return stored, "keyring"
    if ask is not None:
        value = ask(f"Passphrase for {label}")
        if value:
            return value, "prompt"
        raise PassphraseRequired(f"{label}: encrypted; no passphrase given")
    if interactive():
        value = ask_terminal(f"Passphrase for {label}: ")
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
    from annotation.store import check_new_passphrase

    flag = "--" + fd_attr.replace("_", "-") if fd_attr else "--passphrase-fd"
    fd = getattr(args, fd_attr, None) if fd_attr else None
    src = (fd, flag) if fd is not None else (None if fd_attr else passphrase_fd(args))
    if src is not None:
        value = read_passphrase_fd(args, src[0], src[1])
    elif interactive():
        from annotation.store import MIN_LENGTH

        value = ask_terminal(f"New passphrase for {what} ({MIN_LENGTH} characters or more): ") or ""
        check_new_passphrase(value, what)
        if value != ask_terminal("The same again: "):
            raise UserError(f"{what}: the two entries differ; nothing changed")
    else:
        raise UserError(
            f"{what}: a new passphrase is needed: give it on a file descriptor ({flag} N) or run in a terminal"
        )
    check_new_passphrase(value, what)
    return value


# ---- opening the store ------------------------------------------------------------------------------------


def open_store_for(args: argparse.Namespace, *, ask: Ask | None = None, migrate: bool = True) -> Any:
    """Open the store named by ``--db`` (or the default), with its passphrase when it is encrypted. A
    prompt or dialog is tried up to three times; a passphrase from a descriptor or the keyring once.

    Raises:
        PassphraseRequired, WrongPassphrase, StoreCorrupt, StoreUnavailable.
    """
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.errors import WrongPassphrase
    from annotation.store import default_db_url, sqlite_file, store_is_encrypted

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


def command_store(args: argparse.Namespace, ask: Any = None) -> Any:
    """The store of ``--db`` (or the default), opened once per command (``main`` closes it); an encrypted
    one with its passphrase (a descriptor, the keyring, or ``ask``/a terminal prompt).

    Raises:
        PassphraseRequired, WrongPassphrase, StoreCorrupt, StoreUnavailable.
    """
    cached = args.__dict__.get("_open_store")
    if cached is None:
        cached = args.__dict__["_open_store"] = open_store_for(args, ask=ask)
    return cached


# ---- progress ---------------------------------------------------------------------------------------------


def progress_printer(label: str, quiet: bool) -> Callable[[Progress], None] | None:
    """A one-line progress display on stderr when it is a terminal (None when quiet or not a terminal)."""
    if quiet or not sys.stderr.isatty():
        return None
    lock = threading.Lock()

    def show(p: Progress) -> None:
        with lock:
            bar = "#" * int(p.fraction * 30)
            speed = f" {p.speed:.1f}x" if p.speed else ""
            end = "\n" if p.fraction >= 1.0 else ""
            sys.stderr.write(f"\r{label} [{bar:<30}] {p.fraction * 100:5.1f}%{speed}   {end}")
            sys.stderr.flush()

    return show
