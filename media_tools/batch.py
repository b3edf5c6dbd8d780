"""Several renders side by side within the machine's cores.

Each job is a whole ffmpeg process; ``workers`` of them run at once (by default as many as there are cores,
at most the number of jobs) and each encoder gets its share of the cores, so a batch neither idles a core nor
oversubscribes the machine. A failed job does not stop the others; cancelling stops them all and deletes
every temporary file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from media_tools.errors import Cancelled, MediaError
from media_tools.ffmpeg_bin import Progress
from media_tools.render import RenderResult, render
from media_tools.spec import EditSpec


@dataclass(frozen=True)
class Job:
    spec: EditSpec
    out: Path


@dataclass(frozen=True)
class Outcome:
    job: Job
    result: RenderResult | None = None
    error: MediaError | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


BatchProgress = Callable[[int, Progress], None]


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_batch(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    progress: BatchProgress | None = None,
    cancel: threading.Event | None = None,
) -> list[Outcome]:
    """Render every job; outcomes come back in the order of ``jobs``. ``progress`` gets the job's index."""
    if not jobs:
        return []
    n = cores()
    workers = max(1, min(workers or n, len(jobs)))
    threads = max(1, n // workers)
    cancel = cancel or threading.Event()

    def one(i: int) -> Outcome:
        job = jobs[i]
        if cancel.is_set():
            return Outcome(job, error=Cancelled(f"{job.out}: render cancelled"))
        cb = None if progress is None else (lambda p: progress(i, p))
        try:
            return Outcome(job, result=render(job.spec, job.out, progress=cb, cancel=cancel, threads=threads))
        except MediaError as exc:
            return Outcome(job, error=exc)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frontdoor-render") as pool:
        return list(pool.map(one, range(len(jobs))))
