"""Stills and thumbnails on real video made by ffmpeg: the frame shown at t, exactly, and the errors.

The main sources number their frames by brightness: frame n is a uniform grey of luma 16 + (7n mod 220), so
each of their 150 frames is told apart by its mean level (consecutive frames differ by about 8 in RGB).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from media_tools import frames
from media_tools.errors import ProbeError
from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.frames import Still, frame_at, thumbnail, thumbnails
from media_tools.synth import make_test_recording

pytestmark = pytest.mark.usefixtures("own_cache")  # a cache of its own per test


FPS = 25
N_FRAMES = 150
# Every 7th frame, and each side of the keyframes at 0, 50 and 100 (where MP4 decode and display times part).
PROBED = sorted({*range(0, N_FRAMES, 7), 1, 2, 3, *range(46, 55), *range(96, 105), *range(145, N_FRAMES)})


def _ffmpeg(*args: str) -> None:
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _grey_levels(out: Path, *, gop: int) -> Path:
    """6 s of numbered grey frames, H.264 with 3 B-frames always used and no scene-cut keyframes."""
    src = f"nullsrc=s=320x180:r={FPS}:d={N_FRAMES / FPS},format=yuv420p,geq=lum='16+mod(N*7\\,220)':cb=128:cr=128"
    # qp 1, not 0: x264 drops B-frames when lossless; uniform frames still come back within a level or two.
    x264 = "bframes=3:b-adapt=0:scenecut=0"
    args = ["-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "veryfast", "-qp", "1", "-g", str(gop)]
    _ffmpeg(*args, "-x264-params", x264, "-pix_fmt", "yuv420p", str(out))
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.has_b_frames
    return out


@dataclass(frozen=True)
class Reference:
    """Every frame of a file decoded in order: its time (file seconds) and its RGB picture."""

    times: list[float]
    pictures: list[np.ndarray]


def _reference(path: Path) -> Reference:
    times, pictures = [], []
    with av.open(str(path)) as c:
        origin = max(c.start_time or 0, 0) / av.time_base
        s = c.streams.video[0]
        assert s.time_base is not None
        for f in c.decode(s):
            assert f.pts is not None
            times.append(float(f.pts * s.time_base) - origin)
            rgb = f.reformat(format="rgb24", src_color_range=f.color_range or None).to_ndarray()
            pictures.append(np.asarray(rgb))
    assert times == sorted(times)
    return Reference(times, pictures)


def _level(n: int) -> float:
    """The RGB grey of frame n: luma 16..235 stretched to 0..255."""
    return ((n * 7) % 220) * 255 / 219


def _array(still: Still) -> np.ndarray:
    assert len(still.data) == still.width * still.height * 3
    return np.frombuffer(still.data, dtype=np.uint8).reshape(still.height, still.width, 3)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("frames media ü")


@pytest.fixture(scope="module")
def grey_mp4(media: Path) -> Path:
    return _grey_levels(media / "grey gop50.mp4", gop=50)


@pytest.fixture(scope="module", params=["mp4, GOP 50", "mp4, one keyframe", "MPEG-TS, GOP 50"])
def grey(request: pytest.FixtureRequest, media: Path, grey_mp4: Path) -> tuple[Path, Reference]:
    if request.param == "mp4, GOP 50":
        path = grey_mp4
    elif request.param == "mp4, one keyframe":
        path = _grey_levels(media / "grey gop1000.mp4", gop=1000)
    else:
        # MPEG-TS: no index, a clock that starts at 1.4 s, and a demuxer whose seeks land only roughly.
        path = media / "grey.ts"
        _ffmpeg("-i", str(grey_mp4), "-c", "copy", str(path))
    ref = _reference(path)
    assert len(ref.times) == N_FRAMES
    for n, picture in enumerate(ref.pictures):  # the source is what the test thinks it is
        assert abs(picture.mean() - _level(n)) < 2.5 and picture.std() < 1
    return path, ref


@pytest.fixture(scope="module")
def recording(media: Path) -> Path:
    return make_test_recording(media / "rec.mp4", seconds=5, fps=FPS, gop=50, size="320x180")


# -- the frame shown at t -------------------------------------------------------------------------------


def test_frame_at_is_exact_on_boundaries_just_before_and_mid_frame(grey: tuple[Path, Reference]) -> None:
    path, ref = grey
    for n in PROBED:
        start = ref.times[n]
        for t, expected in ((start, n), (start - 0.001, n - 1), (start + 0.02, n)):
            if t < 0:
                continue
            still = frame_at(path, t)
            got = _array(still)
            assert (still.frame_index, still.pts_s) == (expected, pytest.approx(ref.times[expected], abs=1e-9)), t
            assert np.array_equal(got, ref.pictures[expected]), (t, got.mean(), _level(expected))


def test_times_are_seconds_from_the_start_of_the_file(grey: tuple[Path, Reference]) -> None:
    path, ref = grey
    assert ref.times[0] == 0 and ref.times[1] == pytest.approx(0.04)
    assert frame_at(path, 0).frame_index == 0
    assert frame_at(path, 1.0).frame_index == 25


def test_past_the_end_shows_the_last_frame(grey_mp4: Path) -> None:
    still = frame_at(grey_mp4, 3600)
    assert (still.frame_index, still.pts_s) == (N_FRAMES - 1, pytest.approx(5.96))


def test_real_pictures_with_b_frames(recording: Path) -> None:
    """The synth recording (burned-in frame numbers, x264 with adaptive B-frames): pixel for pixel."""
    ref = _reference(recording)
    with av.open(str(recording)) as c:
        assert c.streams.video[0].codec_context.has_b_frames
    for n in [0, 1, 24, 48, 49, 50, 51, 73, 99, 100, 101, len(ref.times) - 1]:
        for t in (ref.times[n], ref.times[n] + 0.039):
            still = frame_at(recording, t)
            assert still.frame_index == n
            assert np.array_equal(_array(still), ref.pictures[n])


def test_width_scales_keeping_the_aspect_ratio(grey_mp4: Path) -> None:
    still = frame_at(grey_mp4, 2.0, width=100)
    assert (still.width, still.height, still.frame_index) == (100, 56, 50)
    assert abs(_array(still).mean() - _level(50)) < 2.5


def test_non_square_pixels_come_out_square(media: Path) -> None:
    src = media / "anamorphic.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1,setsar=4/3", "-c:v", "libx264", str(src))
    assert (frame_at(src, 0.5).width, frame_at(src, 0.5).height) == (213, 90)
    assert (frame_at(src, 0.5, width=320).width, frame_at(src, 0.5, width=320).height) == (320, 135)


def test_display_rotation_is_applied_as_ffmpeg_does(media: Path) -> None:
    """A phone-style file: stored 320x180 landscape with a 90° display matrix; ffmpeg's autorotate decides."""
    src = media / "rotated.mp4"
    picture = np.zeros((180, 320, 3), dtype=np.uint8)
    picture[:, 160:] = 255  # right half white
    picture[:30] = (255, 0, 0)  # a red band along the top
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.set_display_rotation(90)
        for _ in range(5):
            for packet in s.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    cmd = [find_ffmpeg().path, "-v", "error", "-i", str(src), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    raw = subprocess.run([*cmd, "-"], check=True, capture_output=True).stdout
    expected = np.frombuffer(raw, dtype=np.uint8).reshape(320, 180, 3)  # upright: 180 wide, 320 high

    still = frame_at(src, 0.1)
    assert (still.width, still.height) == (180, 320)
    assert np.abs(_array(still).astype(int) - expected).mean() < 3
    scaled = frame_at(src, 0.1, width=90)
    assert (scaled.width, scaled.height) == (90, 160)


# -- thumbnails -----------------------------------------------------------------------------------------


def _decode_jpeg(data: bytes) -> np.ndarray:
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    with av.open(io.BytesIO(data), format="jpeg_pipe") as c:
        return np.asarray(next(c.decode(video=0)).to_ndarray(format="rgb24"))


def test_thumbnail_is_a_jpeg_of_that_frame(grey_mp4: Path, own_cache: Path) -> None:
    picture = _decode_jpeg(thumbnail(grey_mp4, 2.0))
    assert picture.shape == (90, 160, 3)
    assert abs(picture.mean() - _level(50)) < 3
    assert len(list((own_cache / "thumbnail").rglob("*.jpg"))) == 1
    assert _decode_jpeg(thumbnail(grey_mp4, 2.0, width=161)).shape == (91, 161, 3)  # odd sizes encode too


def test_thumbnail_comes_from_the_cache(grey_mp4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = thumbnail(grey_mp4, 1.5)

    def no_decoding(path: Path) -> None:
        raise AssertionError("decoded a frame whose thumbnail is cached")

    monkeypatch.setattr(frames, "_VideoReader", no_decoding)
    assert thumbnail(grey_mp4, 1.5) == first
    with pytest.raises(AssertionError):
        thumbnail(grey_mp4, 1.5, width=80)  # another width is another entry


def _count_seeks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seeks: list[int] = []
    real: Callable[[frames._VideoReader, int], None] = frames._VideoReader._seek

    def counting(self: frames._VideoReader, ticks: int) -> None:
        seeks.append(ticks)
        real(self, ticks)

    monkeypatch.setattr(frames._VideoReader, "_seek", counting)
    return seeks


def test_a_strip_decodes_forward_and_seeks_only_past_keyframes(grey_mp4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeks = _count_seeks(monkeypatch)
    times = [i * 0.2 for i in range(30)]  # 0 .. 5.8 s; keyframes at 0, 2 and 4 s
    strip = thumbnails(grey_mp4, times)
    assert len(seeks) <= 3
    for t, jpeg in zip(times, strip, strict=True):
        assert abs(_decode_jpeg(jpeg).mean() - _level(round(t * FPS))) < 3


def test_a_strip_keeps_the_callers_order(grey_mp4: Path) -> None:
    times = [3.0, 0.5, 3.0, 5.0, 0.0]
    strip = thumbnails(grey_mp4, times, width=32)
    assert strip[0] == strip[2]
    for t, jpeg in zip(times, strip, strict=True):
        assert abs(_decode_jpeg(jpeg).mean() - _level(round(t * FPS))) < 3
    assert thumbnails(grey_mp4, []) == []


# -- errors ---------------------------------------------------------------------------------------------


def _raises_naming(path: Path, what: str, call: Callable[[Path], object]) -> None:
    with pytest.raises(ProbeError) as exc:
        call(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(str(path)) and what in msg, msg


@pytest.mark.parametrize("call", [lambda p: frame_at(p, 1.0), lambda p: thumbnail(p, 1.0)], ids=["still", "thumb"])
def test_unreadable_files(tmp_path: Path, recording: Path, call: Callable[[Path], object]) -> None:
    _raises_naming(tmp_path / "missing.mp4", "not found", call)
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(os.urandom(4096))
    _raises_naming(noise, "not a readable media file", call)
    cut = tmp_path / "cut to 2 KB.mp4"
    cut.write_bytes(recording.read_bytes()[:2048])
    _raises_naming(cut, ": ", call)  # "truncated" or "not a readable media file", as the cut falls
    half = tmp_path / "half.mp4"
    half.write_bytes(recording.read_bytes()[: recording.stat().st_size // 2])
    _raises_naming(half, "truncated", call)


def test_matroska_cut_short_fails_past_the_cut(grey_mp4: Path, tmp_path: Path) -> None:
    """Matroska's index is at the end, so a cut only shows when a time past it is asked for."""
    whole = tmp_path / "whole.mkv"
    _ffmpeg("-i", str(grey_mp4), "-c", "copy", str(whole))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert frame_at(cut, 0.5).frame_index == 12
    _raises_naming(cut, "truncated (video ends at", lambda p: frame_at(p, 5.5))


def test_audio_only_file(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=d=1", str(wav))
    _raises_naming(wav, "no video stream", lambda p: frame_at(p, 0.5))


def test_bad_arguments(grey_mp4: Path) -> None:
    for t in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="time must be"):
            frame_at(grey_mp4, t)
    with pytest.raises(ValueError, match="width"):
        frame_at(grey_mp4, 1.0, width=0)
    with pytest.raises(ValueError, match="width"):
        thumbnails(grey_mp4, [1.0], width=0)
