"""Audio waveform peaks for the timeline: min/max of the mono mix per bucket, computed once per file.

A file is decoded once, by ffmpeg through a pipe as 16-bit mono PCM (``-ac 1``: ffmpeg's downmix, for stereo
the mean of the two channels), into ``BUCKETS_PER_SECOND`` min/max pairs per second of audio, and the result
is cached on disk keyed by the file's SHA-256, so a second call on an unchanged file decodes nothing. A view
then asks ``Peaks.columns`` for exactly as many columns as it has pixels, for any visible range.

ffmpeg rather than PyAV: on a one-hour stereo AAC track the ffmpeg pipe takes about 1.95 s against 3.0 s for
PyAV, as ffmpeg decodes in its own process while numpy reduces in this one (``bench/waveform_bench.py``).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream

from media_tools import cache
from media_tools.errors import ProbeError
from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.files import write_atomic
from media_tools.frames import open_media

log = logging.getLogger(__name__)

BUCKETS_PER_SECOND = 200
"""Base resolution: min/max pairs per second of audio (5 ms each)."""

_FORMAT = 1  # bump when the cached arrays change meaning
_READ_BYTES = 1 << 20  # one pipe read: about 11 s of 48 kHz mono s16
_FULL_SCALE = 32768.0

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Peaks:
    """Min/max peaks of one audio stream at ``rate`` buckets per second.

    ``mins`` and ``maxs`` are int16 (full scale 32768), one pair per bucket; the last bucket may cover
    less than ``1/rate`` seconds.
    """

    rate: int
    duration_ms: int
    mins: Int16Array
    maxs: Int16Array

    def from_ms(self, origin_ms: int) -> Peaks:
        """The peaks from ``origin_ms`` on, for a document whose time 0 falls there (within one bucket)."""
        k = min(max(int(origin_ms * self.rate // 1000), 0), len(self.mins))
        if k == 0:
            return self
        return Peaks(self.rate, max(0, self.duration_ms - int(origin_ms)), self.mins[k:], self.maxs[k:])

    def columns(self, start_ms: float, end_ms: float, width: int) -> tuple[Float32Array, Float32Array]:
        """The min and max of each of ``width`` equal columns spanning ``[start_ms, end_ms)``, in [-1, 1].

        Zoomed out, a column takes the min of the mins and the max of the maxs of the buckets it covers;
        zoomed in past the base resolution, neighbouring columns repeat the bucket they fall in. Columns
        outside the audio (before 0, after the end) are 0, as is every column of an empty range.
        """
        width = max(int(width), 0)
        lo = np.zeros(width, dtype=np.float32)
        hi = np.zeros(width, dtype=np.float32)
        n = len(self.mins)
        if width == 0 or n == 0 or not end_ms > start_ms:
            return lo, hi
        edges = np.floor(np.linspace(start_ms, end_ms, width + 1) * (self.rate / 1000.0)).astype(np.int64)
        starts = edges[:-1]
        stops = np.maximum(edges[1:], starts + 1)  # a column narrower than a bucket still shows that bucket
        inside = np.flatnonzero((starts < n) & (stops > 0))
        if len(inside) == 0:
            return lo, hi
        first, last = int(inside[0]), int(inside[-1])
        idx = np.clip(starts[first : last + 1], 0, n - 1)
        stop = int(min(stops[last], n))
        # Columns partition the buckets (a zoomed-in column's range is empty and reduceat then takes the
        # bucket at its start), so one reduceat over the visible slice gives every column at once.
        lo[first : last + 1] = np.minimum.reduceat(self.mins[:stop], idx) / _FULL_SCALE
        hi[first : last + 1] = np.maximum.reduceat(self.maxs[:stop], idx) / _FULL_SCALE
        return lo, hi


def peaks(
    path: str | os.PathLike[str],
    *,
    stream: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Peaks:
    """The waveform peaks of an audio stream, from the cache or by decoding the file once.

    ``stream`` is a stream index in the file (as ``probe`` reports it); by default the first audio stream.
    ``on_progress(done_ms, total_ms)`` is called as decoding goes (never on a cache hit).

    Raises:
        ProbeError: the file is missing, not media, truncated, or has no (such) audio stream.
        FfmpegNotFound: no ffmpeg binary.
    """
    p = Path(path)
    if not p.is_file():
        raise ProbeError(f"{p}: media file not found")
    key = f"{cache.file_hash(p)}-s{'a' if stream is None else stream}-r{BUCKETS_PER_SECOND}-v{_FORMAT}"
    entry = cache.entry_path("waveform", key, ".npz")
    cached = _load(entry)
    if cached is not None:
        return cached
    index, sample_rate, declared_ms = _audio_stream(p, stream)
    result = _decode(p, index, sample_rate, declared_ms, on_progress)
    _store(entry, result)
    return result


def _audio_stream(p: Path, stream: int | None) -> tuple[int, int, int | None]:
    """(stream index, sample rate, declared duration in ms or None) of the audio stream to draw."""
    with open_media(p) as c:
        if stream is None:
            if not c.streams.audio:
                raise ProbeError(f"{p}: no audio stream")
            s = c.streams.audio[0]
        else:
            chosen = c.streams[stream] if 0 <= stream < len(c.streams) else None
            if not isinstance(chosen, AudioStream):
                raise ProbeError(f"{p}: stream {stream} is not an audio stream")
            s = chosen
        sample_rate = s.codec_context.sample_rate
        declared: int | None = None
        if s.duration is not None and s.time_base is not None:
            declared = int(s.duration * s.time_base * 1000)
        elif c.duration is not None:
            declared = int(Fraction(c.duration, av.time_base) * 1000)
        index = s.index
    if not sample_rate or sample_rate < BUCKETS_PER_SECOND:
        raise ProbeError(f"{p}: audio stream {index} has no usable sample rate ({sample_rate})")
    return index, sample_rate, declared


def _decode(
    p: Path,
    index: int,
    sample_rate: int,
    declared_ms: int | None,
    on_progress: Callable[[int, int], None] | None,
) -> Peaks:
    """Decode one stream with ffmpeg to mono s16 on a pipe and reduce it chunk by chunk."""
    cmd = [
        find_ffmpeg().path,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        f"file:{p}",  # "file:" so a name with a colon or a leading dash is still a file name
        "-map",
        f"0:{index}",
        "-vn",
        "-ac",
        "1",
        # The rate PyAV reported, so a decoder that outputs another one (HE-AAC) cannot skew the buckets.
        "-ar",
        str(sample_rate),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "pipe:1",
    ]
    reducer = _BucketReducer(sample_rate, BUCKETS_PER_SECOND)
    total_ms = declared_ms or 0
    # stderr goes to a file: a damaged file can log more than a pipe holds, which would stall ffmpeg.
    with tempfile.TemporaryFile() as err:
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err) as proc:
            assert proc.stdout is not None
            odd = b""
            while block := proc.stdout.read(_READ_BYTES):
                if odd:
                    block, odd = odd + block, b""
                if len(block) % 2:
                    block, odd = block[:-1], block[-1:]
                reducer.feed(np.frombuffer(block, dtype="<i2"))
                if on_progress is not None:
                    on_progress(reducer.samples * 1000 // sample_rate, total_ms)
            returncode = proc.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").strip()
    mins, maxs = reducer.finish()
    duration_ms = reducer.samples * 1000 // sample_rate
    if returncode != 0:
        last = stderr.splitlines()[-1] if stderr else f"exit status {returncode}"
        raise ProbeError(f"{p}: cannot decode audio ({last})", detail=stderr)
    if reducer.samples == 0:
        raise ProbeError(f"{p}: no audio could be decoded", detail=stderr or None)
    if declared_ms is not None and declared_ms - duration_ms > max(1000, declared_ms // 100):
        raise ProbeError(
            f"{p}: truncated (audio ends at {duration_ms / 1000:.1f} s of {declared_ms / 1000:.1f} s)",
            detail=stderr or None,
        )
    if stderr:
        log.info("%s: ffmpeg reported while decoding audio: %s", p, stderr)
    if on_progress is not None:
        on_progress(duration_ms, max(total_ms, duration_ms))
    return Peaks(rate=BUCKETS_PER_SECOND, duration_ms=duration_ms, mins=mins, maxs=maxs)


class _BucketReducer:
    """Folds a stream of samples into per-bucket min/max, holding less than one bucket between chunks.

    Bucket ``k`` covers samples ``[ceil(k*sr/rate), ceil((k+1)*sr/rate))``, so rates that do not divide
    the sample rate (44.1 kHz at 200 per second) still give buckets that tile the audio exactly.
    """

    def __init__(self, sample_rate: int, rate: int) -> None:
        self._sr = sample_rate
        self._rate = rate
        self._carry: Int16Array = np.empty(0, dtype=np.int16)
        self._bucket = 0  # the next bucket to close; self._carry starts at its first sample
        self._base = 0  # the sample index of self._carry[0]
        self._mins: list[Int16Array] = []
        self._maxs: list[Int16Array] = []
        self.samples = 0

    def feed(self, x: Int16Array) -> None:
        self.samples += len(x)
        buf = np.concatenate((self._carry, x)) if len(self._carry) else x
        end_bucket = (self._base + len(buf)) * self._rate // self._sr  # buckets before it are complete
        if end_bucket > self._bucket:
            k = np.arange(self._bucket, end_bucket + 1, dtype=np.int64)
            bounds = -(-k * self._sr // self._rate) - self._base  # ceil division
            cut = int(bounds[-1])
            self._mins.append(np.minimum.reduceat(buf[:cut], bounds[:-1]))
            self._maxs.append(np.maximum.reduceat(buf[:cut], bounds[:-1]))
            buf = buf[cut:]
            self._base += cut
            self._bucket = end_bucket
        self._carry = buf.copy()  # never keep a view of the whole chunk alive

    def finish(self) -> tuple[Int16Array, Int16Array]:
        if len(self._carry):
            self._mins.append(self._carry.min(keepdims=True))
            self._maxs.append(self._carry.max(keepdims=True))
            self._carry = np.empty(0, dtype=np.int16)
        if not self._mins:
            return np.empty(0, dtype=np.int16), np.empty(0, dtype=np.int16)
        return np.concatenate(self._mins), np.concatenate(self._maxs)


def _load(entry: Path) -> Peaks | None:
    """A cached ``Peaks``, or None when there is none or it cannot be read (it is then recomputed)."""
    try:
        with np.load(entry, allow_pickle=False) as z:
            rate, duration_ms = (int(v) for v in z["meta"])
            mins, maxs = z["mins"], z["maxs"]
    except (OSError, ValueError, KeyError):
        return None
    if mins.dtype != np.int16 or maxs.dtype != np.int16 or mins.shape != maxs.shape:
        return None
    return Peaks(rate=rate, duration_ms=duration_ms, mins=mins, maxs=maxs)


def _store(entry: Path, result: Peaks) -> None:
    buf = io.BytesIO()
    meta = np.array([result.rate, result.duration_ms], dtype=np.int64)
    np.savez_compressed(buf, meta=meta, mins=result.mins, maxs=result.maxs)
    write_atomic(entry, buf.getvalue(), make_parents=True)
