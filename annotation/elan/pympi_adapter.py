"""Handing stored documents to existing pympi-ling scripts, and Praat TextGrid through pympi.

pympi loses CVE_REF, EXT_REF and LANG_REF on annotations when it writes EAF (measured by
``bench/pympi_loss.py``), so Frontdoor never writes EAF through it; reading is fine. ``to_pympi`` gives a
script the ``pympi.Elan.Eaf`` it expects, parsed from Frontdoor's own EAF 3.0 output.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from annotation.elan.model import EafDocument
from annotation.elan.writer import write_eaf


def to_pympi(doc: EafDocument) -> Any:
    """A ``pympi.Elan.Eaf`` holding the document (as pympi reads Frontdoor's EAF 3.0 output)."""
    import pympi

    fd, tmp = tempfile.mkstemp(suffix=".eaf")
    os.close(fd)
    try:
        write_eaf(doc, tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pympi.Elan.Eaf(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)
