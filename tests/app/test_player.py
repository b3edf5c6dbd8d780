"""The video player: the still over the video is the exact frame under the playhead after every seek and step
(also for variable-frame-rate video), the playhead never runs backwards while playing, the player falls back
to stills when libvlc is missing, and on a real X server libvlc's picture is on screen while playing and the
exact still covers it when paused.

Frames of the coded recordings carry their number in their top rows, so a test reads which frame is shown.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import select
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

# Before any QApplication exists (pytest-qt makes it on the first qtbot): no screen, no sound card.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FRONTDOOR_NO_AUDIO", "1")

import numpy as np
import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app.gui.player import qtmm_backend, vlc_backend
from app.gui.player.widget import INSTALL_HINT, PlayerWidget, format_time
from media_tools.errors import ProbeError
from media_tools.frame_times import frame_times
from media_tools.playhead import Playhead
from media_tools.synth import make_coded_recording, read_frame_code

ROOT = Path(__file__).resolve().parents[2]
FRAME_MS = 40  # the coded recordings run at 25 fps


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 25 fps, a keyframe every 2 s, B-frames: 100 frames numbered 0-99."""
    return make_coded_recording(tmp_path_factory.mktemp("player") / "coded.mp4", seconds=4, fps=25, gop=50)


@pytest.fixture
def player(qtbot: QtBot, coded: Path) -> PlayerWidget:
    w = PlayerWidget()
    qtbot.addWidget(w)
    w.resize(640, 384)
    w.show()
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.load(str(coded))
    return w


def code_of(image: QImage | None) -> int:
    """The frame number a coded recording's frame carries, read from an image of it at its own size."""
    assert image is not None and not image.isNull()
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    rows = np.frombuffer(grey.constBits(), np.uint8).reshape(grey.height(), grey.bytesPerLine())
    return read_frame_code(rows[:, : grey.width()])


def seek_and_wait(qtbot: QtBot, w: PlayerWidget, ms: int) -> int:
    """Seek, wait for the still of that position, and return the frame number it carries."""
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.seek(ms)
    return code_of(w.still_image())


def test_format_time() -> None:
    assert format_time(0) == "00:00:00.000"
    assert format_time(3_723_004) == "01:02:03.004"
    assert format_time(59_999) == "00:00:59.999"
    assert format_time(-1500) == "-00:00:01.500"
    assert format_time(360_000_000) == "100:00:00.000"


def test_the_still_after_a_seek_is_the_exact_frame_under_the_playhead(qtbot: QtBot, player: PlayerWidget) -> None:
    assert player.duration_ms == 4000 and player.frame_count == 100 and player.fps == 25
    assert code_of(player.still_image()) == 0
    for ms in (2000, 1234, 39, 40, 2019, 3999, 0, 3960):
        positions: list[int] = []
        player.positionChanged.connect(positions.append)
        assert seek_and_wait(qtbot, player, ms) == ms // FRAME_MS, ms
        player.positionChanged.disconnect(positions.append)
        assert positions == [ms]
        assert player.position_ms() == ms
        assert player.frame_at_position() == player.still_frame_index() == ms // FRAME_MS
        assert player.is_still_visible() and not player.is_playing()


def test_a_step_moves_exactly_one_frame(qtbot: QtBot, player: PlayerWidget) -> None:
    seek_and_wait(qtbot, player, 1010)  # inside frame 25 (1000-1040 ms)
    for frames, expected in [(1, 26), (1, 27), (-1, 26), (-1, 25), (-1, 24), (5, 29), (-3, 26)]:
        with qtbot.waitSignal(player.stillShown, timeout=5000):
            player.step(frames)
        assert code_of(player.still_image()) == expected
        assert player.position_ms() == expected * FRAME_MS
        assert player.frame_at_position() == expected
    seek_and_wait(qtbot, player, 0)
    player.step(-1)  # no frame before the first
    assert player.position_ms() == 0
    seek_and_wait(qtbot, player, 3970)
    player.step(1)  # nor after the last
    assert player.frame_at_position() == 99


