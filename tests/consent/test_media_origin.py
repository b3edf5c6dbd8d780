"""A document whose time starts inside its recording (ELAN's TIME_ORIGIN): every conversion from document time
to the recording's time adds the origin, so a name coded at document time 3.0 s is bleeped where it is heard
in the recording (5.0 s), and captions and appearances land where they belong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from annotation.clips import caption_cues, media_origin, sensitive_audio_redactions
from annotation.edits.commands import CreateAnnotation
from annotation.elan.scheme import PARTICIPANTS_TIER, SENSITIVE_TIER
from annotation.identifiers.spans import standing_sensitive_spans
from annotation.services import apply_edit, ensure_project, export_eaf, import_file, new_document
from consent.clips import create_clip
from consent.conditions import ExportContext
from consent.decisions import record_decision
from consent.export.gate import export_clips, plan
from consent.models import Appearance
from consent.participants import add_participant, appearances_from_tier
from consent.rows import clip as find_clip
from consent.rows import current_version
from tests.consent.conftest import PROJECT, World
from tests.media_tools.conftest import decode_audio

ORIGIN = 2000


def _peak_hz(x: np.ndarray[Any, Any], rate: int, a: float, b: float) -> float:
    seg = x[int(a * rate) : int(b * rate)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return float(np.fft.rfftfreq(len(seg), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture
def shifted(world: World, tmp_path: Path) -> int:
    """A coded document of the world's recording whose time 0 is 2 s into the file."""
    store = world.store
    base = new_document(store, "referral", name="template")
    apply_edit(store, CreateAnnotation(base, SENSITIVE_TIER, 3000, 3500, "child name"))
    apply_edit(store, CreateAnnotation(base, "Notes", 1000, 2000, "worker reads back"))
    apply_edit(store, CreateAnnotation(base, PARTICIPANTS_TIER, 0, 6000, "Worker"))
    eaf = tmp_path / "shifted.eaf"
    export_eaf(store, base, eaf)
    text = eaf.read_text(encoding="utf-8")
    descriptor = (
        f'<MEDIA_DESCRIPTOR MEDIA_URL="{world.media.resolve().as_uri()}" MIME_TYPE="video/mp4" TIME_ORIGIN="{ORIGIN}"/>'
    )
    text = text.replace('TIME_UNITS="milliseconds">', f'TIME_UNITS="milliseconds">{descriptor}', 1)
    assert descriptor in text
    eaf.write_text(text, encoding="utf-8")
    return import_file(store, eaf, recording_id=world.recording_id, project_id=ensure_project(store, PROJECT)).doc_id


def test_the_origin_is_taken_from_the_descriptor_and_added_everywhere(world: World, shifted: int) -> None:
    store = world.store
    assert media_origin(store, shifted) == ORIGIN
    with store.session() as s:
        assert standing_sensitive_spans(s, world.recording_id) == [(5000, 5500)]
    assert [(r.kind, r.start, r.end) for r in sensitive_audio_redactions(store, shifted, margin=0.25)] == [
        ("bleep", 4.75, 5.75)
    ]
    assert [(c.start, c.end) for c in caption_cues(store, shifted, "Notes", 0, 12)] == [(3.0, 4.0)]
    add_participant(store, PROJECT, "Worker")
    appearances_from_tier(store, shifted)
    with store.session() as s:
        assert [(a.start_ms, a.end_ms) for a in s.query(Appearance)] == [(2000, 8000)]


def test_a_consented_clip_is_bleeped_where_the_name_is_heard(world: World, shifted: int, tmp_path: Path) -> None:
    store = world.store
    add_participant(store, PROJECT, "Worker")
    appearances_from_tier(store, shifted)
    clip = create_clip(store, world.recording_id, 4.0, 7.0, name="the name", sensitive_from=shifted)
    record_decision(store, clip.clip_id, "Worker", "research_team", "granted")
    (p,) = plan(store, ExportContext("research_team", p_today()))
    assert p.usable
    out = tmp_path / "out"
    out.mkdir()
    (item,) = export_clips(store, "research_team", out).exported
    x, rate = decode_audio(out / item["output"])
    assert abs(_peak_hz(x, rate, 1.1, 1.4) - 1000) < 5  # recording 5.1-5.4 s: bleeped
    assert abs(_peak_hz(x, rate, 0.1, 0.6) - 440) < 5  # recording 4.1-4.6 s: the source's tone


def p_today() -> Any:
    from datetime import date

    return date.today()


def test_the_command_line_takes_the_origin_too(
    world: World, shifted: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``clip create --annotation DOC:ID`` cuts where the annotation is heard in the recording, and ``identifiers
    confirm`` names the clips that cover the confirmed span in the recording's time (found by review: both used
    document time)."""
    from annotation.identifiers.proposals import list_proposals, scan_document
    from annotation.identifiers.watch_list import WatchEntry, add_watch_terms
    from app.cli.main import main

    store = world.store
    url = store.engine.url.render_as_string(hide_password=False)
    add_participant(store, PROJECT, "Worker")
    appearances_from_tier(store, shifted)
    (note,) = _ann_ids(store, shifted, "Notes")
    assert main(["--db", url, "clip", "create", str(world.recording_id), "--annotation", f"{shifted}:{note}"]) == 0
    out = capsys.readouterr().out
    clip_id = int(out.strip().splitlines()[-1])
    with store.session() as s:
        v = current_version(s, find_clip(s, clip_id))
        assert (v.spec["start"], v.spec["end"]) == (3.0, 4.0)  # document 1.0-2.0 s, origin 2 s
    # a clip at recording 6-8 s covers the document's 4.0-4.5 s; one at 4.0-4.5 s does not
    later = create_clip(store, world.recording_id, 6.0, 8.0, name="later")
    create_clip(store, world.recording_id, 4.0, 4.5, name="early")
    apply_edit(store, CreateAnnotation(shifted, "Notes", 4000, 4500, "mum said Kayden"))
    add_watch_terms(store, PROJECT, [WatchEntry("name", "Kayden")])
    scan_document(store, shifted, tiers=["Notes"])
    (p,) = list_proposals(store, shifted)
    assert main(["--db", url, "identifiers", "confirm", str(p.id)]) == 0
    out = capsys.readouterr().out
    assert f"bleeped in the next export of clip {later.clip_id} (" in out


def _ann_ids(store: Any, doc: int, tier: str) -> list[str]:
    from annotation.services import document_display

    return [s.ann_id for s in document_display(store, doc)[tier]]
