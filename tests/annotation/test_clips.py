"""Annotations into edit specs: caption cues from a tier, bleeps over coded sensitive identifiers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotation.clips import CAPTION_REMOVED, caption_cues, find_document, resolve_spec, sensitive_audio_redactions
from annotation.edits.commands import CreateAnnotation
from annotation.elan.scheme import SENSITIVE_TIER
from annotation.errors import NotFound
from annotation.services import apply_edit, new_document
from annotation.store.engine import Store
from media_tools.render import render
from media_tools.spec import AudioRedaction, Cue, parse_spec
from media_tools.synth import make_coded_recording
from tests.media_tools.conftest import decode_audio, rms


def _doc(store: Store) -> int:
    doc = new_document(store, name="duty room 3 March")
    for tier, a, b, v in [
        (SENSITIVE_TIER, 2000, 2400, "child name"),
        (SENSITIVE_TIER, 2500, 2700, "school"),
        (SENSITIVE_TIER, 8000, 8300, "address"),
        ("Notes", 1000, 2500, "Caller gives the school's concern"),
        ("Notes", 2600, 2800, "  "),
        ("Notes", 9000, 9500, "later note"),
    ]:
        apply_edit(store, CreateAnnotation(doc, tier, a, b, v))
    return doc


def test_sensitive_identifiers_become_merged_audio_redactions_with_a_margin(store: Store) -> None:
    doc = _doc(store)
    got = sensitive_audio_redactions(store, doc, margin=0.25)
    assert got == (
        AudioRedaction("bleep", 1.75, 2.95, "sensitive identifier (2 annotations)"),
        AudioRedaction("bleep", 7.75, 8.55, "sensitive identifier (1 annotation)"),
    )
    assert sensitive_audio_redactions(store, doc, start=5, end=7.8, kind="mute", margin=0.0) == ()
    assert [a.start for a in sensitive_audio_redactions(store, doc, start=5, end=7.8, kind="mute")] == [7.75]


def test_margin_never_runs_before_the_recording_and_text_never_leaves(store: Store) -> None:
    doc = new_document(store, name="early")
    apply_edit(store, CreateAnnotation(doc, SENSITIVE_TIER, 100, 300, "Jayden Smith"))  # typed, not coded
    (got,) = sensitive_audio_redactions(store, doc, margin=0.5)
    assert got.start == 0.0
    assert "Jayden" not in str(got)
    with pytest.raises(ValueError, match=r"margin -0\.1: must be 0 or more seconds"):
        sensitive_audio_redactions(store, doc, margin=-0.1)


def test_caption_cues_and_resolving_a_spec(store: Store) -> None:
    doc = _doc(store)
    assert caption_cues(store, doc, "Notes", 2.0, 9.2) == (
        Cue(1.0, 2.5, "Caller gives the school's concern"),
        Cue(9.0, 9.5, "later note"),
    )
    assert find_document(store, "duty room 3 March") == doc == find_document(store, str(doc))
    spec = parse_spec(
        {
            "source": "x.mp4",
            "start": 1.5,
            "end": 3.0,
            "audio": [{"kind": "mute", "start": 1.5, "end": 1.6}],
            "captions": {"document": "duty room 3 March", "tier": "Notes", "mode": "soft"},
        }
    )
    resolved = resolve_spec(store, spec, redact_sensitive=doc)
    assert resolved.captions is not None and resolved.captions.resolved
    # the note is over the coded name: its caption does not show the transcript's words (the bleep takes the
    # name out of the sound only)
    assert resolved.captions.cues == (Cue(1.0, 2.5, CAPTION_REMOVED),)
    kept = resolve_spec(store, spec)  # without --redact-sensitive the cue is as written
    assert kept.captions is not None and kept.captions.cues == (Cue(1.0, 2.5, "Caller gives the school's concern"),)
    assert resolved.captions.mode == "soft"
    assert [(a.kind, a.start, a.end) for a in resolved.audio] == [("mute", 1.5, 1.6), ("bleep", 1.75, 2.95)]


def test_unknown_document_or_tier_is_one_line(store: Store) -> None:
    doc = _doc(store)
    with pytest.raises(NotFound, match=r"^document 'nope': not found"):
        find_document(store, "nope")
    with pytest.raises(NotFound, match=r"^document \d+: no tier 'Transcript' \(tiers: "):
        caption_cues(store, doc, "Transcript", 0, 1)


def test_a_coded_name_is_bleeped_in_the_rendered_clip(tmp_path: Path) -> None:
    from annotation.store.engine import open_store, sqlite_url

    store = open_store(sqlite_url(tmp_path / "s.sqlite"))
    try:
        doc = _doc(store)
        src = make_coded_recording(tmp_path / "duty.mp4", seconds=4, tone_db=-12)
        spec = resolve_spec(store, parse_spec({"source": str(src), "start": 1.0, "end": 4.0}), redact_sensitive=doc)
        x, rate = decode_audio(render(spec, tmp_path / "clip.mp4").output)
    finally:
        store.close()
    # bleeped from 1.75 to 2.95 s of the source: 0.75 to 1.95 s of the clip
    inside = x[int(0.76 * rate) : int(1.94 * rate)]
    spectrum = np.abs(np.fft.rfft(inside))
    freqs = np.fft.rfftfreq(inside.size, 1 / rate)
    assert abs(freqs[int(np.argmax(spectrum))] - 1000) < 5
    assert spectrum[np.abs(freqs - 440) < 3].max() < spectrum.max() / 100
    assert rms(x[int(0.1 * rate) : int(0.7 * rate)]) > 0.1  # the speech before is kept
