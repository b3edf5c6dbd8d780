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
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame
from sqlalchemy import select

from annotation.store.engine import Store
from annotation.store.tables import Project, Recording
from consent import conditions, scopes
from consent.errors import InvalidRequest
from consent.models import Clip, ClipVersion, Decision, Presence
from consent.service import current_version, latest_decisions, participant, version_spec
from media_tools import cache, frames
from media_tools.errors import ProbeError
from media_tools.probe import probe
from media_tools.spec import EditSpec, Redaction

STILL_AT = (0.1, 0.5, 0.9)
"""Where the stills are taken, as fractions of the clip."""
STILL_WIDTH = 320
"""Pixels: sharp at the 5.5 cm a still takes on paper."""
_REDACTION_MARGIN_S = 0.1
"""A redaction counts as on screen this close to its range (the frame shown may start before it)."""
_JPEG_QSCALE = 3
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class FormClip:
    """One clip on the form: its current version and what it shows."""

    clip_id: int
    name: str
    description: str | None
    version_number: int
    version_hash: str
    start: float
    """Seconds of the recording."""
    end: float
    duration: float
    recording_name: str
    shows: list[str]
    """Plain-language lines: how many others appear, what is blurred or bleeped, captions, title."""
    thumbnails: list[bytes]
    """JPEG stills at 10 %, 50 % and 90 % of the clip (none for a recording without picture)."""
    decisions: dict[str, str]
    """Per scope, the decision already recorded on this version: "granted", "granted with conditions: ...",
    "withheld", or "" when none."""


@dataclass(frozen=True)
class FormData:
    participant_id: int
    pseudonym: str
    project_name: str
    generated_on: date
    clips: list[FormClip]

    @property
    def reference(self) -> str:
        return form_reference(self.participant_id, (c.version_hash for c in self.clips))


def form_reference(participant_id: int, version_hashes: Iterable[str]) -> str:
    """``FD-<participant id>-<8 hex digits>``: the digits from the clip versions on the form (in any order)."""
    digest = hashlib.sha256("\n".join(sorted(version_hashes)).encode("ascii")).hexdigest()
    return f"FD-{participant_id}-{digest[:8].upper()}"


# ---------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class _Row:
    clip: Clip
    version: ClipVersion
    recording: Recording
    others: int
    decisions: dict[str, str]


def form_data(store: Store, participant_ref: str | int, *, on: date | None = None) -> FormData:
    """What the form for one participant shows: the current version of every clip they are present in.

    Raises:
        UnknownThing: no such participant.
        InvalidRequest: the participant has withdrawn, or a recording's media cannot be read for the stills.
    """
    with store.session() as s:
        p = participant(s, participant_ref)
        if p.withdrawn_at is not None:
            raise InvalidRequest(
                f"participant {p.pseudonym!r}: withdrew on {p.withdrawn_at.date().isoformat()}; no form is made"
            )
        project = s.get(Project, p.project_id)
        assert project is not None
        clip_ids = set(
            s.scalars(
                select(ClipVersion.clip_id)
                .join(Presence, Presence.clip_version_id == ClipVersion.id)
                .where(Presence.participant_id == p.id)
            )
        )
        rows: list[_Row] = []
        for c in s.scalars(select(Clip).where(Clip.id.in_(clip_ids))):
            v = current_version(s, c)
            present = set(s.scalars(select(Presence.participant_id).where(Presence.clip_version_id == v.id)))
            if p.id not in present:
                continue  # present in an earlier version only
            rec = s.get(Recording, c.recording_id)
            assert rec is not None
            latest = latest_decisions(s, v.id)
            decided = {sc: _decision_text(latest[(p.id, sc)]) if (p.id, sc) in latest else "" for sc in scopes.SCOPES}
            rows.append(_Row(c, v, rec, len(present) - 1, decided))
        pid, pseudonym, project_name = p.id, p.pseudonym, project.name
    rows.sort(key=lambda r: (r.recording.id, float(r.version.spec["start"]), r.clip.id))
    clips = [_form_clip(r) for r in rows]
    return FormData(pid, pseudonym, project_name, on or date.today(), clips)


