"""The ``frontdoor`` command line: builds the parser from each command module's registration and runs the
chosen command. No Qt at module level: the GUI is imported only by ``frontdoor app`` and ``frontdoor review``.

Errors a user can cause end with exit status 2 and one line on stderr: ``frontdoor: error: <thing>: <problem>``.
Anything else is a bug: its traceback goes to the log file and the user gets one line naming that file.

The command modules import ``app.cli.common`` and never this module, so ``app.cli`` has no import cycle.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from annotation.errors import AnnotationError
from app.cli.common import PROG, CliParser, UserError, add_command, fd_number, one_line


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("frontdoor")
    except PackageNotFoundError:
        return "0+unknown"


class VersionAction(argparse.Action):
    """``--version``: argparse's own, except that the installed version is looked up only when it is asked
    for (``importlib.metadata`` is a noticeable share of the command line's start)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show program's version number and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kw: object) -> None:
        sys.stdout.write(f"{PROG} {_version()}\n")
        parser.exit()


@contextmanager
def _argparse_words_looked_up_once() -> Iterator[None]:
    """argparse translates its own words ("options", "show this help message and exit"...) for every parser
    and argument, and gettext searches the disk for a catalogue on each call: building the ~100 parsers of
    ``frontdoor`` asked it the same few words hundreds of times, a good part of the start. While the parser is
    built, each word is looked up once (the answer cannot change within a process)."""
    original = argparse._
    argparse._ = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        argparse._ = original


def build_parser() -> argparse.ArgumentParser:
    """The ``frontdoor`` parser with every subcommand, in the order ``frontdoor --help`` lists them."""
    with _argparse_words_looked_up_once():
        return _build_parser()


def _build_parser() -> argparse.ArgumentParser:
    from app.cli.analysis import add_analysis_parsers
    from app.cli.consent import add_consent_parsers
    from app.cli.desktop import add_app_parser, add_demo_parser, add_doctor_parser
    from app.cli.documents import add_document_parsers
    from app.cli.faces import add_faces_parser
    from app.cli.identifiers import add_identifiers_parser
    from app.cli.media import add_media_parser
    from app.cli.projects import add_project_parser
    from app.cli.records import add_records_parsers
    from app.cli.retention import add_retention_parsers
    from app.cli.store import add_db_parser, add_store_parsers

    p = CliParser(
        prog=PROG,
        description="Frontdoor: annotate duty-room recordings in ELAN format, seek consent, export clips.",
        epilog="example:\n  frontdoor import-eaf session1.eaf\n  frontdoor export-eaf 1 session1-out.eaf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # "--pass SECRET" must never be taken for --passphrase-fd
    )
    p.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (default: $FRONTDOOR_DB, else the per-user SQLite file)",
    )
    p.add_argument(
        "--passphrase-fd",
        dest="store_passphrase_fd",
        type=fd_number,
        metavar="N",
        help="an encrypted store's passphrase: read from descriptor N (else the keyring, else asked)",
    )
    p.add_argument("--version", action=VersionAction)
    subs = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    for register in (
        add_document_parsers,
        add_db_parser,
        add_demo_parser,
        add_app_parser,
        add_media_parser,
        add_consent_parsers,
        add_records_parsers,
        add_analysis_parsers,
        add_identifiers_parser,
        add_faces_parser,
        add_project_parser,
        add_store_parsers,
        add_retention_parsers,
        add_doctor_parser,
    ):
        register(subs, add_command, CliParser)
    return p


def _log_path() -> Path:
    from annotation.store import user_data_dir

    return user_data_dir() / "frontdoor.log"


def main(argv: Sequence[str] | None = None) -> int:
    from consent.errors import ConsentError
    from media_tools.errors import MediaError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (AnnotationError, MediaError, ConsentError, UserError) as exc:
        sys.stderr.write(f"{PROG}: error: {one_line(str(exc))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader went away (`frontdoor records list | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that flushing at exit does not raise again
        return 141
    except Exception as exc:  # a bug: keep the traceback for the log, one line for the user
        path = _log_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                import traceback  # only a bug pays for it

                f.write(traceback.format_exc())
        except OSError:
            path = Path(os.devnull)
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {one_line(str(exc))} (traceback in {path})\n")
        return 1
    finally:
        # let go of the store at once: a command run in this process next (tests, the GUI's own calls)
        # must not find it held open (re-keying and restoring need it to themselves)
        store = args.__dict__.get("_open_store")
        if store is not None:
            store.close()


if __name__ == "__main__":
    sys.exit(main())