def test_steps_follow_the_real_frame_times_of_variable_frame_rate_video(qtbot: QtBot, tmp_path: Path) -> None:
    # frames last 40 and 60 ms in turn: frame n starts at floor(n/2)*100 + (n mod 2)*40 ms
    vfr = make_coded_recording(tmp_path / "vfr.mp4", seconds=1, fps=25, gop=50, vfr=True, audio=False)
    w = PlayerWidget()
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.load(str(vfr))
    for n in range(1, 9):
        with qtbot.waitSignal(w.stillShown, timeout=5000):
            w.step(1)
        assert w.position_ms() == (n // 2) * 100 + (n % 2) * 40
        assert code_of(w.still_image()) == n == w.frame_at_position()
    seek_and_wait(qtbot, w, 399)  # frame 7 (340-400 ms), not round(399 / 40) = 10
    assert w.frame_at_position() == 7 and code_of(w.still_image()) == 7


def test_only_the_latest_seek_is_shown(qtbot: QtBot, player: PlayerWidget) -> None:
    shown: list[int] = []
    player.stillShown.connect(shown.append)
    targets = [3000, 200, 2520, 1640, 3880, 120, 1000]
    with qtbot.waitSignal(player.stillShown, timeout=5000, check_params_cb=lambda i: i == 25):
        for ms in targets:
            player.seek(ms)
    qtbot.wait(200)  # a stale decode finishing late must not replace it
    assert shown[-1] == 25 and code_of(player.still_image()) == 25
    assert set(shown) <= {ms // FRAME_MS for ms in targets}


def test_the_playhead_never_goes_backwards_while_playing(qtbot: QtBot, player: PlayerWidget) -> None:
    seek_and_wait(qtbot, player, 400)
    positions: list[int] = []
    player.positionChanged.connect(positions.append)
    with qtbot.waitSignal(player.playingChanged, timeout=1000):
        player.play()
    assert player.is_playing()
    if player.backend_error is None:  # libvlc draws the picture, the still is out of its way
        assert not player.is_still_visible()
    qtbot.wait(900)
    assert all(b >= a for a, b in itertools.pairwise(positions)), positions
    assert len(positions) >= 15  # about 30 a second
    assert positions[-1] - positions[0] >= 500
    with qtbot.waitSignal(player.stillShown, timeout=5000):
        player.pause()
    paused = player.position_ms()
    qtbot.wait(100)
    assert player.position_ms() == paused
    assert code_of(player.still_image()) == paused // FRAME_MS == player.frame_at_position()


def test_the_interpolation_holds_rather_than_going_back() -> None:
    now = [0.0]
    head = Playhead(lambda: now[0])
    head.start(1000, 1.0, engine_ms=0)  # the engine still reports its time from before the start
    now[0] = 100
    head.observe(0)  # stale: ignored
    assert head.position() == 1100
    now[0] = 200
    assert head.position() == 1200
    head.observe(1150)  # the engine is behind the interpolation: hold until it catches up
    assert head.position() == 1200
    now[0] = 240
    assert head.position() == 1200
    now[0] = 300
    assert head.position() == 1250
    head.set_rate(2.0)
    now[0] = 400
    assert head.position() == 1450
    now[0] = 10_000  # the engine stopped reporting: the playhead stops too, a second past the last anchor
    assert head.position() == 1250 + 1000 * 2
    assert head.stop() == head.position() == 3250
    head.set(500)  # a seek while stopped moves it anywhere
    assert head.position() == 500


def test_loop_plays_a_stretch_over_and_over(qtbot: QtBot, player: PlayerWidget) -> None:
    player.set_loop(1000, 1400)
    seek_and_wait(qtbot, player, 1000)
    positions: list[int] = []
    player.positionChanged.connect(positions.append)
    player.play()
    qtbot.waitUntil(lambda: any(b < a for a, b in itertools.pairwise(positions)), timeout=3000)
    player.pause()
    assert min(positions) >= 1000 and max(positions) < 1400 + 200
    with pytest.raises(ValueError, match="after its start"):
        player.set_loop(2000, 1000)
    player.set_loop(None)
    assert player.loop is None


def test_playing_to_the_end_pauses_on_the_last_frame_and_play_starts_again(qtbot: QtBot, player: PlayerWidget) -> None:
    seek_and_wait(qtbot, player, 3600)
    player.set_rate(2.0)
    with qtbot.waitSignal(player.stillShown, timeout=5000, check_params_cb=lambda i: i == 99):
        player.play()
    assert not player.is_playing() and player.position_ms() == 3960
    assert code_of(player.still_image()) == 99
    player.play()  # from the start again
    assert player.is_playing() and player.position_ms() < 200
    player.pause()


def test_jumps_are_clamped_to_the_recording(qtbot: QtBot, player: PlayerWidget) -> None:
    seek_and_wait(qtbot, player, 1000)
    player.jump(1500)
    assert player.position_ms() == 2500
    player.jump(-5000)
    assert player.position_ms() == 0
    player.jump(60_000)
    assert player.position_ms() == player.duration_ms == 4000
    qtbot.waitUntil(lambda: player.still_frame_index() == 99, timeout=5000)


def test_rate_and_volume_are_clamped(player: PlayerWidget) -> None:
    player.set_rate(10)
    assert player.rate == 4.0
    player.set_rate(0)
    assert player.rate == 0.1
    player.set_rate(1.5)
    assert player.rate == 1.5
    player.set_volume(150)
    assert player.volume == 100
    player.set_volume(-3)
    assert player.volume == 0


def test_a_missing_or_unreadable_file_is_one_line_naming_it(qtbot: QtBot, tmp_path: Path) -> None:
    w = PlayerWidget()
    qtbot.addWidget(w)
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    for path in (tmp_path / "gone.mp4", notes):
        with pytest.raises(ProbeError) as err:
            w.load(str(path))
        assert str(path) in err.value.message and "\n" not in err.value.message
    assert w.path is None and w.duration_ms == 0


def test_without_libvlc_the_player_shows_stills_only(
    qtbot: QtBot, coded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise ImportError("No module named 'vlc'")

    def no_addons() -> None:
        raise ImportError("cannot import name 'QtMultimedia' from 'PySide6'")

    monkeypatch.setattr(vlc_backend, "load_libvlc", missing)
    monkeypatch.setattr(qtmm_backend, "load_qt_multimedia", no_addons)
    w = PlayerWidget()
    qtbot.addWidget(w)
    assert w.backend_error is not None
    assert "No module named 'vlc'" in w.backend_error and INSTALL_HINT in w.backend_error
    assert "showing stills only" in w.backend_error and "\n" not in w.backend_error
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.load(str(coded))
    assert seek_and_wait(qtbot, w, 2000) == 50
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.step(-1)
    assert code_of(w.still_image()) == 49
    shown: list[int] = []
    w.stillShown.connect(shown.append)
    w.play()  # the still advances at the source's frame rate
    qtbot.waitUntil(lambda: len(shown) >= 8, timeout=3000)
    w.pause()
    assert shown == sorted(shown) and shown[-1] > 49
    qtbot.wait(100)
    assert code_of(w.still_image()) == w.frame_at_position() == w.position_ms() // FRAME_MS


def _has_qt_multimedia() -> bool:
    try:
        qtmm_backend.load_qt_multimedia()
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("QtMultimedia is missing: the dev extra installs PySide6-Addons for the fallback tests")
        return False
    return True


def test_without_libvlc_the_player_plays_through_qt_multimedia(
    qtbot: QtBot, coded: Path, monkeypatch: pytest.MonkeyPatch, microphone: Path
) -> None:
    if not _has_qt_multimedia():
        pytest.skip("QtMultimedia is not installed (pip install 'frontdoor[qtmultimedia]')")

    def missing() -> None:
        raise ImportError("No module named 'vlc'")

    monkeypatch.setattr(vlc_backend, "load_libvlc", missing)
    w = PlayerWidget()
    qtbot.addWidget(w)
    assert w.backend_error is not None and "\n" not in w.backend_error
    assert "No module named 'vlc'" in w.backend_error and INSTALL_HINT in w.backend_error
    assert "playing through QtMultimedia instead" in w.backend_error
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.load(str(coded))
    w.add_follower(str(microphone), origin_ms=500)  # a second medium plays through QtMultimedia too
    positions: list[int] = []
    w.positionChanged.connect(positions.append)
    w.play()
    qtbot.waitUntil(lambda: w.position_ms() > 1200, timeout=8000)
    assert not w.is_still_visible() or w.still_frame_index() is None
    qtbot.waitUntil(lambda: w.follower_engine_times()[0] > 600, timeout=5000)
    (_, mic), pos = w.follower_positions()[0], w.position_ms()
    assert abs(mic - (pos + 500)) < 400, (mic, pos)
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.pause()
    assert all(b >= a for a, b in itertools.pairwise(positions)) and positions[-1] - positions[0] >= 1000
    assert code_of(w.still_image()) == w.frame_at_position() == w.position_ms() // FRAME_MS
    assert seek_and_wait(qtbot, w, 2000) == 50


def test_a_libvlc_that_will_not_start_means_stills_only(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ModuleType("vlc")
    broken.Instance = lambda args: None  # type: ignore[attr-defined]  # libvlc_new fails without its plugins
    monkeypatch.setattr(vlc_backend, "load_libvlc", lambda: broken)
    w = PlayerWidget()
    qtbot.addWidget(w)
    assert w.backend_error is not None and "libvlc_new failed" in w.backend_error and INSTALL_HINT in w.backend_error


# ---- on a real X server -----------------------------------------------------------------------------------

X11_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from app.gui.player.widget import PlayerWidget

    media, out = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "qtmultimedia":  # as on a machine without libvlc
        import app.gui.player.vlc_backend as vb

        def missing():
            raise ImportError("No module named 'vlc'")

        vb.load_libvlc = missing
    app = QApplication([])
    w = PlayerWidget()
    w.resize(640, 384)
    w.show()

    def wait(ms):
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def grab(name):  # what is on the screen: widget.grab() would not see libvlc's picture
        app.primaryScreen().grabWindow(w.winId()).save(f"{out}/{name}.png")

    wait(200)
    shown, positions = [], []
    w.stillShown.connect(shown.append)
    w.load(media)
    w.positionChanged.connect(positions.append)
    w.play()
    deadline = time.monotonic() + 8
    while w.position_ms() < 500 and time.monotonic() < deadline:  # the engine may take a moment to start
        wait(20)
    wait(300)
    grab("playing")
    playing = list(positions)
    still_hidden = not w.is_still_visible()
    w.pause()
    w.seek(2000)
    deadline = time.monotonic() + 5
    while shown[-1:] != [50] and time.monotonic() < deadline:
        wait(20)
    wait(300)
    grab("paused")
    w.still_image().save(f"{out}/still.png")
    print(json.dumps({"backend_error": w.backend_error, "positions": playing, "still_hidden": still_hidden,
                      "position": w.position_ms()}))
    w.release()
    """
)


@pytest.fixture
def x_display() -> Iterator[str]:
    """A display of our own: Xvfb picks a free number (so parallel runs and a developer's :99 do not clash)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing (apt-get install xvfb): the real-X11 player test must run on CI")
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the real-X11 player test needs it")
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 10)
        number = os.read(read_end, 16).decode().strip() if ready else ""
        if not number:
            pytest.fail("Xvfb did not start within 10 s")
        yield f":{number}"
    finally:
        os.close(read_end)
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("engine", ["libvlc", "qtmultimedia"])
def test_on_a_real_x_server_video_plays_and_the_paused_still_covers_it(
    x_display: str, coded: Path, tmp_path: Path, engine: str
) -> None:
    if engine == "qtmultimedia" and not _has_qt_multimedia():
        pytest.skip("QtMultimedia is not installed (pip install 'frontdoor[qtmultimedia]')")
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", FRONTDOOR_NO_AUDIO="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-c", X11_SCRIPT, str(coded), str(tmp_path), engine],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    if engine == "qtmultimedia":
        assert "playing through QtMultimedia instead" in report["backend_error"]
    elif report["backend_error"]:
        if os.environ.get("CI"):
            pytest.fail(report["backend_error"])
        pytest.skip(report["backend_error"])

    playing = QImage(str(tmp_path / "playing.png"))
    assert playing.width() == 640 and playing.height() == 384
    grey = playing.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(grey.constBits(), np.uint8).reshape(grey.height(), grey.bytesPerLine())
    assert float(pixels[:, : grey.width()].std()) > 20, "the screen shows no video while playing"
    # the video fills the window at twice its size: about 0.8 s in, so frame ~10-40 (not 0: it moves)
    assert 5 <= code_of(playing.scaled(320, 192)) <= 45
    assert report["still_hidden"]

    positions = report["positions"]
    assert all(b >= a for a, b in itertools.pairwise(positions))
    assert positions[-1] - positions[0] >= 500

    assert report["position"] == 2000
    assert code_of(QImage(str(tmp_path / "still.png"))) == 50
    # on the screen the still covers the engine's picture (libvlc shows a frame 3-4 early after a paused seek)
    assert code_of(QImage(str(tmp_path / "paused.png")).scaled(320, 192)) == 50


def test_frame_times_are_cached_and_exact_for_constant_rate(coded: Path) -> None:
    times = frame_times(coded)
    assert times is frame_times(coded)
    assert times.count == 100
    assert [times.start_ms(i) for i in (0, 1, 25, 99, 100)] == [0, 40, 1000, 3960, 3960]
    assert times.index_at(39) == 0 and times.index_at(40) == 1 and times.index_at(-5) == 0
    assert math.isclose(float(times.starts_ms[-1]), 3960.0)


# ---- time origins and several media of one recording ----------------------------------------------------


def test_a_time_origin_makes_document_time_zero_fall_inside_the_file(qtbot: QtBot, coded: Path) -> None:
    w = PlayerWidget()
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.load(str(coded), origin_ms=1000)  # the document starts 1 s into the file: frame 25
    assert w.position_ms() == 0 and w.origin_ms == 1000
    assert code_of(w.still_image()) == 25
    assert w.duration_ms == 3000
    assert seek_and_wait(qtbot, w, 400) == 35
    assert w.frame_start_ms(35) == 400  # frames are numbered in the file, their times are the document's
    with qtbot.waitSignal(w.stillShown, timeout=5000):
        w.seek(-500)  # before the document's time 0: clamped to it
    assert w.position_ms() == 0 and code_of(w.still_image()) == 25
    w.set_loop(200, 600)
    assert w.loop == (200, 600)


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s WAV: the desk microphone of the coded recording."""
    out = tmp_path_factory.mktemp("mic") / "desk mic.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=6", "-ar", "48000", str(out)],
        check=True,
    )
    return out


def test_a_second_medium_follows_seeks_and_playback_at_its_own_origin(
    qtbot: QtBot, player: PlayerWidget, microphone: Path
) -> None:
    if player.backend_error:
        pytest.skip(player.backend_error)
    player.add_follower(str(microphone), origin_ms=1500)  # the microphone started 1.5 s before the camera
    with qtbot.waitSignal(player.stillShown, timeout=5000):
        player.seek(1000)
    assert player.follower_positions() == [(str(microphone), 2500)]
    player.play()
    qtbot.waitUntil(lambda: player.position_ms() > 2200, timeout=8000)
    # libvlc has the microphone's input running and its clock in step with the video's
    qtbot.waitUntil(lambda: player.follower_engine_times()[0] > 2500, timeout=5000)
    (_, mic), pos = player.follower_positions()[0], player.position_ms()
    assert abs(mic - (pos + 1500)) < 400, (mic, pos)
    player.pause()
    pos = player.position_ms()
    assert player.follower_positions()[0][1] == pos + 1500
    player.set_rate(2.0)
    player.set_volume(30)
    player.clear_followers()
    assert player.follower_positions() == []


def test_a_follower_that_is_not_media_is_refused_in_one_line(player: PlayerWidget, tmp_path: Path, coded: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(ProbeError) as err:
        player.add_follower(str(bad))
    assert str(bad) in err.value.message and "\n" not in err.value.message
    silent = tmp_path / "silent.mp4"
    make_coded_recording(silent, seconds=1, audio=False)
    with pytest.raises(ProbeError, match="no audio stream"):
        player.add_follower(str(silent))