def _decision_text(d: Decision) -> str:
    if d.decision == "granted" and d.conditions:
        return "granted with conditions: " + "; ".join(conditions.describe(c) for c in d.conditions)
    return str(d.decision)


def _form_clip(r: _Row) -> FormClip:
    spec = version_spec(r.version, r.recording.abs_path)
    try:
        has_picture = probe(spec.source).has_video
        stills = _stills(spec) if has_picture else []
    except ProbeError as exc:
        raise InvalidRequest(
            f"recording {r.recording.name!r}: {exc.message} (the form needs its stills; relink the recording)"
        ) from None
    return FormClip(
        clip_id=r.clip.id,
        name=r.clip.name,
        description=r.clip.description,
        version_number=r.version.number,
        version_hash=r.version.version_hash,
        start=spec.start,
        end=spec.end,
        duration=spec.duration,
        recording_name=r.recording.name,
        shows=_shows(spec, r.others, has_picture),
        thumbnails=stills,
        decisions=r.decisions,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _shows(spec: EditSpec, others: int, has_picture: bool) -> list[str]:
    """What the clip shows besides the participant, in words a participant reads without help."""
    out = [
        "no other member of staff appears"
        if others == 0
        else _count(others, "other member of staff appears", "other members of staff appear")
    ]
    if not has_picture:
        out.append("sound only (no picture)")
    bleeps = sum(1 for a in spec.audio if a.kind == "bleep")
    mutes = sum(1 for a in spec.audio if a.kind == "mute")
    if bleeps:
        out.append(_count(bleeps, "passage", "passages") + " bleeped (names of children or families)")
    if mutes:
        out.append(_count(mutes, "passage", "passages") + " muted")
    words = {"blur": "blurred", "pixelate": "pixelated", "box": "covered with a box"}
    for kind in ("blur", "pixelate", "box"):
        n = sum(1 for x in spec.redactions if x.kind == kind)
        if n:
            out.append(f"{_count(n, 'area', 'areas')} {words[kind]}")
    if not spec.redactions and not spec.audio:
        out.append("nothing is blurred or bleeped")
    if spec.captions is not None:
        out.append("captions shown" if spec.captions.mode == "burn" else "captions available (can be switched on)")
    if spec.title is not None:
        out.append(f"title: {spec.title.text}")
    if spec.watermark:
        out.append(f"watermark: {spec.watermark}")
    return out


# ---------------------------------------------------------------------------------------------- stills

_Rgb = npt.NDArray[np.uint8]
_Rect = tuple[float, float, float, float]  # x, y, w, h as fractions of the frame


def _stills(spec: EditSpec) -> list[bytes]:
    times = [spec.start + f * spec.duration for f in STILL_AT]
    active = [
        [r for r in spec.redactions if r.start - _REDACTION_MARGIN_S <= t < r.end + _REDACTION_MARGIN_S] for t in times
    ]
    plain_times = [t for t, rs in zip(times, active, strict=True) if not rs]
    plain = iter(frames.thumbnails(spec.source, plain_times, width=STILL_WIDTH))
    return [_redacted_still(spec.source, t, rs) if rs else next(plain) for t, rs in zip(times, active, strict=True)]


def _redacted_still(path: Path, t: float, redactions: Sequence[Redaction]) -> bytes:
    """The still at ``t`` with the redactions on screen then drawn over it (cached like thumbnails)."""
    boxes: list[tuple[str, list[_Rect]]] = [
        (r.kind, [r.box_at(u) for u in (t - _REDACTION_MARGIN_S, t, t + _REDACTION_MARGIN_S)]) for r in redactions
    ]
    source = cache.file_hash(path)  # the key starts with it, so destroying the recording finds the still
    key = source + "-" + hashlib.sha256(json.dumps([source, round(t * 1000), STILL_WIDTH, boxes]).encode()).hexdigest()
    entry = cache.entry_path("form-still", key, ".jpg")
    try:
        data = entry.read_bytes()
    except OSError:
        data = b""
    if data:
        return data
    still = frames.frame_at(path, t, width=STILL_WIDTH)
    rgb = np.frombuffer(still.data, dtype=np.uint8).reshape(still.height, still.width, 3).copy()
    for kind, positions in boxes:
        _cover(rgb, kind, _pixel_box(positions, still.width, still.height))
    data = _jpeg(rgb)
    cache.write_atomic(entry, data)
    return data


def _pixel_box(positions: Sequence[_Rect], width: int, height: int) -> tuple[int, int, int, int]:
    """The union of frame-relative boxes, rounded outward to whole pixels and padded by one."""
    x0 = min(b[0] for b in positions)
    y0 = min(b[1] for b in positions)
    x1 = max(b[0] + b[2] for b in positions)
    y1 = max(b[1] + b[3] for b in positions)
    return (
        max(0, math.floor(x0 * width) - 1),
        max(0, math.floor(y0 * height) - 1),
        min(width, math.ceil(x1 * width) + 1),
        min(height, math.ceil(y1 * height) + 1),
    )


def _cover(rgb: _Rgb, kind: str, box: tuple[int, int, int, int]) -> None:
    """Fill a box (``box``) or replace it with coarse blocks of its average colour (``blur``, ``pixelate``)."""
    x0, y0, x1, y1 = box
    if kind == "box":
        rgb[y0:y1, x0:x1] = 0
        return
    block = max(4, round(min(rgb.shape[0], rgb.shape[1]) / 12))
    for by in range(y0, y1, block):
        for bx in range(x0, x1, block):
            cell = rgb[by : min(by + block, y1), bx : min(bx + block, x1)]
            cell[:] = cell.reshape(-1, 3).mean(axis=0).astype(np.uint8)


def _jpeg(rgb: _Rgb) -> bytes:
    """A baseline JPEG of an RGB24 array (FFmpeg's mjpeg encoder, as ``media_tools.frames`` makes them)."""
    height, width = rgb.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.qmin = codec.qmax = _JPEG_QSCALE
    frame = VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p", interpolation="AREA")
    packets = codec.encode(frame) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)


