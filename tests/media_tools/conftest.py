"""Sources the media tests cut from, made once per test session with ffmpeg, and decoding helpers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.synth import make_coded_recording, read_frame_code

FPS = 25


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for this test alone (for tests of the cache itself)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("FRONTDOOR_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def coded(media_dir: Path) -> Path:
    """12 s, 25 fps, a keyframe every 2 s, B-frames, 440 Hz at -12 dBFS."""
    return make_coded_recording(media_dir / "coded.mp4", seconds=12, gop=50)


@pytest.fixture(scope="session")
def coded_vfr(media_dir: Path) -> Path:
    return make_coded_recording(media_dir / "coded-vfr.mp4", seconds=8, gop=40, vfr=True)


@pytest.fixture(scope="session")
def coded_long_gop(media_dir: Path) -> Path:
    """A keyframe every 10 s, as many cameras write."""
    return make_coded_recording(media_dir / "coded-long-gop.mp4", seconds=24, gop=250)


@dataclass
class Frame:
    time: float
    code: int
    luma: np.ndarray[Any, Any]


def decode(path: Path) -> list[Frame]:
    with av.open(str(path)) as c:
        return [
            Frame(float(f.time or 0.0), read_frame_code(lum := f.to_ndarray(format="gray")), lum)
            for f in c.decode(video=0)
        ]


def decode_audio(path: Path) -> tuple[np.ndarray[Any, Any], int]:
    """Mono float samples of the first audio stream and the sample rate (the stream's own start kept)."""
    chunks = []
    with av.open(str(path)) as c:
        rate = c.streams.audio[0].sample_rate
        res = av.AudioResampler(format="flt", layout="mono")
        for f in c.decode(audio=0):
            for g in res.resample(f):
                chunks.append(g.to_ndarray().reshape(-1))
    return np.concatenate(chunks), rate


def rms(x: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64))))) if x.size else 0.0


def ffprobe_json(path: Path) -> dict[str, Any]:
    ffprobe = str(Path(find_ffmpeg().path).with_name("ffprobe"))
    out = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def frames_in(start: float, end: float, fps: int = FPS) -> list[int]:
    """The source frame numbers whose timestamps n/fps lie in [start, end)."""
    return [n for n in range(int(end * fps) + 2) if start - 1e-9 <= n / fps < end - 1e-9]


@pytest.fixture
def out_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "out"
    d.mkdir()
    yield d
