"""Followers: more media of the same recording (a desk microphone beside the camera) playing their sound in
step with the video, each on a sibling of the video's engine with a playhead of its own, checked against the
video's once a second and moved back when it has drifted.

``FollowerSync`` is a mixin of ``PlayerWidget``: the widget calls its ``_follow_*`` methods as it plays,
pauses, seeks and ticks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QElapsedTimer

from app.gui.player.engine import PlayerEngine
from app.gui.player.vlc_backend import release_vlc
from media_tools.errors import MediaError, ProbeError
from media_tools.playhead import Playhead
from media_tools.probe import probe

log = logging.getLogger("app.gui.player.widget")

SYNC_CHECK_MS = 1000  # how often followers are checked against the playhead while playing
SYNC_TOLERANCE_MS = 150  # and how far one may drift before it is moved back (libvlc's clock steps ~250 ms)


@dataclass
class Follower:
    """Another medium of the recording playing its sound in step: its file, where document time 0 falls in
    it, its engine (a sibling of the video's) and its smoothed clock."""

    path: str
    origin: int  # its file time at document time 0
    vlc: PlayerEngine
    head: Playhead


class FollowerSync:
    """``PlayerWidget``'s followers (a mixin: the widget holds the state)."""

    # the widget's state this mixin reads and writes (declared for type checkers; set by the widget)
    _followers: list[Follower]
    _sync_check: float
    _engine: PlayerEngine | None
    _playhead: Playhead
    _wall: QElapsedTimer
    _origin: int
    _rate: float
    _volume: int
    _playing: bool
    backend_error: str | None

    def add_follower(self, path: str, origin_ms: int = 0) -> None:
        """Play the sound of another medium of this recording (a desk microphone) in step with the video.
        ``origin_ms`` is where in that file document time 0 falls (its ELAN TIME_ORIGIN).

        Raises:
            ProbeError: the file is missing or not media.
            MediaError: libvlc is not available (the follower would be silent).
        """
        info = probe(path)
        if info.audio is None:
            raise ProbeError(f"{path}: no audio stream to play alongside the video")
        if self._engine is None:
            raise MediaError(f"{path}: a second medium needs libvlc ({self.backend_error})")
        clock = self._playhead_clock
        f = Follower(str(path), max(int(origin_ms), 0), self._engine.sibling(), Playhead(clock))
        f.vlc.set_volume(self._volume)
        f.vlc.set_rate(self._rate)
        self._followers.append(f)
        if self._playing:
            self._follow_play(self._playhead.position())
        else:
            f.head.set(self._follower_time(f, self._playhead.position()))

    def clear_followers(self) -> None:
        followers, self._followers = self._followers, []
        for f in followers:
            release_vlc(f.vlc)

    def follower_positions(self) -> list[tuple[str, int]]:
        """Each follower's own file position (smoothed like the playhead), for checks and the status bar."""
        return [(f.path, f.head.position()) for f in self._followers]

    def follower_engine_times(self) -> list[int]:
        """What libvlc reports for each follower (coarse while playing, exact after a seek)."""
        return [f.vlc.time() for f in self._followers]

    def _playhead_clock(self) -> float:
        return self._wall.nsecsElapsed() / 1e6

    def _follower_time(self, f: Follower, file_ms: int) -> int:
        return max(0, file_ms - self._origin + f.origin)

    def _follow_play(self, file_ms: int) -> None:
        for f in self._followers:
            t = self._follower_time(f, file_ms)
            if f.vlc.running():
                f.vlc.seek(t)
                f.vlc.resume()
            else:
                f.vlc.start(f.path, t, self._rate)
            f.head.start(t, self._rate, f.vlc.time())
        self._sync_check = self._wall.elapsed()

    def _follow_pause(self, file_ms: int) -> None:
        for f in self._followers:
            t = self._follower_time(f, file_ms)
            f.head.stop()
            f.head.set(t)
            if f.vlc.running():
                f.vlc.pause()
                f.vlc.seek(t)

    def _follow_seek(self, file_ms: int) -> None:
        if not self._playing:
            self._follow_pause(file_ms)
            return
        self._follow_play(file_ms)

    def _follow_tick(self, file_ms: int) -> None:
        """Keep followers in step: their clocks are smoothed like the playhead's, and one that has drifted
        more than ``SYNC_TOLERANCE_MS`` from where it should be (checked once a second, after it has had time
        to settle) is moved back into place."""
        if not self._followers:
            return
        for f in self._followers:
            f.head.observe(f.vlc.time(), advancing=f.vlc.state() == "playing")
        now = self._wall.elapsed()
        if now - self._sync_check < SYNC_CHECK_MS:
            return
        self._sync_check = now
        for f in self._followers:
            want = self._follower_time(f, file_ms)
            if f.vlc.state() == "ended":
                continue
            if abs(f.head.position() - want) > SYNC_TOLERANCE_MS:
                log.info("%s: %d ms out of step, moved back into place", f.path, f.head.position() - want)
                f.vlc.seek(want)
                f.head.start(want, self._rate, f.vlc.time())
