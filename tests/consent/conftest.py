"""A small world for the consent tests: a project with a generated recording registered in the store, and a
team of login roles on PostgreSQL (``team``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from annotation.services import add_recording, ensure_project
from annotation.store.engine import Store, open_store
from consent.clips import create_clip
from consent.participants import add_appearance, add_participant, set_policy
from consent.server import roles
from consent.station import passphrase
from media_tools.probe import probe
from media_tools.synth import make_test_recording
from tests.fixtures.team import ME, OTHER, STATION_PASSPHRASE, Team, drop_test_roles, login_url, new_password

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


@pytest.fixture
def team(migrated_pg_url: str, duty_recording: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Team]:
    """A team on PostgreSQL: ME and OTHER in two clips, roles under a prefix of this test's own and a login
    of each kind; every role it made is dropped afterwards, and one left behind fails the test."""
    pg_url = migrated_pg_url
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    owner = open_store(pg_url)
    prefix = f"fdt{uuid.uuid4().hex[:8]}"
    t = None
    try:
        info = probe(duty_recording)
        pid = ensure_project(owner, PROJECT)
        rid = add_recording(
            owner, pid, duty_recording, duration_ms=info.duration_ms, fps=info.fps, mime_type=info.mime_type
        )
        set_policy(owner, PROJECT, keep_real_names=True)
        me = add_participant(owner, PROJECT, ME, real_name="Alice Realname", role="duty worker")
        other = add_participant(owner, PROJECT, OTHER, real_name="Bob Realname", role="manager")
        add_appearance(owner, ME, rid, 0, 6000)
        add_appearance(owner, OTHER, rid, 0, 12_000)
        both = create_clip(owner, rid, 1, 3, name="Call about school")
        not_mine = create_clip(owner, rid, 8, 10, name="Later call")
        assert set(both.present) == {ME, OTHER} and not_mine.present == (OTHER,)
        passphrase.set_passphrase(owner, PROJECT, STATION_PASSPHRASE)

        roles.create_roles(owner, prefix)
        t = Team(pg_url, owner, prefix, rid, duty_recording, me, other, both, not_mine)
        for kind, participant in (("researcher", None), ("reviewer", ME), ("presenter", None), ("auditor", None)):
            name, pw = f"{prefix}_{kind[:3]}_login", new_password()
            roles.add_user(owner, name, kind, pw, prefix=prefix, participant=participant)
            t.urls[kind] = login_url(pg_url, name, pw)
        yield t
    finally:
        if t is not None:
            for st in t._open:
                st.close()
            for user in roles.list_users(owner):
                roles.drop_user(owner, user.name)
            roles.drop_roles(owner, prefix)
        owner.close()
        drop_test_roles(pg_url, prefix)
        with create_engine(pg_url).connect() as conn:
            assert (
                conn.execute(
                    text("SELECT count(*) FROM pg_roles WHERE rolname LIKE :p"), {"p": f"{prefix}%"}
                ).scalar_one()
                == 0
            )
