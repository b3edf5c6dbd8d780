"""The names the export gate gives the files it writes, and whether a path an export record names is one of them.

Where an export's files are is written in its records (``export.folder``, ``export_item.path``) and in its
``export_finished`` audit entry (the manifest's name). On a shared server a presenter writes those, with any
client: before a destruction deletes a file they name, it checks that the file is one the gate would have
written for that export — in the export's folder, named ``e<export>-clip<clip>-v<n>-<hash>.mp4``,
``export-<export>-<time>.7z`` or ``manifest-<export>-<time>.json``. A record naming anything else (the
store, a recording, someone's documents) never gets that file deleted.
"""

from __future__ import annotations

import re
from pathlib import Path

_CLIP = re.compile(r"e(?P<export>\d+)-clip(?P<clip>\d+)-v\d+-[0-9a-f]{10}\.mp4")
_ARCHIVE = re.compile(r"export-(?P<export>\d+)-\d{8}T\d{6}Z\.7z")
_MANIFEST = re.compile(r"manifest-(?P<export>\d+)-\d{8}T\d{6}Z\.json")


def clip_name(export_id: int, clip_id: int, number: int, version_hash: str) -> str:
    return f"e{export_id}-clip{clip_id}-v{number}-{version_hash[:10]}.mp4"


def archive_name(export_id: int, stamp: str) -> str:
    return f"export-{export_id}-{stamp}.7z"


def manifest_name(export_id: int, stamp: str) -> str:
    return f"manifest-{export_id}-{stamp}.json"


def is_export_file(path: str, export_id: int, folder: str, *, clip_id: int | None = None) -> bool:
    """Whether ``path`` is a clip or an encrypted archive the gate wrote for export ``export_id`` into
    ``folder`` (a clip of ``clip_id``, when given)."""
    p = Path(path)
    if not p.is_absolute() or p.parent != Path(folder) or ".." in p.parts:
        return False
    m = _CLIP.fullmatch(p.name)
    if m is not None:
        return int(m["export"]) == export_id and (clip_id is None or int(m["clip"]) == clip_id)
    m = _ARCHIVE.fullmatch(p.name)
    return m is not None and int(m["export"]) == export_id


def is_manifest_name(name: str, export_id: int) -> bool:
    """Whether ``name`` (a bare file name, no folder) is one the gate gives export ``export_id``'s manifest."""
    m = _MANIFEST.fullmatch(name)
    return m is not None and int(m["export"]) == export_id
