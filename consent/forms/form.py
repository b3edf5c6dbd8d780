"""The printable consent form: one per participant, as a self-contained HTML page or a PDF.

A form lists the clips the participant is present in (the current version of each: a decision counts only
on the version it was made on), each with three stills, what the edit does to the picture and sound, and
a table of the uses (``consent.scopes``) with tick boxes. It shows the participant's pseudonym only, never
a real name or contact (the researcher writes the name by hand), and of the other people in a clip only
how many there are.

Every form carries a reference, ``FD-<participant id>-<8 hex digits>``, the digits hashed from the version
hashes of the clips on it: the researcher types it back with ``--form-ref`` when entering the decisions
from paper, and a clip edited after printing gives a different reference, so a stale form can be told.

Stills are taken from the recording at 10 %, 50 % and 90 % of the clip. Where a picture redaction is on
screen at that moment, the still carries it (boxes filled, blurs and pixelations shown as coarse blocks),
so a printed form never shows what the clip hides.

This module writes the file; the form's parts are :mod:`consent.forms.content` (what it lists and says),
:mod:`consent.forms.stills`, :mod:`consent.forms.html_page` and :mod:`consent.forms.pdf`, and the reference
is :mod:`consent.form_reference` (the decisions check it too).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from annotation.store import Store
from consent.anchors import record
from consent.errors import InvalidRequest
from consent.forms.content import form_data
from consent.forms.html_page import render_html
from consent.forms.pdf import render_pdf
from media_tools.files import write_atomic


def write_form(store: Store, participant_ref: str | int, out: Path, *, on: date | None = None) -> Path:
    """Write the participant's form to ``out``: HTML for ``.html``/``.htm``, PDF for ``.pdf``. The file is
    replaced atomically (a temporary file in the same folder, then a rename). Returns ``out``.

    Raises:
        UnknownThing: no such participant.
        InvalidRequest: another extension, a missing folder, a withdrawn participant, one present in no
            clip, or unreadable media.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".html", ".htm", ".pdf"):
        raise InvalidRequest(f"{out}: use an .html or .pdf name")
    if not out.parent.is_dir():
        raise InvalidRequest(f"{out}: the folder {out.parent} does not exist")
    data = form_data(store, participant_ref, on=on)
    if not data.clips:
        raise InvalidRequest(f"participant {data.pseudonym!r}: is present in no clip; there is no form to print")
    payload = render_pdf(data) if kind == ".pdf" else render_html(data).encode("utf-8")
    write_atomic(out, payload)
    if data.head:  # the head printed on it, anchored outside the store too
        with store.session() as s:
            record(s, "form", participant=data.participant_id)
    return out
