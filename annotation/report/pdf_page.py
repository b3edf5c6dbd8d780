"""A4 pages for the PDFs Frontdoor prints (the referral report, the consent form): fonts, margins, footer.

One place sets a PDF page up: DejaVu Sans registered with reportlab (it has "−", "×", "é", "Ł" and "—",
which the standard PDF fonts lack), an A4 ``SimpleDocTemplate`` with the caller's margins, a footer line
on every page (a text on the left, the page number on the right), and reportlab's invariant mode (no
creation time or random document id), so the same content gives the same bytes. reportlab is imported only
when a PDF is made.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
"""Where Debian and Ubuntu install DejaVu Sans."""


@functools.cache
def register_fonts(family: str, *, markup_bold: bool) -> tuple[str, str]:
    """Register DejaVu Sans as ``family`` (and ``family-Bold``) and return the regular and bold font names;
    Helvetica and Helvetica-Bold when DejaVu Sans is not installed.

    With ``markup_bold``, ``<b>`` in a Paragraph's markup picks the bold face, and a missing bold file
    leaves the regular face for bold (the consent form). Without it, reportlab's own mapping of a lone
    TrueType face keeps ``<b>`` in the regular face, and both files are needed (the report).
    """
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or (not markup_bold and not bold.is_file()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont(family, str(regular)))
    bold_name = family
    if bold.is_file():
        bold_name = f"{family}-Bold"
        pdfmetrics.registerFont(TTFont(bold_name, str(bold)))
    if markup_bold:
        for is_bold, name in ((0, family), (1, bold_name)):
            for italic in (0, 1):
                addMapping(family, is_bold, italic, name)
    return family, bold_name


@dataclass(frozen=True)
class A4Page:
    """An A4 page: margins in millimetres and the footer's font size in points."""

    left: float
    right: float
    top: float
    bottom: float
    footer_size: float

    @property
    def frame_width(self) -> float:
        """Points between the left and right margins: the width a table or picture may take."""
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm

        return float(A4[0] - (self.left + self.right) * mm)

    def build(self, story: Sequence[Any], *, font: str, footer: str, title: str, subject: str | None = None) -> bytes:
        """Lay ``story`` (reportlab flowables) out on A4 pages with ``footer`` at the foot of each page, left,
        and ``page N`` right, in ``font``; returns the PDF's bytes. ``title`` and ``subject`` go into the PDF's
        properties, with Frontdoor as author."""
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate

        def draw_footer(canvas: Any, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(font, self.footer_size)
            canvas.drawString(self.left * mm, 10 * mm, footer)
            canvas.drawRightString(A4[0] - self.right * mm, 10 * mm, f"page {doc.page}")
            canvas.restoreState()

        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=self.left * mm,
            rightMargin=self.right * mm,
            topMargin=self.top * mm,
            bottomMargin=self.bottom * mm,
            title=title,
            author="Frontdoor",
            subject=subject,
            invariant=True,
        )
        doc.build(list(story), onFirstPage=draw_footer, onLaterPages=draw_footer)
        return out.getvalue()
