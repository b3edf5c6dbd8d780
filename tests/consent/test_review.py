"""What a review station shows one participant (SQLite and PostgreSQL), and its previews: rendered through
media_tools exactly as the gate exports the same version (checked by decoding both), refused for anyone
not in the clip, cached privately and cleared."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import select

from annotation.edits.commands import CreateAnnotation
from annotation.services import add_recording, apply_edit, ensure_project, new_document
from annotation.store.engine import Store, open_store, sqlite_url
from consent import audit
from consent.clips import create_clip, edit_clip, set_presence
from consent.decisions import ScopeDecision, record_decision, record_decisions
from consent.errors import InvalidRequest, PreviewFailed, UnknownThing
from consent.export.gate import export_clips
from consent.models import AuditEntry
from consent.participants import add_appearance, add_participant
from consent.retention.withdrawal import withdraw
from consent.rows import participant as find_participant
from consent.station import review
from media_tools import cache
from media_tools.errors import Cancelled
from media_tools.synth import make_coded_recording, read_frame_code
from tests.consent.conftest import PROJECT, World

ME = "Worker Alpha"
OTHER = "Manager Bravo"
THIRD = "Admin Charlie"
BOX = (0.1, 0.3, 0.4, 0.5)  # x, y, w, h: clear of the frame-number strip and the watermark


# ---------------------------------------------------------------------------------------------- the list


def test_only_the_participants_current_versions_and_own_decisions(world: World) -> None:
    st, rid = world.store, world.recording_id
    for who, lo, hi in ((ME, 0, 6000), (OTHER, 0, 12_000), (THIRD, 8000, 12_000)):
        add_participant(st, PROJECT, who, real_name=None, role="duty")
        add_appearance(st, who, rid, lo, hi)
    call = create_clip(st, rid, 1, 3, name="Call about school", extra={"title": {"text": "Clip 1"}})
    later = create_clip(st, rid, 9, 11, name="Later call")  # OTHER and THIRD only
    huddle = create_clip(st, rid, 4, 5, name="Huddle")
    assert set(call.present) == {ME, OTHER} and set(later.present) == {OTHER, THIRD}
    record_decision(st, call.clip_id, OTHER, "publication", "granted")  # someone else's: never shown
    record_decision(st, call.clip_id, ME, "research_team", "granted", condition_texts=["not-after:2030-01-31"])
    record_decision(st, call.clip_id, ME, "publication", "withheld")
    record_decision(st, call.clip_id, ME, "publication", "granted")  # the latest counts
    record_decision(st, huddle.clip_id, ME, "internal_training", "granted")
    edit_clip(st, huddle.clip_id, end=5.5, reason="tighter")  # that decision was on version 1

    items = review.review_items(st, ME)
    assert [(i.clip_id, i.version_number) for i in items] == [(call.clip_id, 1), (huddle.clip_id, 2)]
    first, second = items
    assert first.label == "Call about school" and first.title == "Clip 1"
    assert first.version_hash == call.version_hash
    assert first.duration_s == pytest.approx(2 + 3)  # the title card plays first
    assert (first.start_s, first.end_s, first.title_s) == (1.0, 3.0, 3.0)
    assert set(first.decisions) == {"research_team", "publication"}
    assert first.decisions["research_team"].decision == "granted"
    assert first.decisions["research_team"].described == ("not after 2030-01-31",)
    assert first.decisions["publication"].decision == "granted"
    assert second.decisions == {}  # decided on a superseded version: nothing on this one
    # nothing about anyone else, and no path to a recording
    shown = repr(items)
    for leak in (OTHER, THIRD, str(world.media), world.media.name, "abs_path"):
        assert leak not in shown
    assert [i.clip_id for i in review.review_items(st, OTHER)] == [call.clip_id, later.clip_id, huddle.clip_id]
    assert review.review_items(st, OTHER)[0].decisions.keys() == {"publication"}
    # a withdrawn participant is refused, clearly
    withdraw(st, THIRD)
    with pytest.raises(InvalidRequest, match=r"withdrew on .*nothing is shown for review"):
        review.review_items(st, THIRD)
    with pytest.raises(UnknownThing):
        review.review_items(st, "Nobody")
    with pytest.raises(UnknownThing):
        review.review_items(st, ME, project="Another study")


def test_someone_present_only_in_a_superseded_version_sees_nothing(world: World) -> None:
    st = world.store
    add_participant(st, PROJECT, ME)
    add_participant(st, PROJECT, OTHER)
    info = create_clip(st, world.recording_id, 2, 4, add_present=[ME, OTHER])
    edit_clip(st, info.clip_id, start=2.5)
    set_presence(st, info.clip_id, remove=[OTHER])  # a correction: not in the new cut
    assert review.review_items(st, OTHER) == []
    assert [i.version_number for i in review.review_items(st, ME)] == [2]


def test_decisions_for_several_uses_land_on_the_version_seen_with_one_new_version_for_a_blur(world: World) -> None:
    st = world.store
    add_participant(st, PROJECT, ME)
    info = create_clip(st, world.recording_id, 2, 4, add_present=[ME])
    (item,) = review.review_items(st, ME)
    blur = review.blur_condition(item, BOX, from_s=0.5)
    assert blur["redaction"]["start"] == 2.5 and blur["redaction"]["end"] == 4.0
    done = record_decisions(
        st,
        item.clip_id,
        ME,
        [
            ScopeDecision("research_team", "granted", (review.not_after_condition(date(2030, 1, 1)),)),
            ScopeDecision("internal_training", "granted", (blur, review.internal_audience_condition())),
            ScopeDecision("publication", "granted", (blur,)),
            ScopeDecision("external_seminar", "withheld"),
        ],
        version_hash=item.version_hash,
    )
    assert len(done.decision_ids) == 4
    assert done.new_version is not None and done.new_version.number == 2  # one new version, not two
    (now,) = review.review_items(st, ME)
    assert now.version_number == 2 and now.decisions == {}
    with st.session() as s:
        assert audit.check(s) is None
    # the version they saw is superseded now: nothing more is recorded on it, all or nothing
    with pytest.raises(InvalidRequest, match="superseded"):
        record_decisions(
            st, info.clip_id, ME, [ScopeDecision("research_team", "withheld")], version_hash=item.version_hash
        )


# ---------------------------------------------------------------------------------------------- previews


@dataclass
class Coded:
    store: Store
    media: Path
    clip_id: int
    version_hash: str  # the current version: the one with ME's blur
    first_hash: str  # the version before it
    doc: int


@pytest.fixture(scope="module")
def coded_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_recording(tmp_path_factory.mktemp("review") / "coded room.mp4", seconds=4, size="320x192")


@pytest.fixture
def coded(tmp_path: Path, coded_media: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Coded]:
    """A clip of a recording whose frames carry their number, with a coded child's name bleeped (from the
    document's Sensitive identifier tier) and ME's "blur me" condition making its second version."""
    monkeypatch.setenv("FRONTDOOR_USER", "researcher")
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path / "cache"))
    st = open_store(sqlite_url(tmp_path / "review.sqlite"))
    try:
        rid = add_recording(st, ensure_project(st, PROJECT), coded_media)
        doc = new_document(st, "referral", name="call", recording_id=rid)
        apply_edit(st, CreateAnnotation(doc, "Sensitive identifier", 1200, 1500, "child name"))
        for who in (ME, OTHER, THIRD):
            add_participant(st, PROJECT, who)
        add_appearance(st, ME, rid, 0, 4000)
        add_appearance(st, OTHER, rid, 0, 4000)
        first = create_clip(st, rid, 0.5, 2.5, name="A call", sensitive_from=doc)
        (item,) = review.review_items(st, ME)
        res = record_decision(
            st,
            first.clip_id,
            ME,
            "research_team",
            "granted",
            structured=[review.blur_condition(item, BOX)],
            version_hash=first.version_hash,
        )
        assert res.new_version is not None
        yield Coded(st, coded_media, first.clip_id, res.new_version.version_hash, first.version_hash, doc)
    finally:
        st.close()


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(float) for f in c.decode(video=0)]


def _audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])


def _pitch(samples: np.ndarray, at_s: float, rate: int = 48_000) -> float:
    """The strongest frequency in 0.1 s of mono sound from ``at_s``."""
    window = samples[int(at_s * rate) : int((at_s + 0.1) * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    return float(np.fft.rfftfreq(len(window), 1 / rate)[int(spectrum.argmax())])


def _region(a: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = a.shape
    x, y, bw, bh = box
    return a[int(y * h) : int((y + bh) * h), int(x * w) : int((x + bw) * w)]


def test_the_preview_is_the_gates_export_of_the_same_version(coded: Coded, tmp_path: Path) -> None:
    st = coded.store
    for who in (ME, OTHER):
        record_decision(st, coded.clip_id, who, "research_team", "granted", version_hash=coded.version_hash)
    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(st, "research_team", out)
    (exported,) = report.exported
    assert exported["version_hash"] == coded.version_hash
    seen: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    preview = review.render_preview(st, ME, coded.version_hash, on_progress=lambda d, t: seen.append((d, t)))
    first_time = time.perf_counter() - t0
    assert seen and seen[-1][0] == pytest.approx(seen[-1][1], abs=0.1)
    gate_frames, preview_frames = _frames(out / exported["output"]), _frames(preview)
    assert len(gate_frames) == len(preview_frames) == 50  # 2 s at 25 fps, frame-exact in both
    plain = _frames(coded.media)
    for i, (g, p) in enumerate(zip(gate_frames, preview_frames, strict=True)):
        assert (
            read_frame_code(g) == read_frame_code(p) == 13 + i
        )  # the same source frames (the first at or after 0.5 s)
        # the condition's blur is burned into both: no detail of the picture beneath
        assert _region(p, BOX).std() < _region(plain[13 + i], BOX).std() / 4
        assert np.abs(_region(p, BOX) - _region(g, BOX)).mean() < 2
        # everything above the watermark strip (the only difference: scope against review mark) matches
        assert np.abs(g[:160] - p[:160]).mean() < 2, i
    assert np.abs(gate_frames[25][168:] - preview_frames[25][168:]).mean() > 5  # the marks differ
    # the child's name is bleeped in both, sample for sample the same sound
    ga, pa = _audio(out / exported["output"]), _audio(preview)
    assert ga.shape == pa.shape and np.abs(ga - pa).max() < 1e-3
    assert _pitch(pa, 0.1) == pytest.approx(440, abs=30)  # the recording's tone
    assert _pitch(pa, 0.8) == pytest.approx(1000, abs=30)  # 1.3 s of the recording: inside the name's bleep
    # a second viewing comes from the private cache at once
    t0 = time.perf_counter()
    again = review.render_preview(st, ME, coded.version_hash)
    cached_time = time.perf_counter() - t0
    assert again == preview and cached_time < min(1.0, first_time / 3)
    assert stat.S_IMODE(preview.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(preview.stat().st_mode) == 0o600
    assert preview.parent.is_relative_to(cache.cache_dir())
    with st.session() as s:
        reviewed = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "version_reviewed")))
        assert [json.loads(e.payload) for e in reviewed] == [{"version": coded.version_hash}] * 2
        assert {e.participant_id for e in reviewed} == {find_participant(s, ME).id}
        assert audit.check(s) is None
    assert review.clear_previews() == 1
    assert not preview.exists() and list(preview.parent.iterdir()) == []


def test_the_preview_refuses_versions_the_participant_is_not_in(coded: Coded) -> None:
    st = coded.store
    with pytest.raises(InvalidRequest, match="not the current version of a clip 'Admin Charlie' is present in"):
        review.render_preview(st, THIRD, coded.version_hash)
    with pytest.raises(InvalidRequest, match="not the current version"):  # superseded by the blur
        review.render_preview(st, ME, coded.first_hash)
    with pytest.raises(InvalidRequest, match="whole version hash"):
        review.render_preview(st, ME, coded.version_hash[:12])
    with pytest.raises(InvalidRequest, match="whole version hash"):
        review.render_preview(st, ME, "../" * 21 + "x")
    withdraw(st, OTHER)
    with pytest.raises(InvalidRequest, match="withdrew"):
        review.render_preview(st, OTHER, coded.version_hash)
    assert not any(review.preview_dir().iterdir())
    with st.session() as s:
        assert not list(s.scalars(select(AuditEntry).where(AuditEntry.event == "version_reviewed")))


def test_a_changed_recording_gives_a_message_without_its_path(coded: Coded, tmp_path: Path) -> None:
    st = coded.store
    moved = tmp_path / "elsewhere.mp4"
    coded.media.rename(moved)
    try:
        with pytest.raises(PreviewFailed) as err:
            review.render_preview(st, ME, coded.version_hash)
    finally:
        moved.rename(coded.media)
    assert str(coded.media) not in err.value.message and coded.media.name not in err.value.message
    assert "tell the researcher" in err.value.message and str(coded.media) in err.value.detail


def test_a_cancelled_preview_leaves_nothing(coded: Coded) -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        review.render_preview(coded.store, ME, coded.version_hash, cancel=cancel)
    assert list(review.preview_dir().iterdir()) == []
