"""The export gate: the one function that decides which clip versions may leave and renders exactly those,
and the names of the files it writes (which a destruction checks before deleting one)."""

from __future__ import annotations

from consent.export import files
from consent.export.gate import Planned, export_clips, export_spec, plan, refuse_stored_recording

__all__ = ["Planned", "export_clips", "export_spec", "files", "plan", "refuse_stored_recording"]
