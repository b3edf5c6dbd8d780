"""The shared helpers: atomic, durable file writes and file hashes (``media_tools.files``), and milliseconds as
clock text (``media_tools.clock``) in every shape the project showed before it had one formatter.

The clock tests hold each old shape twice: as examples written out, and against the formula its owner used
(kept here as the oracle) over a sweep of times, so a caller switching to ``clock_text`` changes nothing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import Literal

import pytest

from media_tools.clock import clock_text
from media_tools.files import replace_durably, sha256_file, write_atomic

# ---------------------------------------------------------------------------------------------- files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_write_atomic_writes_a_new_file_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "prefs.json"
    write_atomic(target, b'{"a": 1}')
    assert target.read_bytes() == b'{"a": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prefs.json"]


def test_write_atomic_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "entry.bin"
    target.write_bytes(b"old and longer than the new content")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


def test_write_atomic_takes_a_path_as_text(tmp_path: Path) -> None:
    write_atomic(str(tmp_path / "t.txt"), b"x")
    assert (tmp_path / "t.txt").read_bytes() == b"x"


def test_write_atomic_makes_the_folders_only_when_asked(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c.json"
    with pytest.raises(FileNotFoundError):
        write_atomic(deep, b"{}")
    assert not (tmp_path / "a").exists()
    write_atomic(deep, b"{}", make_parents=True)
    assert deep.read_bytes() == b"{}"
    assert _leftovers(deep.parent) == []


def test_a_folder_that_vanished_raises_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(b"old")
    shutil.rmtree(folder)  # another program took the folder away before the write
    with pytest.raises(OSError):
        write_atomic(folder / "manifest.json", b"new")
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "keep.json"
    target.write_bytes(b"precious")
    with pytest.raises(TypeError):
        write_atomic(target, "text, not bytes")  # type: ignore[arg-type]  # the write itself raises
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]


def test_a_disk_that_refuses_the_sync_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.json"
    target.write_bytes(b"precious")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as caught:
        write_atomic(target, b"x" * 100_000)
    assert caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]


def test_replace_durably_moves_the_finished_file_over_the_target(tmp_path: Path) -> None:
    tmp, out = tmp_path / ".render.part", tmp_path / "clip.mp4"
    tmp.write_bytes(b"new clip")
    out.write_bytes(b"old clip")
    replace_durably(tmp, out)
    assert out.read_bytes() == b"new clip"
    assert not tmp.exists()


def test_replace_durably_without_the_file_raises_and_keeps_the_target(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"old clip")
    with pytest.raises(FileNotFoundError):
        replace_durably(tmp_path / "gone.part", out)
    assert out.read_bytes() == b"old clip"


def test_sha256_file_equals_hashlib_on_a_multi_megabyte_file(tmp_path: Path) -> None:
    # not a whole number of the 1 MiB blocks it reads, so the last short block counts too
    data = os.urandom(5 * (1 << 20) + 12_345)
    f = tmp_path / "recording.bin"
    f.write_bytes(data)
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(f)) == hashlib.sha256(data).hexdigest()


def test_sha256_file_of_an_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty"
    f.write_bytes(b"")
    assert sha256_file(f) == hashlib.sha256(b"").hexdigest()


def test_sha256_file_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------- clock

# Times in ms that cross every boundary: zero, ms, tenths, seconds, minutes, hours, and past 99 hours.
SWEEP = sorted(
    {0, 1, 9, 10, 99, 100, 999, 1000, 1001, 59_999, 60_000, 61_001, 62_350, 599_999, 3_599_999, 3_600_000}
    | {3_723_400, 3_723_999, 36_000_000, 359_999_999, 360_000_001}
    | set(range(0, 7_300_000, 7_919))
)


def _old_export_clock(ms: int, sep: str = ".") -> str:
    """annotation/exports.py before the shared formatter: ``hh:mm:ss.mmm``."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}{sep}{milli:03d}"


def _old_report_clock(ms: int) -> str:
    """annotation/report.py before the shared formatter: ``h:mm:ss``, whole seconds."""
    sec = ms // 1000
    return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}"


def _old_cli_clock(ms: int) -> str:
    """app/cli_identifiers.py before the shared formatter: ``m:ss.mmm`` or ``h:mm:ss.mmm``."""
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}" if h else f"{m}:{s:02d}.{ms:03d}"


