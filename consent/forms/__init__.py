"""The printable consent form, one per participant, as an HTML page or a PDF.

``content`` says what the form lists (the current version of each clip the participant is in) and its
words, ``stills`` takes the redacted stills, ``html_page`` and ``pdf`` lay it out, and ``form`` writes the
file. The form's reference is :mod:`consent.form_reference`, which the decisions check too.
"""

from __future__ import annotations

from consent.forms.form import write_form

__all__ = ["write_form"]
