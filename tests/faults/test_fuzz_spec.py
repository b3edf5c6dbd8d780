"""Fuzzed edit specs: valid specs with fields deleted, replaced by any JSON value (wrong types, "NaN" and
"1e999" strings, huge numbers, deep nesting, lone surrogates, line breaks), unknown keys added; and raw text
that is not JSON at all. ``parse_spec`` gives a valid spec (whose canonical form parses back to it) or one
``SpecError`` line that names the field; ``frontdoor media render`` exits 0 or 2 with exactly one line on
stderr, never a traceback; and valid specs with odd texts render."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from app.cli.main import main
from media_tools.errors import SpecError, short_name
from media_tools.probe import probe
from media_tools.spec import parse_spec
from media_tools.synth import make_test_recording
from tests.faults.conftest import FUZZ

FIELDS = ("source", "start", "end", "mode", "redactions", "audio", "captions", "title", "watermark", "encode")
ODD_TEXT = ["", "NaN", "nan", "Infinity", "-Infinity", "1e999", "-0", "0x10", "1,5", "\ud800", "a\udcffb",
            "line\nbreak", "tab\there", "\u2028", "\x00", "~", "../../etc/passwd", "-i", "file:x", "🙂" * 3,
            "x" * 5000]  # fmt: skip
HUGE = [10**400, -(10**400), 2**53 + 1, 10**30]
ODD_NUMBERS = [0, -1, 0.5, 1e-300, 1e300, 31, 51, 52, 1.0000001, *HUGE]

text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=16),
    st.text(alphabet="\ud800\udfff\n\r ab", max_size=4),
)
numbers = st.one_of(
    st.sampled_from(ODD_NUMBERS), st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True)
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
unit = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def valid_specs(draw: st.DrawFn, source: str, longest: float = 20.0) -> dict[str, Any]:
    start = round(draw(st.floats(0, longest - 1, allow_nan=False)), 3)
    end = start + draw(st.floats(0.04, 1.0))
    spec: dict[str, Any] = {"source": source, "start": start, "end": end, "mode": "accurate"}
    if draw(st.booleans()):
        x, y = draw(unit), draw(unit)
        box = {"t": start, "x": x, "y": y, "w": max(0.01, (1 - x) * draw(unit)), "h": max(0.01, (1 - y) * draw(unit))}
        spec["redactions"] = [{"kind": draw(st.sampled_from(["blur", "pixelate", "box"])), "start": start,
                               "end": spec["end"], "keyframes": [box], "note": draw(text)}]  # fmt: skip
    if draw(st.booleans()):
        spec["audio"] = [{"kind": draw(st.sampled_from(["mute", "bleep"])), "start": start, "end": spec["end"]}]
    if draw(st.booleans()):
        spec["captions"] = {"mode": draw(st.sampled_from(["burn", "soft"])),
                            "cues": [{"start": start, "end": spec["end"], "text": draw(text)}]}  # fmt: skip
    if draw(st.booleans()):
        spec["title"] = {"text": draw(text.filter(bool)), "seconds": draw(st.floats(0.1, 3))}
    if draw(st.booleans()):
        spec["watermark"] = draw(text)
    if draw(st.booleans()):
        spec["encode"] = {"crf": draw(st.integers(0, 51)), "preset": "ultrafast"}
    return spec


def _paths(data: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if len(here) > 8:  # not into a value a mutation nested deep
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*here, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*here, i))
    return out


@st.composite
def fuzzed_specs(draw: st.DrawFn, source: str = "/nonexistent/camera 1.mp4") -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)  # not even an object, mostly
    spec = draw(valid_specs(source))
    if draw(st.integers(0, 5)) == 0:  # the path the messages name: line breaks, surrogates, option-like
        spec["source"] = draw(text)
        event("mutation: source")
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(spec)[1:]))
        parent = spec
        for step in path[:-1]:
            parent = parent[step]
        kind = draw(st.sampled_from(["replace", "number", "huge", "text", "delete", "unknown key", "nest"]))
        event(f"mutation: {kind}")
        key = path[-1]
        if kind == "delete":
            del parent[key]
            continue
        if kind == "unknown key":
            target = parent[key] if isinstance(parent[key], dict) else spec
            target[draw(st.sampled_from(["sourc", "Start", "extra", "\ud800", ""]))] = draw(json_values)
            continue
        value = {"replace": json_values, "number": numbers, "text": text, "huge": st.sampled_from(HUGE)}.get(kind)
        if value is None:  # nest the value deep in lists and objects (deeper than JSON's parser recurses)
            nested = parent[key]
            for level in range(draw(st.sampled_from([1, 2, 60, 900]))):
                nested = [nested] if level % 2 else {"k": nested}
            parent[key] = nested
        else:
            parent[key] = draw(value)
    return spec


def check_parse(data: Any, base: Path) -> None:
    try:
        spec = parse_spec(data, name="fuzz.json", base_dir=base)
    except SpecError as exc:
        msg = exc.message
        assert "\n" not in msg and "\r" not in msg and len(msg.splitlines()) == 1, msg
        assert msg.startswith("fuzz.json: "), msg
        problem = msg.removeprefix("fuzz.json: ")
        if isinstance(data, dict) and not re.search(r"unknown keys? |is required$", problem):
            # anything else is about a field, and says which (``redactions[0].keyframes[0].x: ...``)
            assert re.match(rf"({'|'.join(FIELDS)})\b", problem), msg
        event("refused")
        return
    event("valid")
    again = parse_spec(json.loads(spec.canonical_json()), name="again.json")
    assert again == spec
    assert len(spec.version_hash("0" * 64)) == 64  # every valid spec can be hashed (consent rests on the hash)


# the faults found so far, every run: a number float() cannot take, text that is no UTF-8, a value nested
# deeper than the schema's messages can quote
FOUND = [
    {"source": "x.mp4", "start": 10**400, "end": 1},
    {"source": "x.mp4", "start": 0, "end": 1, "watermark": "\ud800"},
    {"source": "x.mp4", "start": 0, "end": 1, "captions": {"cues": [{"start": 0, "end": 1, "text": "a\udcffb"}]}},
]


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@settings(FUZZ, max_examples=1000)
@given(data=fuzzed_specs())
@example(data=FOUND[0])
@example(data=FOUND[1])
@example(data=FOUND[2])
def test_parse_spec(tmp_path: Path, data: Any) -> None:
    check_parse(data, tmp_path)


@settings(FUZZ, max_examples=150)
@given(
    data=fuzzed_specs(),
    form=st.sampled_from(["json", "json", "json", "truncated", "bytes"]),
    junk=st.binary(max_size=40),
)
@example(data=FOUND[0], form="json", junk=b"")
@example(data=FOUND[1], form="json", junk=b"")
@example(data={"source": "a\nb.mp4", "start": 0, "end": 1}, form="json", junk=b"")  # a line break in a file name
@example(data={"source": "x.mp4", "start": float("nan"), "end": 1}, form="json", junk=b"")
@example(data={"source": "x" * 5000, "start": 0, "end": 1}, form="json", junk=b"")  # a name too long for the system
def test_render_from_the_command_line_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Any, form: str, junk: bytes
) -> None:
    spec = tmp_path / "fuzz.json"
    try:
        raw = json.dumps(data, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except RecursionError:  # nested deeper than json writes: the file a hostile tool would write
        raw = b'{"source": "x.mp4", "start": 0, "end": 1, "watermark": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    spec.write_bytes(raw[: len(raw) // 2] if form == "truncated" else junk if form == "bytes" else raw)
    code = main(["media", "render", str(spec), str(tmp_path / "clip.mp4"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)  # the source does not exist: nothing is ever rendered here
    assert err.startswith("frontdoor: error: ") and err.endswith("\n") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "clip.mp4").exists()


def test_values_nested_too_deeply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Deeper than Hypothesis can print: a value nested past what JSON's parser and the schema's messages
    recurse through is one line, from the API (naming the field) and from a file."""
    with pytest.raises(SpecError) as refused:
        parse_spec({"source": "x.mp4", "start": 0, "end": 1, "watermark": _deep(5000)}, name="deep.json")
    assert refused.value.message == "deep.json: watermark: lists or objects nested too deeply"
    spec = tmp_path / "deep.json"
    spec.write_text('{"source": "x.mp4", "start": 0, "end": 1, "watermark": ' + "[" * 5000 + "]" * 5000 + "}")
    assert main(["media", "render", str(spec), str(tmp_path / "clip.mp4")]) == 2
    err = capsys.readouterr().err
    assert err == f"frontdoor: error: {spec}: not an edit spec (lists or objects nested too deeply)\n"


