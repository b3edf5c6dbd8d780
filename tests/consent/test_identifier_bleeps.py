"""A sensitive identifier found by a scan and confirmed by the researcher is bleeped in the next export of a
clip that covers it, checked on real renders (ffmpeg): not before it is confirmed, and without a new clip
version (only sound is taken away, so the consent given to the version still holds). On PostgreSQL the
same holds for a presenter and a review station, who may not read the annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from annotation.clips import resolve_spec
from annotation.edits.commands import CreateAnnotation
from annotation.elan.scheme import SENSITIVE_TIER
from annotation.errors import AccessDenied
from annotation.identifiers.proposals import list_proposals, scan_document
from annotation.identifiers.watch_list import WatchEntry, add_watch_terms
from annotation.services import apply_edit, ensure_project, new_document
from app.cli.main import main
from consent.clips import create_clip
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.errors import InvalidRequest
from consent.export.gate import export_clips, export_spec, plan
from consent.models import AuditEntry, ClipVersion
from consent.participants import add_appearance, add_participant
from consent.station import review
from media_tools.spec import parse_spec
from tests.consent.conftest import PROJECT, World
from tests.fixtures.team import ME, OTHER, TODAY, Team
from tests.fixtures.transcripts import transcript_document, transcript_scheme
from tests.media_tools.conftest import decode_audio

CHILD = "Kayden"
WORKER = "Duty worker A"


def _peak_hz(x: np.ndarray[Any, Any], rate: int, a: float, b: float) -> float:
    seg = x[int(a * rate) : int(b * rate)]
    spectrum = np.abs(np.fft.rfft(seg))
    return float(np.fft.rfftfreq(seg.size, 1 / rate)[int(np.argmax(spectrum))])


def _export(store: Any, out: Path) -> tuple[Path, dict[str, Any]]:
    out.mkdir()
    report = export_clips(store, "research_team", out)
    (item,) = report.exported
    return out / item["output"], item


@pytest.fixture(scope="module")
def scheme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return transcript_scheme(tmp_path_factory.mktemp("scheme"))


def test_a_confirmed_identifier_is_bleeped_in_the_next_export_of_a_consented_clip(
    world: World, scheme: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = world.store
    pid = ensure_project(store, PROJECT)
    add_participant(store, PROJECT, WORKER)
    add_appearance(store, WORKER, world.recording_id, 0, 12_000)
    doc = transcript_document(
        store,
        scheme,
        [(4000, 5000, "mum said Kayden was not at school"), (8500, 9000, "thanks, bye")],
        project_id=pid,
        recording_id=world.recording_id,
    )
    add_watch_terms(store, PROJECT, [WatchEntry("name", CHILD, label="child name")])
    clip = create_clip(store, world.recording_id, 2.0, 8.0, name="school call", sensitive_from=doc)
    record_decision(store, clip.clip_id, WORKER, "research_team", "granted")

    # the scan proposes; nothing changes for the clip and its export is not bleeped
    assert scan_document(store, doc).new == 1
    (proposal,) = list_proposals(store, doc)
    ctx = ExportContext("research_team", TODAY)
    (p,) = plan(store, ctx)
    assert (p.usable, p.version_hash) == (True, clip.version_hash)
    before, _ = _export(store, tmp_path / "before")
    x, rate = decode_audio(before)
    assert abs(_peak_hz(x, rate, 2.1, 2.9) - 440) < 5  # source 4.1-4.9 s: the name is heard

    # confirmed: the next export bleeps it (with the margin), the version and its consent stay
    url = store.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "identifiers", "confirm", str(proposal.id)]) == 0
    out = capsys.readouterr().out
    assert f"bleeped in the next export of clip {clip.clip_id} (their versions and consents stay" in out
    assert "; 1 file exported from them before now is not changed" in out
    assert CHILD.lower() not in out.lower()
    (p,) = plan(store, ctx)
    assert (p.usable, p.version_hash, p.version_number) == (True, clip.version_hash, 1)
    after, item = _export(store, tmp_path / "after")
    x, rate = decode_audio(after)
    for a, b in ((1.8, 3.2), (2.1, 2.9)):  # source 3.75-5.25 s, clip 1.75-3.25 s
        assert abs(_peak_hz(x, rate, a, b) - 1000) < 5
    assert abs(_peak_hz(x, rate, 0.2, 1.6) - 440) < 5 and abs(_peak_hz(x, rate, 3.5, 5.8) - 440) < 5
    assert item["version_hash"] == clip.version_hash
    manifest = json.dumps(item)  # with the render's own manifest: the spec it rendered, bleeps and all
    assert "coded after this version was made" in manifest and CHILD.lower() not in manifest.lower()

    # the media commands' own path (resolve_spec) sees the confirmed annotation too
    spec = resolve_spec(store, parse_spec({"source": "x.mp4", "start": 2.0, "end": 8.0}), redact_sensitive=doc)
    assert [(a.start, a.end) for a in spec.audio] == [(3.75, 5.25)]
    # the same annotation twice is not bleeped twice: a clip made now carries it in its own edit
    again = create_clip(store, world.recording_id, 3.0, 6.0, sensitive_from=doc)
    with store.session() as s:
        v = s.scalar(select(ClipVersion).where(ClipVersion.version_hash == again.version_hash))
        assert v is not None
        assert [(a.start, a.end) for a in export_spec(v, world.media, "m", store=store).audio] == [(3.75, 5.25)]
        payloads = " ".join(e.payload for e in s.scalars(select(AuditEntry)))
    assert CHILD.lower() not in payloads.lower()


@pytest.mark.postgres
def test_presenters_and_stations_bleep_what_they_may_not_read(team: Team, tmp_path: Path) -> None:
    o = team.owner
    doc = new_document(o, name="coded call", recording_id=team.recording_id)
    apply_edit(o, CreateAnnotation(doc, SENSITIVE_TIER, 1500, 2000, "child name"))  # after the clip was made
    record_decision(o, team.both.clip_id, ME, "internal_training", "granted")
    record_decision(o, team.both.clip_id, OTHER, "internal_training", "granted")

    pr = team.as_("presenter")
    out = tmp_path / "out"
    out.mkdir()
    report = export_clips(pr, "internal_training", out)
    (item,) = report.exported
    x, rate = decode_audio(out / item["output"])
    assert abs(_peak_hz(x, rate, 0.3, 1.2) - 1000) < 5  # clip 1-3 s: 1.25-2.25 s of the source bleeped
    assert abs(_peak_hz(x, rate, 1.4, 1.95) - 440) < 5

    station = team.as_("reviewer")
    preview = review.render_preview(station, ME, team.both.version_hash)
    x, rate = decode_audio(preview)
    assert abs(_peak_hz(x, rate, 0.3, 1.2) - 1000) < 5

    spans = "SELECT start_ms, end_ms FROM frontdoor_sensitive_spans(:r)"
    assert team.raw(pr, spans, r=team.recording_id) == [(1500, 2000)]
    assert team.raw(station, spans, r=team.recording_id) == [(1500, 2000)]
    assert team.raw(team.as_("auditor"), spans, r=team.recording_id) == []
    for sql in ("SELECT term FROM watch_term", "SELECT * FROM identifier_proposal", "SELECT value FROM annotation"):
        for who in (pr, station):
            with pytest.raises(AccessDenied):
                team.raw(who, sql)


def test_a_caption_over_a_sensitive_identifier_does_not_show_it(world: World, scheme: Path, tmp_path: Path) -> None:
    """The bleep takes the name out of the sound; a caption from the transcript would still show it (found by
    review: the exported file's subtitles and its manifest held "Kayden"). Cues elsewhere stay."""
    import subprocess

    store = world.store
    pid = ensure_project(store, PROJECT)
    add_participant(store, PROJECT, WORKER)
    add_appearance(store, WORKER, world.recording_id, 0, 12_000)
    doc = transcript_document(
        store,
        scheme,
        [(2000, 3000, "duty desk, hello"), (4000, 5000, f"mum said {CHILD} was not at school")],
        project_id=pid,
        recording_id=world.recording_id,
    )
    apply_edit(store, CreateAnnotation(doc, SENSITIVE_TIER, 4000, 5000, "child name"))
    captions = {"captions": {"mode": "soft", "document": str(doc), "tier": "Transcript"}}
    clip = create_clip(store, world.recording_id, 2.0, 8.0, name="call", sensitive_from=doc, extra=captions)
    record_decision(store, clip.clip_id, WORKER, "research_team", "granted")
    out = tmp_path / "out"
    report = _export(store, out)[1]
    (path,) = out.glob("e*.mp4")
    subs = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:s", "-f", "srt", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "duty desk, hello" in subs and "[identifier removed]" in subs and CHILD not in subs
    manifest = next(out.glob("manifest-*.json")).read_text(encoding="utf-8")
    assert CHILD not in manifest and CHILD not in json.dumps(report)
    # the review station's preview is rendered through the same spec
    with store.session() as s:
        v = s.scalar(select(ClipVersion).where(ClipVersion.version_hash == clip.version_hash))
        assert v is not None
        cues = export_spec(v, world.media, "m", store=store).captions
        stored = json.dumps(v.spec)  # a clip made with --redact-sensitive keeps no caption text over one either
    assert cues is not None and [c.text for c in cues.cues] == ["duty desk, hello", "[identifier removed]"]
    assert CHILD not in stored and "duty desk, hello" in stored


def test_a_clip_takes_its_sensitive_identifiers_from_a_document_of_its_recording(world: World, tmp_path: Path) -> None:
    """From a document linked to no recording, an identifier confirmed after the clip was made was never
    bleeped (the gate reads the recording's documents); from another recording's, the bleeps land on times
    that mean nothing here (found by review). Both are refused, in one line that says what to do."""
    import shutil

    from annotation.services import add_recording

    store = world.store
    pid = ensure_project(store, PROJECT)
    unlinked = new_document(store, name="coding imported without --recording", project_id=pid)
    other_rec = add_recording(store, pid, shutil.copy(world.media, tmp_path / "second camera.mp4"))
    other = new_document(store, name="coding of the second camera", recording_id=other_rec)
    for doc in (unlinked, other):
        apply_edit(store, CreateAnnotation(doc, SENSITIVE_TIER, 3000, 3500, "child name"))
    for doc, what in ((unlinked, "is linked to no recording"), (other, f"codes recording {other_rec}")):
        with pytest.raises(InvalidRequest, match=rf"^document {doc}: {what}, not recording {world.recording_id}: "):
            create_clip(store, world.recording_id, 2.0, 8.0, sensitive_from=doc)
    mine = new_document(store, name="coding", recording_id=world.recording_id)
    apply_edit(store, CreateAnnotation(mine, SENSITIVE_TIER, 3000, 3500, "child name"))
    assert create_clip(store, world.recording_id, 2.0, 8.0, sensitive_from=str(mine)).number == 1
