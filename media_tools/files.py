"""Files written so that a crash leaves the old file or the new one, never half of either; and their hashes.

One helper per job for the whole project: the ELAN writer, the backups, the consent forms, the export gate,
the renderer and the cache all write through :func:`write_atomic` (or :func:`replace_durably` for a file
another program wrote), and every file hash is :func:`sha256_file`. The callers wrap ``OSError`` in their
own package's error, which names the file for the user.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["replace_durably", "sha256_file", "write_atomic"]

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as 64 lowercase hex digits.

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; some file systems refuse to open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_durably(tmp: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Make the finished file ``tmp`` durable, then rename it over ``out`` and make the rename durable.

    Raises:
        OSError: the file cannot be synced or renamed (it is left where it was).
    """
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    _fsync_folder(Path(out).parent)


def write_atomic(path: str | os.PathLike[str], data: bytes | Iterable[bytes], *, make_parents: bool = False) -> None:
    """Write ``data`` (bytes, or chunks of them as they are made) to ``path`` through a temporary file in the
    same folder, synced, and an atomic rename.

    The temporary file is named ``.<name>.<random>.part`` beside ``path`` and removed on any failure, so
    an interrupted write leaves the previous file as it was.

    Raises:
        OSError: the folder is missing (unless ``make_parents``) or the file cannot be written.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:50]}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                for chunk in data:
                    f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
