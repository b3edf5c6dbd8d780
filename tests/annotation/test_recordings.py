"""Recordings: registered with their hash and paths, found again by hash after a move."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotation.errors import NotFound
from annotation.services import add_recording, ensure_project, import_file, new_document, relink_recording
from annotation.store.engine import Store
from annotation.store.tables import Recording


def test_register_and_relink_a_moved_recording(store: Store, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "media").mkdir(parents=True)
    media = project / "media" / "camera 1 ü.mp4"
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    pid = ensure_project(store, "Study")
    assert ensure_project(store, "Study") == pid
    rid = add_recording(store, pid, media, project_dir=str(project), duration_ms=1000, fps=25.0, mime_type="video/mp4")
    with store.session() as s:
        rec = s.get(Recording, rid)
        assert rec is not None
        assert rec.rel_path == "media/camera 1 ü.mp4" and len(rec.sha256) == 64
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    (tmp_path / "elsewhere" / "other.mp4").write_bytes(b"not the same")
    shutil.move(media, moved)
    assert relink_recording(store, rid, tmp_path / "elsewhere") == str(moved.resolve())
    with pytest.raises(NotFound, match="no file with its SHA-256"):
        relink_recording(store, rid, project)
    doc = new_document(store, "referral", recording_id=rid)
    assert doc > 0


def test_unknown_recording_is_refused(store: Store, corpus: Path) -> None:
    with pytest.raises(NotFound, match="recording 42"):
        import_file(store, corpus / "eaf" / "dopefishh__pympi__fto.eaf", recording_id=42)
    with pytest.raises(NotFound, match="recording 42"):
        new_document(store, "referral", recording_id=42)
