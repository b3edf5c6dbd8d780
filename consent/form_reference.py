"""The reference printed on a consent form, ``FD-<participant id>-<8 hex digits>``.

The digits are hashed from the version hashes of the clips on the form, so a clip edited after printing
gives a different reference and a stale paper form can be told. It lives apart from
:mod:`consent.forms` because both sides need it: the forms print it, and recording the decisions of a paper
form (:mod:`consent.decisions`) checks it, without the decisions depending on the form's layout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def form_reference(participant_id: int, version_hashes: Iterable[str]) -> str:
    """``FD-<participant id>-<8 hex digits>``: the digits from the clip versions on the form (in any order)."""
    digest = hashlib.sha256("\n".join(sorted(version_hashes)).encode("ascii")).hexdigest()
    return f"FD-{participant_id}-{digest[:8].upper()}"
