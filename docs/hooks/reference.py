"""MkDocs hook that writes the generated parts of the manual at build time, so they cannot drift from the code.

- ``<!-- cli-reference -->`` in a page becomes the command-line reference: every command and subcommand of
  ``app.cli.main.build_parser()``, walked recursively, with its usage, help, arguments and example.
- ``<!-- error-tree -->`` becomes the error classes of ``annotation``, ``consent`` and ``media_tools``: each
  package's drawn tree (its ``errors`` module docstring) and every class with its base and docstring.
- ``<!-- edit-spec-fields -->`` becomes a table of every field of ``resources/schemas/edit-spec.schema.json``.
- ``<!-- import-contracts -->`` becomes the import-linter contracts of ``pyproject.toml``.
- The screenshots in ``resources/screenshots/`` are served as ``assets/screenshots/*.png`` (one copy of each
  picture in the repository, the README's).

A placeholder that cannot be filled (an import error, say) fails the build rather than leaving a gap.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 100  # usage lines wrapped at this width, whatever the terminal of the build
ERROR_MODULES = ("annotation.errors", "consent.errors", "media_tools.errors")


# ---- the command-line reference -------------------------------------------------------------------------


def _formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    return parser.formatter_class(prog=parser.prog, width=WIDTH)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = _formatter(parser)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, in the order they were added; aliases once."""
    out: list[tuple[str, str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            out.append((name, helps.get(name, ""), sub))
    return out


def _argument_line(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = _formatter(parser)
    if action.option_strings:
        if action.nargs == 0:
            name = ", ".join(action.option_strings)
        else:
            metavar = formatter._format_args(action, action.dest.upper())
            name = ", ".join(f"{opt} {metavar}" for opt in action.option_strings)
    else:
        name = formatter._format_args(action, action.dest)
    notes = []
    if action.help and action.help != argparse.SUPPRESS:
        notes.append(_escape(formatter._expand_help(action)))
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        notes.append("one of: " + ", ".join(f"`{c}`" for c in action.choices))
    if action.required and action.option_strings:
        notes.append("required")
    if (
        action.option_strings
        and action.default not in (None, False, argparse.SUPPRESS)
        and action.nargs != 0
        and "%(default)" not in (action.help or "")
    ):
        notes.append(f"default: `{action.default}`")
    text = "; ".join(notes)
    return f"- `{name}`" + (f": {text}" if text else "")


def _escape(text: str) -> str:
    """Text from the parser or a docstring as Markdown: one line, with no character Markdown would read as
    markup outside its code spans (``x`` in a docstring becomes `x`)."""
    parts = re.split(r"(``[^`]+``|`[^`]+`)", " ".join(text.split()))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append("`" + part.strip("`") + "`")
            continue
        for ch in ("\\", "`", "*", "_", "[", "]"):
            part = part.replace(ch, "\\" + ch)
        out.append(part.replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def _command_markdown(path: str, help_text: str, parser: argparse.ArgumentParser, depth: int) -> list[str]:
    level = "#" * min(depth + 1, 6)
    lines = [f"{level} {path}", ""]
    description = parser.description or help_text
    if description:
        lines += [_escape(description), ""]
    lines += ["```text", _usage(parser), "```", ""]
    subs = _subcommands(parser)
    positionals = [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction) and a.help != argparse.SUPPRESS
    ]
    options = [
        a
        for a in parser._actions
        if a.option_strings and a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
    ]
    if positionals:
        lines += ["**Arguments**", ""] + [_argument_line(parser, a) for a in positionals] + [""]
    if options:
        lines += ["**Options**", ""] + [_argument_line(parser, a) for a in options] + [""]
    if subs:
        lines += ["**Commands**", ""]
        lines += [f"- [`{name}`](#{_anchor(f'{path} {name}')}): {_escape(h)}" for name, h, _ in subs]
        lines.append("")
    if parser.epilog:
        lines += ["```text", textwrap.dedent(parser.epilog).strip(), "```", ""]
    for name, sub_help, sub in subs:
        lines += _command_markdown(f"{path} {name}", sub_help, sub, depth + 1)
    return lines


def _anchor(heading: str) -> str:
    """The id MkDocs' default ``toc`` slugify gives a heading made of words, dashes and spaces."""
    return "-".join(heading.lower().split())


def cli_reference() -> str:
    """The whole command-line reference as Markdown, from ``app.cli.main.build_parser()``."""
    from app.cli.main import build_parser

    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser = build_parser()
        return "\n".join(_command_markdown(parser.prog, parser.description or "", parser, 1))
    finally:
        if old_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old_columns


# ---- the error tree -------------------------------------------------------------------------------------


def error_tree() -> str:
    """Each package's errors: the tree its module docstring draws, then every class with its docstring."""
    lines: list[str] = []
    for module_name in ERROR_MODULES:
        module = importlib.import_module(module_name)
        package = module_name.split(".")[0]
        lines += [f"## {package}", "", f"From `{package}/errors.py`:", ""]
        lines += ["```text", inspect.cleandoc(module.__doc__ or "").strip(), "```", ""]
        classes = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module_name
        ]
        for cls in classes:
            base = cls.__bases__[0].__name__
            doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ and cls.__doc__ != BaseException.__doc__ else ""
            lines.append(f"- **`{cls.__name__}`** ({base})" + (f": {_escape(doc)}" if doc else ""))
        lines.append("")
    return "\n".join(lines)


# ---- the edit spec -------------------------------------------------------------------------------------

SCHEMA_WORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "minItems", "default")


def _schema_rows(node: dict[str, Any], path: str, required: bool, rows: list[str]) -> None:
    kind = node.get("type", "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "enum" in node:
        kind = "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    limits = [f"{word} {json.dumps(node[word])}" for word in SCHEMA_WORDS if word in node]
    text = "; ".join(limits + ([node["description"]] if "description" in node else []))
    if path:
        cell = _escape(text).replace("|", "\\|")
        rows.append(f"| `{path}` | {kind} | {'yes' if required else ''} | {cell} |")
    if node.get("type") == "object":
        needed = set(node.get("required", []))
        for name, child in node.get("properties", {}).items():
            _schema_rows(child, f"{path}.{name}" if path else name, name in needed, rows)
    items = node.get("items")
    if isinstance(items, dict):
        _schema_rows(items, f"{path}[]", False, rows)


def edit_spec_fields() -> str:
    """Every field of the edit spec schema as one table row: its path, type, whether required, its limits."""
    schema = json.loads((ROOT / "resources" / "schemas" / "edit-spec.schema.json").read_text(encoding="utf-8"))
    rows = ["| Field | Type | Required | Limits and meaning |", "| --- | --- | --- | --- |"]
    _schema_rows(schema, "", True, rows)
    return "\n".join(rows) + "\n"


# ---- the import contracts -------------------------------------------------------------------------------


def import_contracts() -> str:
    """The import-linter contracts of ``pyproject.toml``, one entry each."""
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"].get("contracts", [])
    lines: list[str] = []
    for contract in contracts:
        lines.append(f"- **{_escape(contract['name'])}** (`{contract['type']}`)")
        for key, value in contract.items():
            if key in ("name", "type", "id"):
                continue
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(f"`{v}`" for v in values) or "none"
            lines.append(f"    - {key.replace('_', ' ')}: {shown}")
    return "\n".join(lines) + "\n"


# ---- MkDocs events --------------------------------------------------------------------------------------

PLACEHOLDERS = {
    "<!-- cli-reference -->": cli_reference,
    "<!-- error-tree -->": error_tree,
    "<!-- import-contracts -->": import_contracts,
    "<!-- edit-spec-fields -->": edit_spec_fields,
}


def on_startup(**kwargs: Any) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def on_files(files: Files, config: Any) -> Files:
    for png in sorted((ROOT / "resources" / "screenshots").glob("*.png")):
        files.append(File.generated(config, f"assets/screenshots/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    for placeholder, render in PLACEHOLDERS.items():
        if placeholder in markdown:
            markdown = markdown.replace(placeholder, render())
    return markdown
