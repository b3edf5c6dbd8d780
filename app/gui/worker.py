"""Telling the window from a worker thread: a result is delivered if whoever asked for it is still there.

A worker (``QRunnable``) reports through a signal object the view created. When the view has gone meanwhile
(its tab closed, the window shut while a report was still computing), that object is deleted and emitting
on it raises ``RuntimeError`` in the worker thread, where it reached the crash hook — which then opened a
dialog off the GUI thread and hung the app on exit. Nobody is waiting for such a result: it is dropped.
"""

from __future__ import annotations

from typing import Any

__all__ = ["deliver"]


def deliver(signal: Any, *args: Any) -> bool:
    """Emit ``signal`` with ``args`` from a worker thread; False (and nothing else) when its owner is gone."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted": the view that asked has been closed
        return False
    return True
