"""The edit spec: the schema in resources/, the rules it cannot state, one line naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from media_tools.errors import SpecError
from media_tools.spec import SCHEMA_PATH, Keyframe, Redaction, check_rules, load_spec, parse_spec

GOOD: dict[str, Any] = {
    "source": "clip source.mp4",
    "start": 1.5,
    "end": 4.0,
    "mode": "smart",
    "redactions": [
        {
            "kind": "blur",
            "start": 2,
            "end": 3,
            "keyframes": [
                {"t": 2, "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2},
                {"t": 3, "x": 0.5, "y": 0.1, "w": 0.3, "h": 0.2},
            ],
        }
    ],
    "audio": [{"kind": "bleep", "start": 2.5, "end": 2.9, "note": "child's first name"}],
    "captions": {"mode": "soft", "cues": [{"start": 2, "end": 3, "text": "Caller: school"}]},
    "title": {"text": "Clip 1"},
    "watermark": "internal training only",
}


def with_(path: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(GOOD))
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


def test_schema_is_valid_json_schema() -> None:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_good_spec_round_trips_and_has_a_stable_identity(tmp_path: Path) -> None:
    f = tmp_path / "spec.json"
    f.write_text(json.dumps(GOOD))
    spec = load_spec(f)
    assert spec.source == tmp_path / "clip source.mp4"  # relative to the spec's folder
    assert spec.must_reencode
    again = parse_spec(spec.to_dict())
    assert again == spec
    assert spec.version_hash("ab" * 32) == again.version_hash("ab" * 32)
    moved = spec.with_changes(source=Path("/elsewhere/renamed.mp4"))
    assert moved.version_hash("ab" * 32) == spec.version_hash("ab" * 32)  # identity follows the bytes
    assert spec.with_changes(end=4.04).version_hash("ab" * 32) != spec.version_hash("ab" * 32)
    assert spec.version_hash("cd" * 32) != spec.version_hash("ab" * 32)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("end", 1.0, "spec.json: end: 1 s is not after start (1.5 s)"),
        ("start", -1, "spec.json: start: -1 is less than the minimum of 0"),
        ("mode", "fast", "spec.json: mode: 'fast' is not one of ['accurate', 'copy', 'smart']"),
        ("colour", "red", "spec.json: unknown key 'colour'"),
        ("end", _DELETE, "spec.json: 'end' is required"),
        (
            "redactions.0.keyframes.1.x",
            1.3,
            "spec.json: redactions[0].keyframes[1].x: 1.3 is greater than the maximum of 1",
        ),
        (
            "redactions.0.keyframes.1.w",
            0.6,
            "spec.json: redactions[0].keyframes[1].w: the box runs past the right edge of the frame (x + w = 1.1 > 1)",
        ),
        (
            "redactions.0.keyframes.0.h",
            0.95,
            "spec.json: redactions[0].keyframes[0].h: "
            "the box runs past the bottom edge of the frame (y + h = 1.05 > 1)",
        ),
        (
            "redactions.0.keyframes.1.t",
            2,
            "spec.json: redactions[0].keyframes[1].t: 2 s is not after the previous keyframe (2 s)",
        ),
        (
            "redactions.0.kind",
            "smudge",
            "spec.json: redactions[0].kind: 'smudge' is not one of ['blur', 'pixelate', 'box']",
        ),
        ("redactions.0.keyframes", [], "spec.json: redactions[0].keyframes: [] should be non-empty"),
        ("redactions.0.end", 1, "spec.json: redactions[0].end: 1 s is not after start (2 s)"),
        ("audio.0.kind", "beep", "spec.json: audio[0].kind: 'beep' is not one of ['mute', 'bleep']"),
        ("audio.0.volume", 3, "spec.json: audio[0]: unknown key 'volume'"),
        ("captions.cues.0.end", 1, "spec.json: captions.cues[0].end: 1 s is not after start (2 s)"),
        ("captions.tier", "Notes", "spec.json: captions: document and tier go together (or give cues)"),
        ("title.seconds", 60, "spec.json: title.seconds: 60 is greater than the maximum of 30"),
        ("source", 3, "spec.json: source: 3 is not of type 'string'"),
    ],
)
def test_invalid_specs_are_refused_naming_the_field(tmp_path: Path, path: str, value: Any, message: str) -> None:
    f = tmp_path / "spec.json"
    f.write_text(json.dumps(with_(path, value)))
    with pytest.raises(SpecError) as err:
        load_spec(f)
    assert str(err.value) == message.replace("spec.json", str(f))


def test_nan_and_infinity_are_refused(tmp_path: Path) -> None:
    """NaN passes every comparison: a NaN end would silently drop a redaction."""
    f = tmp_path / "nan.json"
    f.write_text('{"source": "a.mp4", "start": 0, "end": 2, "audio": [{"kind": "mute", "start": NaN, "end": 1}]}')
    with pytest.raises(SpecError) as err:
        load_spec(f)
    assert str(err.value) == f"{f}: not JSON (NaN is not a number JSON allows)"
    for path, where in [
        ("redactions.0.end", "redactions[0].end"),
        ("redactions.0.keyframes.1.x", "redactions[0].keyframes[1].x"),
        ("audio.0.start", "audio[0].start"),
        ("captions.cues.0.end", "captions.cues[0].end"),
        ("end", "end"),
        ("title.seconds", "title.seconds"),
    ]:
        for bad in (float("nan"), float("inf")):
            with pytest.raises(SpecError) as err:
                parse_spec(with_(path, bad), name="clip")
            assert str(err.value) in (
                f"clip: {where}: {bad} is not a finite number",
                f"clip: {where}: {bad} is greater than the maximum of 1",
                f"clip: {where}: {bad} is greater than the maximum of 30",
            ), str(err.value)


def test_unreadable_spec_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"spec file not found"):
        load_spec(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "a.mp4", "start": 1,,}')
    with pytest.raises(SpecError) as err:
        load_spec(bad)
    assert str(err.value) == f"{bad}: not JSON (line 1, column 32: Expecting property name enclosed in double quotes)"


def test_times_past_the_source_are_refused() -> None:
    spec = parse_spec(with_("redactions.0.start", 2.0))
    with pytest.raises(SpecError, match=r"^clip: end: 4 s is past the end of the source \(3.500 s\)$"):
        check_rules(spec, name="clip", source_duration=3.5)
    late = parse_spec(with_("audio.0", {"kind": "mute", "start": 4.2, "end": 4.5}))
    with pytest.raises(SpecError, match=r"^clip: audio\[0\].start: 4.2 s is past the end of the source"):
        check_rules(late, name="clip", source_duration=4.0)


def test_box_interpolates_linearly_and_holds_at_the_ends() -> None:
    r = Redaction("box", 0, 10, (Keyframe(2, 0.0, 0.0, 0.2, 0.2), Keyframe(4, 0.4, 0.2, 0.4, 0.2)))
    assert r.box_at(0) == (0.0, 0.0, 0.2, 0.2)
    assert r.box_at(3) == pytest.approx((0.2, 0.1, 0.3, 0.2))
    assert r.box_at(9) == (0.4, 0.2, 0.4, 0.2)
