"""Cuts, checked by decoding: every output frame carries its source frame number in its pixels."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from media_tools.probe import probe
from media_tools.render import render
from media_tools.spec import parse_spec
from tests.media_tools.conftest import FPS, decode, frames_in

CUTS = [
    (2.0, 6.0),  # both on keyframes
    (3.12, 9.2),  # mid-GOP start and end
    (0.0, 1.0),  # from the very start
    (4.37, 4.49),  # between frames at both ends, three frames
    (10.04, 12.0),  # to the very end
]


@pytest.mark.parametrize(("start", "end"), CUTS)
@pytest.mark.parametrize("mode", ["accurate", "smart"])
def test_exact_frames(coded: Path, out_dir: Path, mode: str, start: float, end: float) -> None:
    res = render(parse_spec({"source": str(coded), "start": start, "end": end, "mode": mode}), out_dir / "c.mp4")
    got = [f.code for f in decode(res.output)]
    assert got == frames_in(start, end)
    assert res.frame_count == len(got)
    assert res.start_offset == 0.0


def test_smart_copies_the_middle_and_is_exact(coded_long_gop: Path, out_dir: Path) -> None:
    """Keyframes every 10 s: the middle GOP is copied, the head and tail re-encoded, frames exact."""
    spec = parse_spec({"source": str(coded_long_gop), "start": 7.48, "end": 21.0, "mode": "smart"})
    res = render(spec, out_dir / "smart.mp4")
    assert res.mode == "smart", res.notes
    assert [f.code for f in decode(res.output)] == frames_in(7.48, 21.0)
    # the copied GOP keeps the source's keyframe at 10 s, i.e. 2.52 s into the clip
    assert any(abs(k - 2.52) < 0.005 for k in probe(res.output).keyframes)


def test_smart_without_a_whole_gop_falls_back_to_accurate(coded_long_gop: Path, out_dir: Path) -> None:
    res = render(
        parse_spec({"source": str(coded_long_gop), "start": 1.0, "end": 5.0, "mode": "smart"}), out_dir / "s.mp4"
    )
    assert res.mode == "accurate"
    assert [f.code for f in decode(res.output)] == frames_in(1.0, 5.0)


def test_variable_frame_rate_source(coded_vfr: Path, out_dir: Path) -> None:
    info = probe(coded_vfr)
    assert info.vfr
    src = decode(coded_vfr)
    start, end = src[13].time + 0.001, src[61].time  # just after frame 13 begins, up to frame 61
    for mode in ("accurate", "smart"):
        res = render(
            parse_spec({"source": str(coded_vfr), "start": start, "end": end, "mode": mode}), out_dir / f"{mode}.mp4"
        )
        got = decode(res.output)
        assert [f.code for f in got] == [f.code for f in src if start <= f.time < end], mode
        # the spacing of the frames is kept (no frames duplicated or dropped to make a constant rate)
        gaps = {round(b.time - a.time, 3) for a, b in itertools.pairwise(got)}
        assert len(gaps) > 1


def test_copy_starts_on_the_keyframe_before_and_says_how_far(coded: Path, out_dir: Path) -> None:
    res = render(parse_spec({"source": str(coded), "start": 3.12, "end": 7.0, "mode": "copy"}), out_dir / "copy.mp4")
    assert res.mode == "copy"
    assert res.start_offset == pytest.approx(1.12, abs=1e-6)
    assert any("1.120 s before" in n for n in res.notes)
    got = [f.code for f in decode(res.output)]
    assert got[0] == 50  # the keyframe at 2.0 s
    assert got[: 7 * FPS - 50] == list(range(50, 7 * FPS))


def test_copy_on_a_keyframe_is_exact_at_the_start(coded: Path, out_dir: Path) -> None:
    res = render(parse_spec({"source": str(coded), "start": 4.0, "end": 8.0, "mode": "copy"}), out_dir / "copy.mp4")
    assert res.start_offset == 0.0
    assert decode(res.output)[0].code == 100


@pytest.mark.parametrize("mode", ["copy", "smart"])
def test_copy_modes_never_carry_unredacted_pictures(coded: Path, out_dir: Path, mode: str) -> None:
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 3.12,
            "end": 7.0,
            "mode": mode,
            "audio": [{"kind": "mute", "start": 4, "end": 5}],
        }
    )
    res = render(spec, out_dir / "r.mp4")
    assert res.mode == "accurate"
    assert res.notes and "re-encoded" in res.notes[0]
    assert [f.code for f in decode(res.output)] == frames_in(3.12, 7.0)


def test_audio_follows_the_cut(coded: Path, out_dir: Path) -> None:
    from tests.media_tools.conftest import decode_audio

    res = render(parse_spec({"source": str(coded), "start": 2.5, "end": 5.5}), out_dir / "a.mp4")
    samples, rate = decode_audio(res.output)
    assert abs(len(samples) / rate - 3.0) < 0.03
