"""The referral report as an A4 PDF (reportlab): the same sections, tables and plots as the HTML page.

Plots are the PNG renderings (200 dpi); tables repeat their header row when they run over a page. The PDF is
written with reportlab's invariant mode (no creation time or random document id), so the same report gives
the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from annotation.report.model import Section
from annotation.report.pdf_page import A4Page, register_fonts

PAGE = A4Page(left=18, right=18, top=16, bottom=18, footer_size=7)
"""The report's page: A4, 18 mm side margins, a 7 pt footer."""


def _xml(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], font: str, bold: str, total: float
) -> tuple[list[float], float]:
    """Column widths that fit ``total`` without breaking a word (at the largest font size from 7 pt down that
    allows it), the extra room shared out by how much longer each column's text is; and that size."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pad = 9.0  # 3 pt of padding each side, and some room for rounding
    for size in (7.0, 6.5, 6.0, 5.5, 5.0):
        least, want = [], []
        for j, h in enumerate(header):
            cells = [(str(h), bold)] + [(str(r[j]), font) for r in rows]
            least.append(max(stringWidth(w, f, size) for c, f in cells for w in (c.split() or [""])) + pad)
            want.append(max(min(stringWidth(c, f, size), 150.0) for c, f in cells) + pad)
        if sum(least) <= total:
            break
    if sum(least) > total:
        return [w * total / sum(least) for w in least], size
    if sum(want) <= total:
        return want, size
    room = total - sum(least)
    extra = [w - m for w, m in zip(want, least, strict=True)]
    return [m + room * e / sum(extra) for m, e in zip(least, extra, strict=True)], size


def render_pdf(sections: Sequence[Section], meta: dict[str, str]) -> bytes:
    """The report as PDF bytes."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    font, bold = register_fonts("ReportSans", markup_bold=False)

    def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=kw.pop("fontName", font), fontSize=size, leading=size * 1.3, **kw)

    h1, h2, h3 = (
        style("h1", 16, fontName=bold, spaceAfter=4),
        style("h2", 12.5, fontName=bold, spaceBefore=10, spaceAfter=4),
        style("h3", 9.5, fontName=bold, spaceBefore=6, spaceAfter=2),
    )
    body, small = style("body", 9, spaceAfter=4), style("small", 7.5, spaceAfter=6)
    width = PAGE.frame_width

    story: list[Any] = [
        Paragraph(_xml(f"Referral report: {meta['project']}"), h1),
        Paragraph(f"<b>{_xml(meta['audience'])}</b>", body),
        Paragraph(_xml(f"{meta['selection']}. Generated {meta['generated']}."), small),
    ]
    for s in sections:
        story.append(Paragraph(_xml(s.title), h2))
        story += [Paragraph(_xml(p), body) for p in s.paragraphs]
        for t in s.tables:
            widths, size = _column_widths(t.header, t.rows, font, bold, width)
            cell_style, head_style = style(f"cell{size}", size), style(f"head{size}", size, fontName=bold)
            data = [[Paragraph(_xml(h), head_style) for h in t.header]]
            data += [[Paragraph(_xml(c), cell_style) for c in r] for r in t.rows]
            table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            cmds: list[Any] = [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.Color(0.35, 0.35, 0.35)),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
            table.setStyle(TableStyle(cmds))
            note = t.note + (" Counts of video segments, not of referrals." if not t.publication else "")
            parts: list[Any] = [Paragraph(_xml(t.title), h3), table]
            if note.strip():
                parts.append(Paragraph(_xml(note.strip()), small))
            else:
                parts.append(Spacer(1, 4))
            story.append(KeepTogether(parts) if len(t.rows) < 25 else parts[0])
            if len(t.rows) >= 25:
                story += parts[1:]
        for f in s.figures:
            img = ImageReader(io.BytesIO(f.png))
            w, h = img.getSize()
            scale = min(width / w, 200 * mm / h)
            story.append(
                KeepTogether(
                    [
                        Image(io.BytesIO(f.png), width=w * scale, height=h * scale),
                        Paragraph(_xml(f"{f.title}. {f.caption} Numbers: {f.key}.csv (not suppressed)."), small),
                    ]
                )
            )

    return PAGE.build(
        story,
        font=font,
        footer=f"Frontdoor referral report: {meta['project']}",
        title=f"Referral report: {meta['project']} ({meta['version']})",
    )
