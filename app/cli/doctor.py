"""``frontdoor doctor``: what this machine has of what Frontdoor needs, one line each."""

from __future__ import annotations

import ctypes.util
import importlib.util
from collections.abc import Iterator


def report(db: str | None) -> Iterator[tuple[str, bool]]:
    from media_tools.errors import MediaError
    from media_tools.ffmpeg_bin import find_ffmpeg

    try:
        ff = find_ffmpeg()
        yield f"ffmpeg {ff.version} ({ff.source}: {ff.path})", True
    except MediaError as exc:
        yield str(exc), False
    from media_tools.filters import FONT

    yield (
        (f"font for titles and watermarks ({FONT})", True)
        if FONT.is_file()
        else ("font: DejaVu Sans missing, titles use fontconfig's Sans (apt-get install fonts-dejavu-core)", False)
    )
    try:
        import av

        yield f"PyAV {av.__version__}", True
    except ImportError:
        yield "PyAV: not installed (pip install av)", False
    lib = ctypes.util.find_library("vlc")
    yield (
        (f"libvlc ({lib})", True)
        if lib
        else ("libvlc: not found (apt-get install libvlc5 vlc-plugin-base vlc-plugin-video-output)", False)
    )
    qt = importlib.util.find_spec("PySide6") is not None
    yield ("PySide6", True) if qt else ("PySide6: not installed (pip install PySide6-Essentials)", False)
    if qt:
        mm = importlib.util.find_spec("PySide6.QtMultimedia") is not None
        # optional: only the player's fallback when libvlc is missing needs it
        yield (
            ("QtMultimedia (the player's fallback without libvlc)", True)
            if mm
            else ("QtMultimedia: not installed, optional (pip install 'frontdoor[qtmultimedia]')", bool(lib))
        )
    from annotation.backup import open_store_naming_backup as open_store  # names the latest backup
    from annotation.errors import AnnotationError
    from annotation.store import schema_revision

    try:
        store = open_store(db)
        yield f"database {store.label} (schema {schema_revision(store.engine)})", True
    except AnnotationError as exc:
        yield str(exc), False
