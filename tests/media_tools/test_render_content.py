"""What a rendered clip shows and sounds like: redactions, bleeps, captions, title, watermark, metadata."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media_tools.ffmpeg_bin import find_ffmpeg
from media_tools.render import render
from media_tools.spec import parse_spec
from media_tools.synth import CODE_ROW
from tests.media_tools.conftest import FPS, Frame, decode, decode_audio, ffprobe_json, frames_in, rms

W, H = 320, 192


def region(f: Frame, box: tuple[float, float, float, float], inset: int = 3) -> np.ndarray[Any, Any]:
    """The luma pixels of a frame-relative box, shrunk by ``inset`` pixels on every side."""
    x, y, w, h = box
    x0, y0 = int(x * W) + inset, max(CODE_ROW, int(y * H)) + inset
    x1, y1 = int((x + w) * W) - inset, int((y + h) * H) - inset
    return f.luma[y0:y1, x0:x1].astype(np.float64)


def psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def source_frames(coded: Path) -> dict[int, Frame]:
    return {f.code: f for f in decode(coded)}


BOX = (0.25, 0.3, 0.3, 0.4)
OUTSIDE = (0.7, 0.3, 0.25, 0.6)


@pytest.mark.parametrize(("kind", "max_var"), [("blur", 60.0), ("pixelate", 250.0), ("box", 1.0)])
def test_region_redaction_removes_detail_only_inside_box_and_range(
    coded: Path, out_dir: Path, source_frames: dict[int, Frame], kind: str, max_var: float
) -> None:
    keyframe = {"t": 0, "x": BOX[0], "y": BOX[1], "w": BOX[2], "h": BOX[3]}
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 1.0,
            "end": 4.0,
            "redactions": [{"kind": kind, "start": 2.0, "end": 3.0, "keyframes": [keyframe]}],
        }
    )
    frames = decode(render(spec, out_dir / "r.mp4").output)
    assert [f.code for f in frames] == frames_in(1.0, 4.0)
    for f in frames:
        src = source_frames[f.code]
        inside, src_inside = region(f, BOX), region(src, BOX)
        on_screen_in_range = f.code / FPS + 1 / FPS > 2.0 and f.code / FPS < 3.0
        if on_screen_in_range:
            assert inside.var() < max_var, f"frame {f.code}: detail left inside the box ({inside.var():.0f})"
            assert src_inside.var() > 1000
        else:
            assert psnr(inside, src_inside) > 30, f"frame {f.code}: changed outside the redaction's range"
        assert psnr(region(f, OUTSIDE), region(src, OUTSIDE)) > 30, f"frame {f.code}: changed outside the box"


def test_redaction_covers_the_frame_on_screen_when_it_starts(coded: Path, out_dir: Path) -> None:
    """A range starting at 2.02 s: frame 50 (2.00–2.04 s) is on screen then, so it is covered;
    a range ending at 2.50 s covers frame 62 (2.48–2.52 s) but not frame 63 (from 2.52 s)."""
    kf = {"t": 0, "x": BOX[0], "y": BOX[1], "w": BOX[2], "h": BOX[3]}
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 1.8,
            "end": 2.8,
            "redactions": [{"kind": "box", "start": 2.02, "end": 2.5, "keyframes": [kf]}],
        }
    )
    frames = {f.code: f for f in decode(render(spec, out_dir / "r.mp4").output)}
    black = {n for n, f in frames.items() if region(f, BOX).mean() < 30}
    assert black == set(range(50, 63))


def test_moving_box_follows_its_keyframes(coded: Path, out_dir: Path) -> None:
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 2.0,
            "end": 4.2,
            "redactions": [
                {
                    "kind": "box",
                    "start": 2.0,
                    "end": 4.2,
                    "keyframes": [
                        {"t": 2.0, "x": 0.0, "y": 0.2, "w": 0.2, "h": 0.3},
                        {"t": 4.0, "x": 0.7, "y": 0.6, "w": 0.3, "h": 0.4},
                    ],
                }
            ],
        }
    )
    frames = {f.code: f for f in decode(render(spec, out_dir / "m.mp4").output)}
    for n in (50, 62, 75, 88, 99, 104):
        t = min(1.0, (n / FPS - 2.0) / 2.0)
        box = (0.7 * t, 0.2 + 0.4 * t, 0.2 + 0.1 * t, 0.3 + 0.1 * t)
        assert region(frames[n], box, inset=1).max() < 30, f"frame {n}: the box is not where it should be"
    # where the box was at the start, the picture is back by the middle of the move
    assert region(frames[75], (0.0, 0.2, 0.15, 0.3)).var() > 1000


def test_mute_and_bleep_are_exact_and_leave_the_rest(coded: Path, out_dir: Path) -> None:
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 1.0,
            "end": 5.0,
            "audio": [{"kind": "mute", "start": 2.0, "end": 2.5}, {"kind": "bleep", "start": 3.0, "end": 3.6}],
        }
    )
    x, rate = decode_audio(render(spec, out_dir / "a.mp4").output)
    tone = 10 ** (-12 / 20) / np.sqrt(2)  # the source's RMS

    def seg(a: float, b: float) -> np.ndarray[Any, Any]:
        return x[int(a * rate) : int(b * rate)]

    assert rms(seg(1.0 + 0.004, 1.5 - 0.004)) < 0.003  # muted: silence right from its first milliseconds
    assert rms(seg(0.2, 0.9)) == pytest.approx(tone, rel=0.05)  # before: untouched
    assert rms(seg(1.6, 1.9)) == pytest.approx(tone, rel=0.05)  # between
    bleep = seg(2.0 + 0.004, 2.6 - 0.004)
    assert rms(bleep) == pytest.approx(tone, rel=0.1)  # the same loudness
    spectrum = np.abs(np.fft.rfft(bleep * np.hanning(bleep.size)))
    freqs = np.fft.rfftfreq(bleep.size, 1 / rate)
    assert abs(freqs[int(np.argmax(spectrum))] - 1000) < 5  # a 1 kHz tone
    assert spectrum[np.abs(freqs - 440) < 5].max() < spectrum.max() / 100  # none of the original sound
    assert rms(seg(2.7, 3.9)) == pytest.approx(tone, rel=0.05)  # after: untouched


def test_soft_captions_are_a_subtitle_track(coded: Path, out_dir: Path) -> None:
    cues = [{"start": 2.0, "end": 3.0, "text": "Referrer: school nurse"}, {"start": 9.0, "end": 9.5, "text": "late"}]
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 1.5,
            "end": 4.0,
            "captions": {"mode": "soft", "cues": cues},
            "title": {"text": "T", "seconds": 1},
        }
    )
    out = render(spec, out_dir / "s.mp4").output
    subs = [s for s in ffprobe_json(out)["streams"] if s["codec_type"] == "subtitle"]
    assert [s["codec_name"] for s in subs] == ["mov_text"]
    srt = subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # clip time: 1 s of title, then the cue 0.5 s into the clip; the cue after the clip is left out
    assert "00:00:01,500 --> 00:00:02,500" in srt
    assert "Referrer: school nurse" in srt and "late" not in srt


def test_burned_captions_title_and_watermark(coded: Path, out_dir: Path, source_frames: dict[int, Frame]) -> None:
    spec = parse_spec(
        {
            "source": str(coded),
            "start": 2.0,
            "end": 3.0,
            "title": {"text": "Clip 3: “Duty room” — Sozialarbeit", "seconds": 0.8},
            "watermark": "internal training only: don't copy",
            "captions": {"cues": [{"start": 2.2, "end": 2.6, "text": "Caller: 'teacher'"}]},
        }
    )
    frames = decode(render(spec, out_dir / "t.mp4").output)
    title, clip = frames[:20], frames[20:]
    assert len(title) == 20 and all(f.luma[CODE_ROW:].mean() < 40 for f in title)  # a dark card with text
    assert all(f.luma[CODE_ROW:].max() > 200 for f in title)
    assert [f.code for f in clip] == frames_in(2.0, 3.0)
    corner = (0.55, 0.85, 0.45, 0.15)
    caption_area = (0.0, 0.75, 0.5, 0.2)
    captioned = set()
    for f in clip:
        src = source_frames[f.code]
        assert psnr(region(f, corner, 0), region(src, corner, 0)) < 25  # the watermark is on every frame
        if psnr(region(f, caption_area, 0), region(src, caption_area, 0)) < 25:
            captioned.add(f.code)
    assert captioned == set(frames_in(2.2, 2.6))


def test_no_metadata_survives(coded: Path, out_dir: Path) -> None:
    src = out_dir / "Jane Doe — camera 2.mp4"
    subprocess.run(
        [
            find_ffmpeg().path, "-v", "error", "-i", str(coded), "-c", "copy",
            "-metadata", "title=Referral about Jane Doe", "-metadata", "creation_time=2024-03-01T10:00:00Z",
            "-metadata", "location=+51.5074-000.1278/", "-metadata", "comment=camera 2 duty room",
            "-metadata:s:v", "handler_name=Jane Doe camera", str(src),
        ],
        check=True,
    )  # fmt: skip
    for mode, ext in (("accurate", ".mp4"), ("copy", ".mp4"), ("smart", ".mp4"), ("accurate", ".mov")):
        spec = {"source": str(src), "start": 1.0, "end": 9.5, "mode": mode, "captions": {"mode": "soft", "cues": []}}
        if ext == ".mov":
            spec["captions"] = {"mode": "soft", "cues": [{"start": 2, "end": 3, "text": "cue"}]}
        elif mode != "accurate":
            del spec["captions"]
        out = render(parse_spec(spec), out_dir / f"{mode}{ext}")
        info = ffprobe_json(out.output)
        assert set(info["format"].get("tags", {})) <= {"major_brand", "minor_version", "compatible_brands"}, mode
        assert info.get("chapters", []) == []
        for s in info["streams"]:
            tags = s.get("tags", {})
            assert set(tags) <= {"language", "handler_name", "vendor_id", "encoder"}, (mode, tags)
            assert tags.get("handler_name") in (None, "VideoHandler", "SoundHandler", "SubtitleHandler"), (mode, tags)
            assert not tags.get("encoder", "").strip(), (mode, tags)
        raw = out.output.read_bytes()
        for needle in (b"Jane", b"camera 2", b"51.5074", b"x264", b"Lavf", b"Lavc", b"2024-03-01"):
            assert needle not in raw, (mode, needle)
        assert json.dumps(out.manifest).count("Jane") == 0  # the manifest names the source by its hash


def test_rotated_phone_video_is_redacted_as_it_is_shown(coded: Path, out_dir: Path) -> None:
    """Boxes are fractions of the picture as shown: on a file with a 90° display rotation the output is
    upright (portrait) and the box is where the viewer saw it."""
    rotated = out_dir / "phone.mp4"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-i", str(coded), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated)],
        check=True,
    )
    spec = parse_spec(
        {
            "source": str(rotated),
            "start": 1.0,
            "end": 2.0,
            "redactions": [
                {"kind": "box", "start": 0, "end": 12, "keyframes": [{"t": 0, "x": 0, "y": 0, "w": 0.5, "h": 0.25}]}
            ],
        }
    )
    res = render(spec, out_dir / "upright.mp4")
    info = ffprobe_json(res.output)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (H, W)  # portrait, no rotation flag left to honour
    assert not video.get("side_data_list")
    with __import__("av").open(str(res.output)) as c:
        luma = next(c.decode(video=0)).to_ndarray(format="gray").astype(float)
    assert luma[: W // 4 - 2, : H // 2 - 2].max() < 30  # the top-left quarter as shown is black
    assert luma[W // 4 + 4 :, :].var() > 500  # the rest keeps its detail


def test_audio_only_source(tmp_path: Path) -> None:
    """The desk microphone: a sound-only recording is cut and muted exactly."""
    wav = tmp_path / "desk mic.wav"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000:duration=6",
         "-af", "volume=0.5", str(wav)],
        check=True,
    )  # fmt: skip
    spec = parse_spec({"source": str(wav), "start": 1.0, "end": 4.0, "audio": [{"kind": "mute", "start": 2, "end": 3}]})
    res = render(spec, tmp_path / "desk.m4a.mp4")
    x, rate = decode_audio(res.output)
    assert abs(len(x) / rate - 3.0) < 0.03
    assert rms(x[int(1.01 * rate) : int(1.99 * rate)]) < 0.003
    assert rms(x[int(0.1 * rate) : int(0.9 * rate)]) == pytest.approx(0.125 * 0.5 / 2**0.5, rel=0.05)
    with pytest.raises(Exception, match="the source has no video stream"):
        render(spec.with_changes(watermark="x"), tmp_path / "wm.mp4")