# ---------------------------------------------------------------------------------------------- words

_TITLE = "Consent to use video clips"
_HOW = (
    "Please look at each clip below and tick Granted or Withheld for each use. The uses run from the "
    "narrowest to the widest: granting a use also allows the uses above it, and withholding a use also rules "
    "out the uses below it. You may add conditions (for example: blur my face; not after a date; only "
    "audiences inside the authority). A use left blank is not allowed, unless you grant a use further down the "
    "list. You can withdraw at any time."
)
_CONDITIONS = "Conditions, if any:"


def _clock(t: float) -> str:
    """Seconds as ``m:ss.s`` (or ``h:mm:ss.s``)."""
    tenths = round(t * 10)
    h, rest = divmod(tenths, 36000)
    m, rest = divmod(rest, 600)
    s = f"{rest // 10:02d}.{rest % 10}"
    return f"{h}:{m:02d}:{s}" if h else f"{m}:{s}"


def _when(c: FormClip) -> str:
    return f"{_clock(c.start)} to {_clock(c.end)} of {c.recording_name} ({c.duration:.1f} s)"


def _version(c: FormClip) -> str:
    return f"version {c.version_number} ({c.version_hash[:12]})"


def _recorded(text: str) -> str:
    return text or "none yet"


def _groups(clips: Sequence[FormClip]) -> list[list[FormClip]]:
    """Clips by recording, in form order (each group starts a printed page)."""
    out: list[list[FormClip]] = []
    for c in clips:
        if out and out[-1][0].recording_name == c.recording_name:
            out[-1].append(c)
        else:
            out.append([c])
    return out


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
@page { size: A4; margin: 15mm 15mm 18mm 15mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt; color: #000;
       margin: 0; line-height: 1.35; }
