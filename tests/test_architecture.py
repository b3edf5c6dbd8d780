"""House rules checked by the suite: layering (import-linter), lint and types on the model packages."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_layers_and_no_qt_outside_app() -> None:
    proc = _run(str(BIN / "lint-imports"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean() -> None:
    proc = _run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout
    proc = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout


def test_mypy_clean_on_model_packages() -> None:
    proc = _run(str(BIN / "mypy"))
    assert proc.returncode == 0, proc.stdout


def test_model_packages_import_without_qt() -> None:
    code = (
        "import sys, annotation.services, annotation.elan.exports, media_tools.probe, app.cli.main;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'vlc')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = _run(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- the layout: no module cycles, no private names across modules, small modules, public surfaces ---------

PACKAGES = ("annotation", "consent", "media_tools", "app")

#: Modules allowed past 600 lines, each one cohesive class (say why here when adding one).
LONG_MODULES: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            rel = p.relative_to(ROOT)
            if "versions" in rel.parts:  # Alembic revisions are loaded by Alembic, one file per revision
                continue
            name = ".".join(rel.with_suffix("").parts)
            found[name.removesuffix(".__init__")] = p
    return found


def _imports(mods: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    """Each module's imports of other project modules, and every private name taken from another module."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    private: list[str] = []
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in mods else node.module
                    if target in mods and target != mod:
                        edges[mod].add(target)
                    if alias.name.startswith("_") and full not in mods:
                        private.append(f"{mod} imports {alias.name} from {node.module}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods and alias.name != mod:
                        edges[mod].add(alias.name)
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    edges, _ = _imports(_modules())
    assert _cycles(edges) == []


def test_no_private_name_imported_from_another_module() -> None:
    _, private = _imports(_modules())
    assert private == []


def test_no_module_over_600_lines_unless_named() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600 and name not in LONG_MODULES
    }
    assert long == {}


def _subpackages() -> list[str]:
    return sorted(
        name
        for name, path in _modules().items()
        if path.name == "__init__.py" and "." in name and "migrations" not in name
    )


def test_every_subpackage_declares_its_public_names() -> None:
    """Each subpackage's ``__init__`` says what it holds and lists in ``__all__`` names that all exist (ruff's
    RUF022 keeps the list sorted)."""
    missing: list[str] = []
    for name in _subpackages():
        mod = importlib.import_module(name)
        if not (mod.__doc__ or "").strip():
            missing.append(f"{name}: no docstring")
        public = getattr(mod, "__all__", None)
        if not public:
            missing.append(f"{name}: no __all__")
            continue
        missing += [f"{name}.{n}: listed in __all__ but missing" for n in public if not hasattr(mod, n)]
    assert missing == []


def test_front_ends_and_siblings_use_public_surfaces() -> None:
    """Outside a subpackage, names are taken from the subpackage itself and are in its ``__all__``."""
    mods = _modules()
    subpackages = _subpackages()
    bad: list[str] = []
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module in mods):
                continue
            target = str(node.module)
            owner = max((p for p in subpackages if target == p or target.startswith(p + ".")), key=len, default=None)
            if owner is None or mod == owner or mod.startswith(owner + "."):
                continue  # a top-level module, or an import inside the subpackage itself
            if target != owner:
                bad.append(f"{mod}: imports {target} instead of {owner}")
                continue
            public = set(getattr(importlib.import_module(owner), "__all__", ()))
            bad += [f"{mod}: {a.name} is not in {owner}.__all__" for a in node.names if a.name not in public]
    assert bad == []
