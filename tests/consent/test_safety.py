"""Ways a clip could leave without consent, each closed: tampering, races, stale presence, re-cuts that
drop a redaction, and the media commands as a side door."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from annotation.store.engine import Store
from app.cli.main import main
from consent import audit
from consent.clips import create_clip, edit_clip, set_presence
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.errors import InvalidRequest
from consent.export.gate import export_clips, plan
from consent.participants import add_appearance, add_participant, list_participants
from consent.retention.withdrawal import destruction_list, withdraw
from consent.rows import clip as find_clip
from consent.rows import current_version
from media_tools.scratch import scratch_name
from tests.consent.conftest import PROJECT, World


def _clip_with(w: World, *people: str, start: float = 1.0, end: float = 3.0) -> int:
    for who in people:
        if not any(p.pseudonym == who for p in list_participants(w.store, PROJECT)):
            add_participant(w.store, PROJECT, who)
            add_appearance(w.store, who, w.recording_id, 0, 12_000)
    return create_clip(w.store, w.recording_id, start, end).clip_id


def _without_triggers(w: World, *sql: str) -> None:
    with w.store.engine.begin() as conn:
        if w.store.dialect == "postgresql":
            for table in ("decision", "clip_version", "audit_log"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for trig in (
                "decision_no_update",
                "decision_no_delete",
                "clip_version_no_update",
                "clip_version_no_delete",
            ):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trig}"))
        for q in sql:
            conn.execute(text(q))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "exports"
    d.mkdir()
    return d


def _check(w: World) -> str | None:
    with w.store.session() as s:
        problem = audit.check(s)
    return None if problem is None else problem.message


def test_decisions_and_versions_cannot_be_deleted(world: World) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "research_team", "withheld")
    for sql in ("DELETE FROM decision", "DELETE FROM clip_version"):
        with pytest.raises(DBAPIError) as err, world.store.engine.begin() as conn:
            conn.execute(text(sql))
        assert "rows are never" in str(err.value)


def test_a_deleted_refusal_is_found_and_nothing_is_exported(world: World, out: Path) -> None:
    c = _clip_with(world, "A", "B")
    record_decision(world.store, c, "A", "research_team", "granted")
    record_decision(world.store, c, "B", "research_team", "granted")
    refusal = record_decision(world.store, c, "B", "research_team", "withheld").decision_id
    _without_triggers(world, f"DELETE FROM decision WHERE id = {refusal}")
    assert _check(world) == f"decision {refusal}: recorded in audit entry {_entry_of(world, refusal)} but missing"
    with pytest.raises(InvalidRequest, match=r"the consent records fail their audit .*: nothing exported$"):
        export_clips(world.store, "research_team", out)
    assert list(out.iterdir()) == []


def _entry_of(w: World, decision_id: int) -> int:
    with w.store.session() as s:
        for e in audit.entries(s):
            if e.event == "decision" and json.loads(e.payload)["decision_id"] == decision_id:
                return e.id
    raise AssertionError("no entry")


def test_an_edit_changed_in_the_database_is_not_usable(world: World) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "publication", "granted")
    # stretch the consented 1-3 s clip to 1-11 s behind Frontdoor's back
    with world.store.session() as s:
        v = current_version(s, find_clip(s, c))
        spec = dict(v.spec, end=11.0)
    _without_triggers(world)
    with world.store.engine.begin() as conn:
        conn.execute(text("UPDATE clip_version SET spec = :spec"), {"spec": json.dumps(spec)})
    (p,) = plan(world.store, ExportContext("research_team", date(2026, 12, 1)), clip_ids=[c])
    assert not p.usable and p.reasons == (
        "the stored edit does not match its version hash (changed outside Frontdoor)",
    )
    assert "its edit does not match its hash" in (_check(world) or "")


def test_a_withdrawal_during_an_export_stops_that_clip(world: World, out: Path) -> None:
    c = _clip_with(world, "A", "B")
    for who in ("A", "B"):
        record_decision(world.store, c, who, "research_team", "granted")
    done = []

    def withdraw_while_rendering(_i: int, _p: object) -> None:
        if not done:
            done.append(withdraw(world.store, "B", reason="changed my mind"))

    report = export_clips(world.store, "research_team", out, progress=withdraw_while_rendering)
    assert done and report.exported == []
    assert report.skipped[0]["why"] == ["consent changed during the export: B withdrew"]
    assert [p.name for p in out.iterdir()] == [report.manifest.name]  # no clip file, not even a hidden one
    assert destruction_list(world.store) == []


def test_someone_found_to_appear_later_must_consent_too(world: World) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "research_team", "granted")
    ctx = ExportContext("research_team", date(2026, 12, 1))
    assert plan(world.store, ctx, clip_ids=[c])[0].usable
    add_participant(world.store, PROJECT, "B")
    add_appearance(world.store, "B", world.recording_id, 2_000, 2_500)
    (p,) = plan(world.store, ctx, clip_ids=[c])
    assert not p.usable and p.reasons == ("B has not decided (research_team)",)
    with pytest.raises(InvalidRequest, match="appears in the recording during this clip"):
        set_presence(world.store, c, remove=["B"])
    assert _check(world) is None


def test_a_re_cut_keeps_the_redaction_someone_asked_for(world: World) -> None:
    c = _clip_with(world, "A", "B")
    res = record_decision(
        world.store, c, "A", "external_seminar", "granted", condition_texts=["blur:0.1,0.1,0.2,0.2@1-3"]
    )
    assert res.new_version is not None
    v3 = edit_clip(world.store, c, end=3.5, extra={"redactions": []}, reason="re-cut without redactions")
    with world.store.session() as s:
        v = current_version(s, find_clip(s, c))
        assert v.number == v3.number == 3 and len(v.spec["redactions"]) == 1
        assert "conditions of consent kept" in (v.reason or "")
    # saying again what the version already has makes no new version
    again = record_decision(
        world.store, c, "A", "external_seminar", "granted", condition_texts=["blur:0.1,0.1,0.2,0.2@1-3"]
    )
    assert again.new_version is None
    with pytest.raises(
        InvalidRequest, match=r"^condition redact: 8-9 s is outside the clip \(1-3.5 s of the recording\)$"
    ):
        record_decision(world.store, c, "A", "external_seminar", "granted", condition_texts=["blur:0,0,0.1,0.1@8-9"])


def test_exports_never_overwrite_each_other(world: World, out: Path) -> None:
    c = _clip_with(world, "A")
    record_decision(world.store, c, "A", "research_team", "granted")
    mine = scratch_name(".pending-", ".mp4")
    crashed = mine.replace(f"-{os.getpid()}-", "-4194303-")  # a writer that is gone (beyond Linux's pid_max)
    (out / crashed).write_bytes(b"left by a crash")
    writer = subprocess.Popen(["sleep", "60"])  # another export into the same folder, still writing
    try:
        busy = mine.replace(f"-{os.getpid()}-", f"-{writer.pid}-")
        (out / busy).write_bytes(b"being written")
        first = export_clips(world.store, "research_team", out)
        second = export_clips(world.store, "research_team", out)
        names = sorted(p.name for p in out.iterdir())
        assert busy in names and crashed not in names  # the other export's file is left alone
        names.remove(busy)
    finally:
        writer.kill()
        writer.wait()
    assert len(names) == 4 and first.manifest.name in names and second.manifest.name in names
    assert not any(n.startswith(".pending") for n in names)
    assert first.exported[0]["output"] != second.exported[0]["output"]


def test_media_render_is_no_side_door(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "leak.json"
    spec.write_text(json.dumps({"source": str(world.media), "start": 1, "end": 2}))
    url = world.store.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "media", "render", str(spec), str(tmp_path / "leak.mp4")]) == 2
    err = capsys.readouterr().err
    assert (
        f"{world.media}: is stored recording {world.recording_id}; its clips leave only through the consent gate" in err
    )
    assert not (tmp_path / "leak.mp4").exists()


def test_the_manifest_given_out_names_no_recording_path(
    store: Store, duty_recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clip held back because its recording changed is listed in the manifest with why, which named the file
    on this machine, whose name may name the family (found by review)."""
    import shutil

    from annotation.services import add_recording, ensure_project
    from media_tools.probe import probe

    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    media = Path(shutil.copy(duty_recording, tmp_path / "Kayden Smith home visit.mp4"))
    info = probe(media)
    rid = add_recording(store, ensure_project(store, PROJECT), media, duration_ms=info.duration_ms, fps=info.fps)
    add_participant(store, PROJECT, "Worker")
    add_appearance(store, "Worker", rid, 0, 12_000)
    clip = create_clip(store, rid, 1, 3, name="call")
    record_decision(store, clip.clip_id, "Worker", "research_team", "granted")
    with open(media, "ab") as f:
        f.write(b"changed")
    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(store, "research_team", out)
    assert report.skipped[0]["why"] == ["the recording file has changed since the clip was made (its SHA-256 differs)"]
    assert "Kayden" not in next(out.glob("manifest-*.json")).read_text(encoding="utf-8")
