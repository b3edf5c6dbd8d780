"""Waveform peaks on real audio made by ffmpeg: values against the PCM itself, columns, cache and errors."""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from media_tools import waveform
from media_tools.errors import ProbeError
from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.synth import make_test_recording
from media_tools.waveform import Peaks, peaks

pytestmark = pytest.mark.usefixtures("own_cache")  # a cache of its own per test


def _ffmpeg(*args: str) -> None:
    cmd = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _wav(out: Path, expr: str, *, seconds: float, rate: int = 48000, channels: int = 1) -> Path:
    """A 16-bit WAV whose channels are ``expr`` (``|`` separates channels in aevalsrc)."""
    layout = "mono" if channels == 1 else "stereo"
    _ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{expr}':s={rate}:c={layout}:d={seconds}", "-c:a", "pcm_s16le", str(out))
    return out


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("waveform media ü")


@pytest.fixture(scope="module")
def silence_then_tone(media: Path) -> Path:
    """1 s of silence, then 1 s of a 440 Hz tone at 0.8 of full scale, 48 kHz mono."""
    return _wav(media / "silence then tone.wav", "if(lt(t,1),0,0.8*sin(2*PI*440*t))", seconds=2)


@pytest.fixture(scope="module")
def noise_44k(media: Path) -> Path:
    """12 s of noise at 44.1 kHz: longer than one pipe read, and 220.5 samples per bucket."""
    return _wav(media / "noise 44k.wav", "0.9*(random(0)*2-1)*sin(2*PI*0.1*t)", seconds=12.003, rate=44100)


@pytest.fixture(scope="module")
def recording(media: Path) -> Path:
    return make_test_recording(media / "rec.mp4", seconds=3, fps=25, gop=50, size="320x180", tone_hz=440)


# -- values ---------------------------------------------------------------------------------------------


def test_silence_then_tone_lands_in_the_right_columns(silence_then_tone: Path) -> None:
    p = peaks(silence_then_tone)
    assert (p.rate, p.duration_ms, len(p.mins)) == (200, 2000, 400)
    lo, hi = p.columns(0, 2000, 20)
    assert lo.dtype == hi.dtype == np.float32
    assert np.all(np.abs(lo[:10]) < 1e-3) and np.all(np.abs(hi[:10]) < 1e-3)
    assert np.allclose(hi[10:], 0.8, atol=0.01) and np.allclose(lo[10:], -0.8, atol=0.01)
    # The boundary at exactly 1 s: the bucket before is silent, the one after is tone.
    assert abs(p.maxs[199]) < 40 and p.maxs[200] > 0.7 * 32768


