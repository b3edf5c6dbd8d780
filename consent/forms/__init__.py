"""The printable consent form, one per participant, as an HTML page or a PDF.

``content`` says what the form lists (the current version of each clip the participant is in) and its
words, ``stills`` takes the redacted stills, ``html_page`` and ``pdf`` lay it out, and ``form`` writes the
file. The form's reference is :mod:`consent.form_reference`, which the decisions check too. A form carries
the head of the audit chain when it was printed; ``receipt`` makes a participant's receipt for a decision
or a withdrawal (HTML or PDF, and the lines the review station shows), with the audit entry and the head.
"""

from __future__ import annotations

from consent.forms.form import write_form
from consent.forms.receipt import (
    Receipt,
    decision_receipt,
    receipt_for_entry,
    receipt_lines,
    render_receipt_html,
    render_receipt_pdf,
    write_receipt,
)

__all__ = [
    "Receipt",
    "decision_receipt",
    "receipt_for_entry",
    "receipt_lines",
    "render_receipt_html",
    "render_receipt_pdf",
    "write_form",
    "write_receipt",
]
