"""Reels (title cards, EBU R128 levels) and batch renders."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import pytest

from media_tools.batch import Job, cores, render_batch
from media_tools.errors import Cancelled, SpecError
from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.reel import TARGET_LUFS, Loudness, render_reel
from media_tools.spec import parse_spec
from media_tools.synth import CODE_ROW, make_coded_recording
from tests.media_tools.conftest import decode, frames_in


def loudness_of(path: Path, start: float, end: float) -> float:
    proc = subprocess.run(
        [find_ffmpeg().path, "-hide_banner", "-nostats", "-i", str(path), "-af",
         f"atrim={start}:{end},ebur128=framelog=verbose", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    m = re.search(r"^\s*I:\s+(-?[\d.]+) LUFS", proc.stderr[proc.stderr.rfind("Summary:") :], re.M)
    assert m, proc.stderr[-500:]
    return float(m.group(1))


@pytest.fixture(scope="module")
def quiet_and_loud(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("reel")
    return (
        make_coded_recording(d / "quiet.mp4", seconds=6, tone_db=-36, tone_hz=300),
        make_coded_recording(d / "loud.mp4", seconds=6, tone_db=-6, tone_hz=500),
    )


def test_reel_joins_clips_with_cards_at_one_loudness(quiet_and_loud: tuple[Path, Path], tmp_path: Path) -> None:
    quiet, loud = quiet_and_loud
    specs = [
        parse_spec({"source": str(quiet), "start": 1.0, "end": 3.0}),
        parse_spec({"source": str(loud), "start": 2.0, "end": 4.52, "title": {"text": "The second call"}}),
    ]
    res = render_reel(specs, tmp_path / "reel.mp4", card_seconds=1.0)
    frames = decode(res.output)
    card1, clip1, card2, clip2 = frames[:25], frames[25:75], frames[75:100], frames[100:]
    for card in (card1, card2):
        assert all(f.luma[CODE_ROW:].mean() < 40 and f.luma.max() > 200 for f in card)  # dark, with a title
    assert [f.code for f in clip1] == frames_in(1.0, 3.0)
    assert [f.code for f in clip2] == frames_in(2.0, 4.52)
    assert res.duration == pytest.approx(6.52, abs=0.05)
    # 30 dB apart in the sources, within 1 LU of the target in the reel
    assert loudness_of(res.output, 1.2, 2.8) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert loudness_of(res.output, 4.2, 6.3) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert [c["version"] for c in res.manifest["clips"]] == [
        s.version_hash(c["source_sha256"]) for s, c in zip(specs, res.manifest["clips"], strict=True)
    ]


def test_gain_never_pushes_peaks_over_the_limit() -> None:
    assert Loudness(-40.0, -36.0).gain_to() == pytest.approx(17.0)
    assert Loudness(-30.0, -2.0).gain_to() == pytest.approx(1.0)  # limited by the true peak
    assert Loudness(float("-inf"), float("-inf")).gain_to() == 0.0  # silence stays silence


def test_reel_refuses_nothing_to_join(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="a reel needs at least one clip"):
        render_reel([], tmp_path / "r.mp4")


def test_batch_runs_side_by_side_and_keeps_going_after_a_failure(coded: Path, tmp_path: Path) -> None:
    jobs = [
        Job(parse_spec({"source": str(coded), "start": 1, "end": 2}), tmp_path / "a.mp4"),
        Job(parse_spec({"source": str(tmp_path / "missing.mp4"), "start": 1, "end": 2}), tmp_path / "b.mp4"),
        Job(parse_spec({"source": str(coded), "start": 3, "end": 4.2, "mode": "smart"}), tmp_path / "c.mp4"),
    ]
    seen: set[int] = set()

    def progress(i: int, p: object) -> None:
        seen.add(i)

    outcomes = render_batch(jobs, workers=2, progress=progress)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert "media file not found" in str(outcomes[1].error)
    assert [f.code for f in decode(tmp_path / "a.mp4")] == frames_in(1, 2)
    assert [f.code for f in decode(tmp_path / "c.mp4")] == frames_in(3, 4.2)
    assert seen == {0, 2}
    assert cores() >= 1


def test_cancelled_batch_leaves_nothing(coded: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    jobs = [Job(parse_spec({"source": str(coded), "start": i, "end": i + 1}), tmp_path / f"{i}.mp4") for i in range(3)]
    outcomes = render_batch(jobs, cancel=cancel)
    assert all(isinstance(o.error, Cancelled) for o in outcomes)
    assert list(tmp_path.iterdir()) == []
