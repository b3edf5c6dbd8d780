"""The ``frontdoor`` command line: ``main`` builds the parser from each command module's registration
(documents, store, desktop, media, consent, records, analysis, identifiers, retention) over ``common``, the
module they all share (the user-error type, time and id arguments, opening the store, progress). No Qt at
module level: the GUI is imported only on the launch paths (``frontdoor app``, ``review``, ``demo``)."""

from __future__ import annotations

from app.cli import records

__all__ = ["records"]
