"""The researcher's preferences, kept per user beside the log: recently opened documents (per store) and
changed keyboard shortcuts. Plain JSON written atomically; an unreadable file is set aside, never fatal.

Nothing sensitive goes here: a store is named by its printable label (no password), a document by its id,
project and name; a document of an encrypted store by its id only (its name and project's name are in the
store, encrypted, and may name a family: they are read from the store when the menu is shown).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from annotation.store import user_data_dir
from media_tools.files import write_atomic

log = logging.getLogger(__name__)

RECENT_MAX = 10


def _path(name: str) -> Path:
    return user_data_dir() / name


def _load(name: str, default: Any) -> Any:
    p = _path(name)
    try:
        value = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s): starting afresh", p, exc)
        with contextlib.suppress(OSError):
            p.replace(p.with_suffix(".unreadable"))
        return default
    return value if isinstance(value, type(default)) else default


def _save(name: str, value: Any) -> None:
    write_atomic(_path(name), json.dumps(value, indent=1, ensure_ascii=False).encode("utf-8"), make_parents=True)


# ---- recent documents ---------------------------------------------------------------------------------------


def recent_documents(store_label: str) -> list[dict[str, Any]]:
    """The documents last opened from this store, newest first: ``{"doc_id", "name", "project"}``."""
    return [dict(e) for e in _load("recent.json", []) if isinstance(e, dict) and e.get("store") == store_label]


def remember_document(store_label: str, doc_id: int, name: str | None, project: str | None) -> None:
    """Put a document first in the store's list. Without ``name`` (a document of an encrypted store) it is
    kept by id only, and names an older version of the list kept for this store are dropped too."""
    entries = [
        e
        for e in _load("recent.json", [])
        if isinstance(e, dict) and not (e.get("store") == store_label and e.get("doc_id") == doc_id)
    ]
    if name is None:
        entries = [
            {k: v for k, v in e.items() if k not in ("name", "project")} if e.get("store") == store_label else e
            for e in entries
        ]
        entry: dict[str, Any] = {"store": store_label, "doc_id": doc_id, "opened": int(time.time())}
    else:
        entry = {"store": store_label, "doc_id": doc_id, "name": name, "project": project, "opened": int(time.time())}
    entries.insert(0, entry)
    mine = [e for e in entries if e.get("store") == store_label][:RECENT_MAX]
    others = [e for e in entries if e.get("store") != store_label][: RECENT_MAX * 4]
    try:
        _save("recent.json", mine + others)
    except OSError as exc:  # a read-only home: the list is a convenience
        log.warning("cannot remember recent documents: %s", exc)


def forget_document(store_label: str, doc_id: int) -> None:
    entries = [
        e
        for e in _load("recent.json", [])
        if isinstance(e, dict) and not (e.get("store") == store_label and e.get("doc_id") == doc_id)
    ]
    try:
        _save("recent.json", entries)
    except OSError as exc:
        log.warning("cannot update recent documents: %s", exc)


# ---- shortcuts ----------------------------------------------------------------------------------------------


def shortcut_overrides() -> dict[str, str]:
    """Changed shortcuts: action id -> key sequence in portable text ("" removes the shortcut)."""
    raw = _load("shortcuts.json", {})
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str)}


def save_shortcut_overrides(overrides: dict[str, str]) -> None:
    """Raises OSError when the preferences cannot be written."""
    _save("shortcuts.json", dict(sorted(overrides.items())))
