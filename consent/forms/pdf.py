"""The consent form as an A4 PDF (reportlab): the same content as the HTML page.

The page set-up (DejaVu Sans, A4 with its margins, the footer with the form reference and page number,
reportlab's invariant mode) is :mod:`annotation.report.pdf_page`, shared with the referral report.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

from annotation.report import A4Page, register_fonts
from consent import scopes
from consent.forms.content import (
    CONDITIONS,
    HOW,
    TITLE,
    FormData,
    recorded_text,
    recording_groups,
    seconds_text,
    version_text,
    when_text,
)
from consent.forms.stills import STILL_AT

PAGE = A4Page(left=15, right=15, top=15, bottom=18, footer_size=8)
"""The form's page: A4, 15 mm side margins, an 8 pt footer."""


def _xml(text: str) -> str:
    """Text for a reportlab Paragraph, whose markup is XML-like: only &, < and > need escaping."""
    return html.escape(text, quote=False)


def render_pdf(data: FormData) -> bytes:
    """The form as an A4 PDF (reportlab): the same content as ``render_html``."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        KeepTogether,
        PageBreak,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    font, bold = register_fonts("FrontdoorSans", markup_bold=True)
    ref = data.reference

    def style(name: str, size: float, *, leading: float | None = None, **kw: Any) -> Any:
        return ParagraphStyle(
            name, fontName=kw.pop("fontName", font), fontSize=size, leading=leading or size * 1.3, **kw
        )

    body = style("body", 10)
    small = style("small", 8.5)
    caption = style("caption", 8, alignment=TA_CENTER)
    h1 = style("h1", 16, fontName=bold, spaceAfter=3 * mm)
    h2 = style("h2", 12, fontName=bold, spaceAfter=2 * mm)
    h3 = style("h3", 11, fontName=bold, spaceAfter=1 * mm)
    th = style("th", 10, fontName=bold)
    th_c = style("thc", 10, fontName=bold, alignment=TA_CENTER)

    def para(text: str, st: Any) -> Any:
        return Paragraph(_xml(text), st)

    doc_width = PAGE.frame_width
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (1, 0), (2, -1), "CENTER"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )

    def tick_box() -> Any:
        return Table(
            [[""]],
            colWidths=[4.5 * mm],
            rowHeights=[4.5 * mm],
            style=[("BOX", (0, 0), (-1, -1), 1.0, colors.black)],
        )

    def lines(rows: Sequence[tuple[str, float]], label_width: float) -> Any:
        t = Table(
            [[para(label, body), ""] for label, _ in rows],
            colWidths=[label_width, doc_width - label_width],
            rowHeights=[h for _, h in rows],
        )
        t.setStyle(
            TableStyle(
                [
                    ("LINEBELOW", (1, 0), (1, -1), 0.8, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return t

    story: list[Any] = [
        para(TITLE, h1),
        Table(
            [
                [para("Project", body), para(data.project_name, body)],
                [para("Participant", body), para(data.pseudonym, th)],
                [para("Form reference", body), para(ref, th)],
                [para("Printed on", body), para(data.generated_on.isoformat(), body)],
                [para("Clips", body), para(str(len(data.clips)), body)],
                *([[para("Audit head", body), para(data.head, small)]] if data.head else []),
            ],
            colWidths=[35 * mm, doc_width - 35 * mm],
            hAlign="LEFT",
            style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1)],
        ),
        Spacer(1, 3 * mm),
        para(HOW, body),
        Spacer(1, 5 * mm),
    ]
    if not data.clips:
        story.append(para("You are not present in any clip: there is nothing to decide.", th))
    still_w = (doc_width - 4 * mm) / 3
    for i, group in enumerate(recording_groups(data.clips)):
        if i:
            story.append(PageBreak())
        story.append(para(f"Recording: {group[0].recording_name}", h2))
        for c in group:
            block: list[Any] = [
                para(f"Clip {c.clip_id}: {c.name}", h3),
                para(f"{when_text(c)} · {version_text(c)}", small),
            ]
            if c.description:
                block.append(para(c.description, body))
            block += [para("• " + x, body) for x in c.shows]
            block.append(Spacer(1, 2 * mm))
            if c.thumbnails:
                pics, caps = [], []
                for f, jpeg in zip(STILL_AT, c.thumbnails, strict=False):
                    iw, ih = ImageReader(io.BytesIO(jpeg)).getSize()
                    pics.append(Image(io.BytesIO(jpeg), width=still_w, height=still_w * ih / iw))
                    caps.append(para(f"{round(f * 100)} % ({seconds_text(c.start + f * c.duration)})", caption))
                stills = Table([pics, caps], colWidths=[still_w + 4 * mm / 3] * len(pics), hAlign="LEFT")
                stills.setStyle(
                    TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
                )
                block += [stills, Spacer(1, 2 * mm)]
            rows: list[list[Any]] = [
                [para("Use", th), para("Granted", th_c), para("Withheld", th_c), para("Recorded so far", th)]
            ]
            for sc in scopes.SCOPES:
                rows.append(
                    [
                        para(scopes.LABELS[sc], body),
                        tick_box(),
                        tick_box(),
                        para(recorded_text(c.decisions.get(sc, "")), small),
                    ]
                )
            block.append(Table(rows, colWidths=[58 * mm, 25 * mm, 25 * mm, doc_width - 108 * mm], style=grid))
            block += [
                Spacer(1, 2 * mm),
                lines([(CONDITIONS, 7 * mm), ("", 7 * mm)], 36 * mm),
                Spacer(1, 7 * mm),
            ]
            story.append(KeepTogether(block))
    story.append(
        KeepTogether(
            [
                Spacer(1, 4 * mm),
                para("Signature", h2),
                lines(
                    [
                        ("Name (written by the researcher)", 11 * mm),
                        ("Signature", 11 * mm),
                        ("Date", 11 * mm),
                        ("Received by (researcher)", 11 * mm),
                    ],
                    72 * mm,
                ),
            ]
        )
    )

    return PAGE.build(
        story,
        font=font,
        footer=f"Frontdoor consent form {ref} · {data.pseudonym}",
        title=f"{TITLE}: {data.pseudonym} ({ref})",
        subject=f"{ref} frontdoor-audit-head {data.head}" if data.head else ref,
    )
