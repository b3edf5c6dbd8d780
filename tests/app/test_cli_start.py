"""The command line starts fast: building its parser loads only argparse and the command modules' registration
code, never a model package's heavy dependencies; the parser's choices are light copies of the registries they
mirror; ``--version`` looks the version up only when asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotation.elan import formats
from app.cli.choices import EXPORT_FORMATS
from app.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"sqlalchemy", "alembic", "numpy", "matplotlib", "PySide6", "av", "lxml", "psycopg", "reportlab"}


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys; {code}; print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(eval(proc.stdout))  # a printed list of module names


def test_building_the_parser_loads_no_heavy_package() -> None:
    assert _loaded_after("from app.cli.main import build_parser; build_parser()") == []


def test_help_of_a_command_loads_no_heavy_package() -> None:
    code = (
        "import contextlib, io\n"
        "from app.cli.main import main\n"
        "for argv in (['--help'], ['export', '--help'], ['db', 'user', 'add', '--help'], ['--version']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)"
    )
    assert _loaded_after(f"exec({code!r})") == []


def test_the_parsers_export_formats_are_the_codecs() -> None:
    assert list(EXPORT_FORMATS) == formats()
    export = next(a for a in build_parser()._actions if getattr(a, "choices", None) and "export" in a.choices)
    fmt = next(a for a in export.choices["export"]._actions if a.dest == "format")
    assert list(fmt.choices) == formats()


def test_the_parsers_role_kinds_are_the_servers() -> None:
    from consent.server import DEFAULT_PREFIX, KINDS, roles

    assert roles.KINDS == KINDS == ("researcher", "reviewer", "presenter", "auditor")
    assert roles.DEFAULT_PREFIX == DEFAULT_PREFIX == "fd"
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "db", "user", "add", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert "--role {researcher,reviewer,presenter,auditor}" in proc.stdout


def test_version_is_printed_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"frontdoor {version('frontdoor')}\n"
    assert "show program's version number and exit" in build_parser().format_help()


def test_building_the_parser_leaves_argparse_as_it_was() -> None:
    import argparse

    before = argparse._
    build_parser()
    assert argparse._ is before
