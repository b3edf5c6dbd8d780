"""The on-disk cache for probes, waveforms and thumbnails, keyed by the SHA-256 of the media file.

Hashing a one-hour recording takes seconds, so the hash itself is remembered against the file's identity
(device, inode, size, modification and change times in ns): a second call on an unchanged file reads the hash from a
small index, and any change to the file (a re-encode, a copy over it) makes a new hash and so a new entry.
Entries are written with :func:`media_tools.files.write_atomic` (temporary file, synced, then rename), so
two processes can share the cache and a crash leaves no half-written entry. ``FRONTDOOR_CACHE`` overrides the
folder (``FRONTDOOR_HOME/cache`` when that is set, else the platform's per-user cache folder).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from media_tools.files import sha256_file, write_atomic


def cache_dir() -> Path:
    """The cache folder (created on first use)."""
    env = os.environ.get("FRONTDOOR_CACHE")
    if env:
        d = Path(env)
    elif os.environ.get("FRONTDOOR_HOME"):
        d = Path(os.environ["FRONTDOOR_HOME"]) / "cache"
    else:
        from platformdirs import user_cache_path

        d = user_cache_path("frontdoor", appauthor=False)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _identity(path: Path) -> str:
    st = path.stat()
    # ctime too: a program can put back a file's mtime after changing it, but not its ctime
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, remembered against its identity so an unchanged file is hashed once."""
    p = Path(path).resolve()
    ident = _identity(p)
    key = hashlib.sha256(f"{p}\0{ident}".encode("utf-8", "surrogateescape")).hexdigest()
    entry = cache_dir() / "hashes" / key[:2] / key
    try:
        stored = entry.read_text(encoding="ascii").strip()
        if len(stored) == 64:
            return stored
    except OSError:
        pass
    digest = sha256_file(p)
    if _identity(p) == ident:  # not changed while we read it
        write_atomic(entry, digest.encode("ascii"), make_parents=True)
    return digest


def read_json(kind: str, key: str) -> Any | None:
    """A cached JSON entry, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((cache_dir() / kind / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(kind: str, key: str, value: Any) -> None:
    """Store ``value`` as the JSON entry of ``kind`` for ``key`` (atomically; the folder is made if need be)."""
    write_atomic(cache_dir() / kind / key[:2] / f"{key}.json", json.dumps(value).encode("utf-8"), make_parents=True)


def entry_path(kind: str, key: str, suffix: str) -> Path:
    """Where a binary cache entry of ``kind`` for ``key`` lives (the caller writes it with
    :func:`media_tools.files.write_atomic` and ``make_parents=True``)."""
    return cache_dir() / kind / key[:2] / f"{key}{suffix}"


def forget(sha256: str) -> int:
    """Delete every cache entry derived from the file with this SHA-256 (probes, thumbnails, waveform
    peaks, form stills: their keys start with it) and the remembered hashes that name it; returns how many
    files went. Used when the file itself is destroyed: the cache must not outlive it."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"{sha256!r} is not a SHA-256")
    root = cache_dir()
    gone = 0
    for kind in root.iterdir():
        if not kind.is_dir() or kind.is_symlink():
            continue
        if kind.name == "hashes":
            for entry in kind.glob("*/*"):
                try:
                    named = entry.read_text(encoding="ascii").strip() == sha256
                except (OSError, UnicodeDecodeError):
                    continue
                if named:
                    entry.unlink(missing_ok=True)
                    gone += 1
            continue
        for entry in (kind / sha256[:2]).glob(f"{sha256}*"):
            if entry.is_file() or entry.is_symlink():
                entry.unlink(missing_ok=True)
                gone += 1
    return gone