@media screen { body { max-width: 190mm; margin: 10mm auto; } }
h1 { font-size: 16pt; margin: 0 0 3mm; }
h2 { font-size: 12pt; margin: 0 0 3mm; border-bottom: 1px solid #000; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 0 0 1mm; }
table.head td { padding: 0.5mm 4mm 0.5mm 0; vertical-align: top; }
p.how { margin: 3mm 0 5mm; }
section.group { break-before: page; page-break-before: always; }
section.group.first { break-before: auto; page-break-before: auto; }
section.group .ref { float: right; font-size: 8.5pt; font-weight: normal; }
article.clip { break-inside: avoid; page-break-inside: avoid; margin: 0 0 7mm; }
p.meta { font-size: 8.5pt; margin: 0 0 1.5mm; }
p.desc { margin: 0 0 1.5mm; }
ul.shows { margin: 0 0 2mm; padding-left: 5mm; }
div.stills { display: flex; gap: 2mm; margin: 0 0 2mm; }
div.stills figure { margin: 0; width: 32%; }
div.stills img { width: 100%; display: block; border: 1px solid #888; }
div.stills figcaption { font-size: 8pt; text-align: center; }
table.uses { border-collapse: collapse; width: 100%; }
table.uses th, table.uses td { border: 1px solid #000; padding: 1.2mm 2mm; text-align: left; vertical-align: middle; }
table.uses th.tick, table.uses td.tick { width: 20mm; text-align: center; }
table.uses td.recorded { font-size: 8.5pt; }
span.box { display: inline-block; width: 4.5mm; height: 4.5mm; border: 1.2px solid #000; }
p.conditions { margin: 2mm 0 0; }
div.line { border-bottom: 1px solid #000; height: 7mm; }
section.sign { break-inside: avoid; page-break-inside: avoid; margin-top: 8mm; }
table.sign { width: 100%; border-collapse: collapse; }
table.sign td { padding: 5mm 2mm 0 0; vertical-align: bottom; }
table.sign td.label { width: 55mm; white-space: nowrap; }
table.sign td.space { border-bottom: 1px solid #000; }
""".strip()


def render_html(data: FormData) -> str:
    """The form as one self-contained HTML page (stills inline as data: URIs), laid out to print on A4."""
    e = _esc
    ref = data.reference
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(_TITLE)}: {e(data.pseudonym)} ({e(ref)})</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(_TITLE)}</h1>",
        '<table class="head">',
        f"<tr><td>Project</td><td>{e(data.project_name)}</td></tr>",
        f"<tr><td>Participant</td><td><strong>{e(data.pseudonym)}</strong></td></tr>",
        f"<tr><td>Form reference</td><td><strong>{e(ref)}</strong></td></tr>",
        f"<tr><td>Printed on</td><td>{e(data.generated_on.isoformat())}</td></tr>",
        f"<tr><td>Clips</td><td>{len(data.clips)}</td></tr>",
        "</table>",
        f'<p class="how">{e(_HOW)}</p>',
        "</header>",
    ]
    if not data.clips:
        parts.append("<p><strong>You are not present in any clip: there is nothing to decide.</strong></p>")
    for i, group in enumerate(_groups(data.clips)):
        parts.append(f'<section class="group{" first" if i == 0 else ""}">')
        parts.append(f'<h2>Recording: {e(group[0].recording_name)} <span class="ref">{e(ref)}</span></h2>')
        parts.extend(_html_clip(c) for c in group)
        parts.append("</section>")
    parts += [
        '<section class="sign">',
        "<h2>Signature</h2>",
        '<table class="sign">',
        '<tr><td class="label">Name (written by the researcher)</td><td class="space"></td></tr>',
        '<tr><td class="label">Signature</td><td class="space"></td></tr>',
        '<tr><td class="label">Date</td><td class="space"></td></tr>',
        '<tr><td class="label">Received by (researcher)</td><td class="space"></td></tr>',
        "</table>",
        "</section>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _xml(text: str) -> str:
    """Text for a reportlab Paragraph, whose markup is XML-like: only &, < and > need escaping."""
    return html.escape(text, quote=False)


def _html_clip(c: FormClip) -> str:
    e = _esc
    lines = [
        '<article class="clip">',
        f"<h3>Clip {c.clip_id}: {e(c.name)}</h3>",
        f'<p class="meta">{e(_when(c))} · {e(_version(c))}</p>',
    ]
    if c.description:
        lines.append(f'<p class="desc">{e(c.description)}</p>')
    lines.append('<ul class="shows">' + "".join(f"<li>{e(x)}</li>" for x in c.shows) + "</ul>")
    if c.thumbnails:
        lines.append('<div class="stills">')
        for f, jpeg in zip(STILL_AT, c.thumbnails, strict=False):
            t = c.start + f * c.duration
            label = f"{round(f * 100)} % ({_clock(t)})"
            uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
            lines.append(
                f'<figure><img src="{uri}" alt="still at {e(label)}"><figcaption>{e(label)}</figcaption></figure>'
            )
        lines.append("</div>")
    lines += [
        '<table class="uses">',
        '<thead><tr><th>Use</th><th class="tick">Granted</th><th class="tick">Withheld</th>'
        "<th>Recorded so far</th></tr></thead>",
        "<tbody>",
    ]
    for sc in scopes.SCOPES:
        lines.append(
            f'<tr data-scope="{e(sc)}"><td>{e(scopes.LABELS[sc])}</td>'
            f'<td class="tick"><span class="box"></span></td><td class="tick"><span class="box"></span></td>'
            f'<td class="recorded">{e(_recorded(c.decisions.get(sc, "")))}</td></tr>'
        )
    lines += [
        "</tbody>",
        "</table>",
        f'<p class="conditions">{e(_CONDITIONS)}</p>',
        '<div class="line"></div>',
        '<div class="line"></div>',
        "</article>",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- PDF


@functools.cache
def _fonts() -> tuple[str, str]:
    """Regular and bold font names: DejaVu Sans when installed (it has "Ł" and "—"), else Helvetica."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if not regular.is_file():
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("FrontdoorSans", str(regular)))
    bold_name = "FrontdoorSans"
    if bold.is_file():
        pdfmetrics.registerFont(TTFont("FrontdoorSans-Bold", str(bold)))
        bold_name = "FrontdoorSans-Bold"
    for is_bold, name in ((0, "FrontdoorSans"), (1, bold_name)):
        for italic in (0, 1):
            addMapping("FrontdoorSans", is_bold, italic, name)
    return "FrontdoorSans", bold_name


def render_pdf(data: FormData) -> bytes:
    """The form as an A4 PDF (reportlab): the same content as ``render_html``."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import (
        Image,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    font, bold = _fonts()
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

    doc_width = A4[0] - 30 * mm
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
        para(_TITLE, h1),
        Table(
            [
                [para("Project", body), para(data.project_name, body)],
                [para("Participant", body), para(data.pseudonym, th)],
                [para("Form reference", body), para(ref, th)],
                [para("Printed on", body), para(data.generated_on.isoformat(), body)],
                [para("Clips", body), para(str(len(data.clips)), body)],
            ],
            colWidths=[35 * mm, doc_width - 35 * mm],
            hAlign="LEFT",
            style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1)],
        ),
        Spacer(1, 3 * mm),
        para(_HOW, body),
        Spacer(1, 5 * mm),
    ]
    if not data.clips:
        story.append(para("You are not present in any clip: there is nothing to decide.", th))
    still_w = (doc_width - 4 * mm) / 3
    for i, group in enumerate(_groups(data.clips)):
        if i:
            story.append(PageBreak())
        story.append(para(f"Recording: {group[0].recording_name}", h2))
        for c in group:
            block: list[Any] = [
                para(f"Clip {c.clip_id}: {c.name}", h3),
                para(f"{_when(c)} · {_version(c)}", small),
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
                    caps.append(para(f"{round(f * 100)} % ({_clock(c.start + f * c.duration)})", caption))
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
                        para(_recorded(c.decisions.get(sc, "")), small),
                    ]
                )
            block.append(Table(rows, colWidths=[58 * mm, 25 * mm, 25 * mm, doc_width - 108 * mm], style=grid))
            block += [
                Spacer(1, 2 * mm),
                lines([(_CONDITIONS, 7 * mm), ("", 7 * mm)], 36 * mm),
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

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(15 * mm, 10 * mm, f"Frontdoor consent form {ref} · {data.pseudonym}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"{_TITLE}: {data.pseudonym} ({ref})",
        author="Frontdoor",
        subject=ref,
        invariant=True,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- files


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
    _write_atomic(out, payload)
    return out


def _write_atomic(out: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