def _old_forms_clock(tenths: int) -> str:
    """consent/forms.py before the shared formatter, from whole tenths: ``m:ss.s`` or ``h:mm:ss.s``."""
    h, rest = divmod(tenths, 36000)
    m, rest = divmod(rest, 600)
    s = f"{rest // 10:02d}.{rest % 10}"
    return f"{h}:{m:02d}:{s}" if h else f"{m}:{s}"


def _old_station_clock(seconds: float) -> str:
    """app/review_station.py before the shared formatter: minutes past 59, tenths rounded."""
    s = max(0.0, seconds)
    return f"{int(s // 60)}:{s % 60:04.1f}"


@pytest.mark.parametrize(
    ("ms", "sep", "text"),
    [
        (0, ".", "00:00:00.000"),
        (62_345, ".", "00:01:02.345"),
        (62_345, ",", "00:01:02,345"),
        (3_723_004, ",", "01:02:03,004"),
        (-1_500, ".", "-00:00:01.500"),
        (-3_723_004, ",", "-01:02:03,004"),
        (360_000_000, ".", "100:00:00.000"),
    ],
)
def test_exports_shape(ms: int, sep: str, text: str) -> None:
    assert clock_text(ms, sep=sep) == text


def test_exports_shape_matches_the_old_formula() -> None:
    for ms in SWEEP + [-ms for ms in SWEEP]:
        for sep in (".", ","):
            assert clock_text(ms, sep=sep) == _old_export_clock(ms, sep), ms


@pytest.mark.parametrize(
    ("ms", "text"),
    [(3_723_999, "1:02:03"), (0, "0:00:00"), (59_999, "0:00:59"), (36_000_000, "10:00:00")],
)
def test_report_shape(ms: int, text: str) -> None:
    assert clock_text(ms, digits=0, hours="always") == text


def test_report_shape_matches_the_old_formula() -> None:
    for ms in SWEEP:
        assert clock_text(ms, digits=0, hours="always") == _old_report_clock(ms), ms


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(62.35, "1:02.4"), (62.34, "1:02.3"), (0.04, "0:00.0"), (59.96, "1:00.0"), (3723.4, "1:02:03.4")],
)
def test_forms_shape(seconds: float, text: str) -> None:
    assert clock_text(seconds * 1000, digits=1, hours="auto", rounding="nearest") == text


def test_forms_shape_matches_the_old_formula() -> None:
    for ms in SWEEP:
        if ms % 100 == 50:
            continue  # a tie: both round half to even, but from different floats (t * 10 and ms / 100)
        tenths = round(ms / 1000 * 10)
        assert clock_text(ms, digits=1, hours="auto", rounding="nearest") == _old_forms_clock(tenths), ms


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3723.4, "62:03.4"), (0.0, "0:00.0"), (5.2, "0:05.2"), (61.0, "1:01.0"), (119.96, "2:00.0")],
)
@pytest.mark.parametrize("rounding", ["floor", "nearest"])
def test_review_station_shape(seconds: float, text: str, rounding: Literal["floor", "nearest"]) -> None:
    if seconds == 119.96 and rounding == "floor":
        text = "1:59.9"
    assert clock_text(seconds * 1000, digits=1, hours="never", rounding=rounding) == text


def test_review_station_shape_matches_the_old_formula() -> None:
    for ms in SWEEP:
        if ms % 100 == 50 or ms % 60_000 >= 59_950:
            continue  # a tie, or the old format's "0:60.0" (it rounded the seconds alone): now "1:00.0"
        assert clock_text(ms, digits=1, hours="never", rounding="nearest") == _old_station_clock(ms / 1000), ms


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0:00.000"), (62_345, "1:02.345"), (3_599_999, "59:59.999"), (3_600_000, "1:00:00.000")],
)
def test_cli_identifier_shape(ms: int, text: str) -> None:
    assert clock_text(ms, hours="auto", digits=3) == text


def test_cli_identifier_shape_matches_the_old_formula() -> None:
    for ms in SWEEP:
        assert clock_text(ms, hours="auto", digits=3) == _old_cli_clock(ms), ms


def test_floor_is_a_clock_and_nearest_rounds() -> None:
    assert clock_text(1_999.9) == "00:00:01.999"
    assert clock_text(1_999.9, rounding="nearest") == "00:00:02.000"
    assert clock_text(1_999, digits=0) == "00:00:01"


@pytest.mark.parametrize("digits", [4, -1])
def test_digits_out_of_range_raise(digits: int) -> None:
    with pytest.raises(ValueError, match="digits"):
        clock_text(1000, digits=digits)