def test_buckets_equal_a_reduction_of_the_pcm(noise_44k: Path) -> None:
    """Against the WAV's own samples: buckets [ceil(k*sr/200), ceil((k+1)*sr/200)), across pipe reads."""
    pcm = _pcm(noise_44k)
    assert len(pcm) * 2 > 1 << 20  # the reducer carries partial buckets from one read to the next
    p = peaks(noise_44k)
    k = np.arange(-(-len(pcm) * 200 // 44100) + 1)
    bounds = np.minimum(-(-k * 44100 // 200), len(pcm))
    assert len(p.mins) == len(bounds) - 1 == 2401  # 12.003 s: the last bucket is partial
    assert np.array_equal(p.mins, np.minimum.reduceat(pcm, bounds[:-1]))
    assert np.array_equal(p.maxs, np.maximum.reduceat(pcm, bounds[:-1]))
    assert p.duration_ms == len(pcm) * 1000 // 44100


def test_stereo_is_mixed_to_mono(media: Path) -> None:
    """Left a tone at 0.8, right silent: ffmpeg's mono mix is the mean of the channels, so peaks are 0.4."""
    src = _wav(media / "stereo.wav", "0.8*sin(2*PI*440*t)|0", seconds=1, channels=2)
    lo, hi = peaks(src).columns(0, 1000, 10)
    assert np.allclose(hi, 0.4, atol=0.01) and np.allclose(lo, -0.4, atol=0.01)


def test_aac_in_mp4(recording: Path) -> None:
    p = peaks(recording)
    assert abs(p.duration_ms - 3000) < 60
    _, hi = p.columns(100, 2900, 50)
    assert np.allclose(hi, 1 / 8, atol=0.02)  # lavfi sine's amplitude


def test_a_chosen_audio_stream(media: Path, silence_then_tone: Path) -> None:
    """Stream 0 silent, stream 1 the tone: ``stream`` picks by index, the default is the first audio stream."""
    silent = _wav(media / "silent.wav", "0", seconds=2)
    both = media / "two streams.mka"
    _ffmpeg("-i", str(silent), "-i", str(silence_then_tone), "-map", "0:a", "-map", "1:a", "-c", "copy", str(both))
    assert peaks(both).maxs.max() == 0
    assert peaks(both, stream=1).maxs.max() > 0.7 * 32768
    with pytest.raises(ProbeError, match="stream 2 is not an audio stream"):
        peaks(both, stream=2)


def test_progress_reaches_the_duration(silence_then_tone: Path) -> None:
    seen: list[tuple[int, int]] = []
    p = peaks(silence_then_tone, on_progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (p.duration_ms, 2000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- columns --------------------------------------------------------------------------------------------


def _ramp(n: int = 1000) -> Peaks:
    """Bucket i has min -i and max i: every column's answer is readable from its bucket range."""
    values = np.arange(n, dtype=np.int16)
    return Peaks(rate=200, duration_ms=n * 5, mins=-values, maxs=values)


def test_zoomed_out_takes_min_of_mins_and_max_of_maxs() -> None:
    p = _ramp()
    lo, hi = p.columns(0, 5000, 100)  # 10 buckets a column
    assert np.array_equal(hi * 32768, np.arange(9, 1000, 10)) and np.array_equal(lo, -hi)
    assert np.array_equal(p.columns(0, 5000, 7)[1].max() * 32768, 999)  # peaks survive any width


def test_zoomed_in_repeats_buckets() -> None:
    _lo, hi = _ramp().columns(1000, 1010, 100)  # two 5 ms buckets over 100 pixels
    assert np.array_equal(hi * 32768, [200] * 50 + [201] * 50)


def test_columns_outside_the_audio_are_zero() -> None:
    p = _ramp()
    _lo, hi = p.columns(4000, 6000, 20)  # the second half lies past the end
    assert np.array_equal(hi[10:], np.zeros(10)) and hi[9] * 32768 == 999
    assert not p.columns(-2000, 0, 10)[1].any()
    assert np.array_equal(p.columns(-50, 50, 2)[1] * 32768, [0, 9])


@pytest.mark.parametrize(
    ("start", "end", "width"),
    [(0, 5000, 1920), (0, 5000, 1), (1234.5, 1240.25, 333), (-10, 7000, 17), (4990, 5000, 5), (0, 1, 3)],
)
def test_always_exactly_width_columns_in_range(start: float, end: float, width: int) -> None:
    lo, hi = _ramp().columns(start, end, width)
    assert lo.shape == hi.shape == (width,)
    assert np.all(lo <= hi) and np.all(lo >= -1) and np.all(hi <= 1)


def test_empty_ranges_and_empty_peaks() -> None:
    p = _ramp()
    assert p.columns(0, 5000, 0)[0].shape == (0,)
    assert not p.columns(3000, 3000, 8)[1].any() and p.columns(3000, 2000, 8)[1].shape == (8,)
    empty = Peaks(rate=200, duration_ms=0, mins=np.empty(0, np.int16), maxs=np.empty(0, np.int16))
    assert not empty.columns(0, 1000, 4)[1].any()


# -- cache ----------------------------------------------------------------------------------------------


def test_second_call_reads_the_cache(silence_then_tone: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = peaks(silence_then_tone)
    assert len(list((own_cache / "waveform").rglob("*.npz"))) == 1

    def no_decoding(*args: object) -> Peaks:
        raise AssertionError("decoded a file whose peaks are cached")

    monkeypatch.setattr(waveform, "_decode", no_decoding)
    second = peaks(silence_then_tone)
    assert (second.rate, second.duration_ms) == (first.rate, first.duration_ms)
    assert np.array_equal(second.mins, first.mins) and np.array_equal(second.maxs, first.maxs)


def test_a_changed_file_is_decoded_again(tmp_path: Path) -> None:
    src = _wav(tmp_path / "a.wav", "0.5*sin(2*PI*440*t)", seconds=1)
    assert abs(peaks(src).maxs.max() / 32768 - 0.5) < 0.01
    _wav(src, "0.25*sin(2*PI*440*t)", seconds=1)
    assert abs(peaks(src).maxs.max() / 32768 - 0.25) < 0.01


def test_an_unreadable_cache_entry_is_recomputed(silence_then_tone: Path, own_cache: Path) -> None:
    first = peaks(silence_then_tone)
    (entry,) = (own_cache / "waveform").rglob("*.npz")
    entry.write_bytes(b"not an npz")
    assert np.array_equal(peaks(silence_then_tone).maxs, first.maxs)


# -- errors ---------------------------------------------------------------------------------------------


def _one_line_naming(exc: pytest.ExceptionInfo[ProbeError], path: Path, what: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(str(path)) and what in msg, msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProbeError) as exc:
        peaks(tmp_path / "nope.wav")
    _one_line_naming(exc, tmp_path / "nope.wav", "not found")


def test_random_bytes(tmp_path: Path) -> None:
    bad = tmp_path / "noise.mp4"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ProbeError) as exc:
        peaks(bad)
    _one_line_naming(exc, bad, "not a readable media file")


def test_mp4_cut_to_2_kb(recording: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(recording.read_bytes()[:2048])
    with pytest.raises(ProbeError) as exc:
        peaks(bad)
    _one_line_naming(exc, bad, "truncated")


def test_mp4_cut_in_half(tmp_path: Path) -> None:
    """The index (moov, at the front) promises 8 s; the data stops near 4 s."""
    whole = make_test_recording(tmp_path / "whole.mp4", seconds=8, fps=25, gop=50, size="160x90")
    bad = tmp_path / "half.mp4"
    data = whole.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProbeError) as exc:
        peaks(bad)
    _one_line_naming(exc, bad, "truncated")


def test_matroska_cut_short(tmp_path: Path) -> None:
    """Matroska keeps its index at the end: the header's duration promises 4 s, and decoding finds the cut."""
    tone = _wav(tmp_path / "tone.wav", "0.5*sin(2*PI*440*t)", seconds=4)
    whole = tmp_path / "whole.mka"
    _ffmpeg("-i", str(tone), "-c:a", "aac", str(whole))
    bad = tmp_path / "cut.mka"
    data = whole.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProbeError) as exc:
        peaks(bad)
    _one_line_naming(exc, bad, "truncated (audio ends at ")
    assert str(exc.value).endswith(" s of 4.0 s)")


def test_video_without_audio(tmp_path: Path) -> None:
    silent = tmp_path / "silent.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-c:v", "libx264", str(silent))
    with pytest.raises(ProbeError) as exc:
        peaks(silent)
    _one_line_naming(exc, silent, "no audio stream")
