"""The manual: it builds with ``mkdocs build --strict`` (no broken link or anchor, no missing page), its
command-line reference names every command of the parser, and the README stays a front page whose links
lead to files.

The build needs no network: the theme's web fonts are off and no plugin fetches anything.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).parent / "mkdocs"
README_LIMIT = 8 * 1024


def command_paths(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """``frontdoor``, ``frontdoor clip``, ``frontdoor clip create``, ...: every command the parser knows."""
    paths = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, f"{path} {name}")
    return paths


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MKDOCS.exists():
        pytest.fail(f"{MKDOCS} is missing: install the dev extra (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_docs_build_strict(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "assets" / "screenshots" / "main-window.png").is_file()


def test_cli_reference_has_every_command(site: Path) -> None:
    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    paths = command_paths(build_parser(), "frontdoor")
    assert len(paths) > 50
    missing = [p for p in paths if f">{p}<" not in page]
    assert not missing, f"not in the command-line reference: {missing}"


def test_error_reference_has_every_error_class(site: Path) -> None:
    import annotation.errors
    import consent.errors
    import media_tools.errors

    page = (site / "reference" / "errors" / "index.html").read_text(encoding="utf-8")
    for module in (annotation.errors, consent.errors, media_tools.errors):
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == module.__name__:
                assert f"<code>{name}</code>" in page, name


def test_readme_is_a_front_page() -> None:
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_LIMIT, f"README.md is {size} bytes; the manual belongs in docs/"


def test_readme_links_resolve() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    broken = []
    for link in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("#"):
            continue
        target = (ROOT / link.split("#", 1)[0]).resolve()
        if not target.exists():
            broken.append(link)
    assert not broken, f"README.md links to files that do not exist: {broken}"