@pytest.mark.parametrize("source", ["x" * 5000, "a/" * 3000 + "x.mp4", "b" * 256 + ".mp4"])
@pytest.mark.parametrize("command", ["render", "reel"])
def test_a_source_name_too_long_for_the_system_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, command: str
) -> None:
    """Found by fuzzing: the system refuses to look such a name up (ENAMETOOLONG), which was an internal error.
    The line names the source shortened to 100 characters, and how long it is."""
    spec = tmp_path / "long.json"
    spec.write_text(json.dumps({"source": source, "start": 0, "end": 1}))
    out = str(tmp_path / "clip.mp4")
    args = ["render", str(spec), out] if command == "render" else ["reel", out, str(spec)]
    assert main(["media", *args, "--quiet"]) == 2
    full = tmp_path / source
    shown = short_name(full)
    assert len(shown) == 100 and shown.startswith(str(full)[:50]) and shown.endswith(str(full)[-20:]) and "…" in shown
    assert capsys.readouterr().err == (
        f"frontdoor: error: {shown}: name too long for the file system ({len(str(full)):,} characters)\n"
    )
    assert not Path(out).exists()


def test_a_spec_name_too_long_for_the_system_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / ("s" * 5000 + ".json")
    assert main(["media", "render", str(spec), str(tmp_path / "clip.mp4")]) == 2
    length = f"{len(str(spec)):,} characters"
    assert (
        capsys.readouterr().err
        == f"frontdoor: error: {short_name(spec)}: name too long for the file system ({length})\n"
    )


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_recording(tmp_path_factory.mktemp("tiny") / "tiny.mp4", seconds=3, size="160x120")


@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_valid_specs_with_odd_texts_render(
    tiny_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    spec = data.draw(valid_specs(str(tiny_source), longest=3.0))
    path = tmp_path / "odd.json"
    path.write_bytes(json.dumps(spec, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    out = tmp_path / "odd.mp4"
    code = main(["media", "render", str(path), str(out), "--quiet", "--force"])
    _, err = capsys.readouterr()
    if code == 0:
        event("rendered")
        assert err == "" and probe(out, use_cache=False).has_video
    else:
        event("refused")  # a lone surrogate in a text, say
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("frontdoor: error: "), err
