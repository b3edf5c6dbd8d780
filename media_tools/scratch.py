"""Temporary files that a later run can clean up, and child processes that do not outlive their parent.

A process killed outright (``kill -9``, the out-of-memory killer, a crashed desktop session) gets no chance
to delete its temporary files, and the programs it started (ffmpeg, pg_dump) go on running. Frontdoor's
temporary files are hidden (a leading dot, or in the system's temporary folder) and never carry a finished
file's name, so nothing takes one for a result. Their names say who writes them: ``<prefix><host>-<pid>-
<random>``, the host as a short hash. :func:`remove_abandoned` deletes those whose writer on this host has
gone (at once) and any older than ``max_age`` (from another machine sharing the folder, or from a version
that did not name the writer); a file whose writer is still running is left alone.

:func:`child_options` makes a child process die with the process that started it (Linux: the kernel sends
it SIGKILL when its parent goes; elsewhere nothing changes).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_MAX_AGE = 3600.0
_PID_REUSED_AGE = 86400.0
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_OWNER = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d{1,10})-[0-9a-f]{8}")
_PR_SET_PDEATHSIG = 1


def scratch_name(prefix: str, suffix: str = "") -> str:
    """A unique name that says this process on this host writes it: ``<prefix><host>-<pid>-<random><suffix>``."""
    return f"{prefix}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process (a batch of renders) may be writing it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): alive
        return True
    return True


def abandoned(path: Path, prefix: str, *, max_age: float = DEFAULT_MAX_AGE) -> bool:
    """Whether ``path`` (named by :func:`scratch_name` with ``prefix``) is no longer being written: its
    writer on this host has exited (or it is a day old: the writer's pid may be another process's by now);
    without a writer on this host, when it is older than ``max_age`` seconds."""
    m = _OWNER.match(path.name[len(prefix) :]) if path.name.startswith(prefix) else None
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if m is not None and m["host"] == _HOST:
        return not _alive(int(m["pid"])) or age > _PID_REUSED_AGE
    return age > max_age


def remove_abandoned(folder: Path, prefix: str, *, max_age: float = DEFAULT_MAX_AGE) -> list[Path]:
    """Delete the files (and folders) in ``folder`` whose names start with ``prefix`` and that are
    :func:`abandoned`; returns what went. Errors (a file that is not ours to delete) are passed over."""
    gone: list[Path] = []
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return gone
    for p in entries:
        if not abandoned(p, prefix, max_age=max_age):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            continue
        gone.append(p)
    return gone


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def child_options() -> dict[str, Any]:
    """Keyword arguments for ``subprocess.Popen``/``run`` that make the child die when this process does.

    On Linux the child asks the kernel for SIGKILL when the thread that started it exits
    (``PR_SET_PDEATHSIG``; Frontdoor's callers wait for their child on that same thread), and exits at once
    if this process died before it could ask. The hook runs between fork and exec and only calls ``prctl``
    and ``getppid``.
    """
    if _PRCTL is None:
        return {}
    parent = os.getpid()
    prctl = _PRCTL

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return {"preexec_fn": die_with_parent}
