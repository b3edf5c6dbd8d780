"""A small world for the consent tests: a project with a generated recording registered in the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from annotation.services import add_recording, ensure_project
from annotation.store.engine import Store
from media_tools.probe import probe
from media_tools.synth import make_test_recording

PROJECT = "Duty room study"


@pytest.fixture(scope="session")
def duty_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_recording(tmp_path_factory.mktemp("consent") / "duty room.mp4", seconds=12, size="320x180")


@dataclass
class World:
    store: Store
    recording_id: int
    media: Path


@pytest.fixture
def world(store: Store, duty_recording: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    info = probe(duty_recording)
    pid = ensure_project(store, PROJECT)
    rid = add_recording(
        store, pid, duty_recording, duration_ms=info.duration_ms, fps=info.fps, mime_type=info.mime_type
    )
    return World(store, rid, duty_recording)


@pytest.fixture(scope="session")
def shared_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file for property tests; each example works in a project of its own."""
    return tmp_path_factory.mktemp("consent-props") / "store.sqlite"
