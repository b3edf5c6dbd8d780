"""The consent form as one self-contained HTML page (stills inline as data: URIs), laid out to print on A4.

Each recording's clips start a printed page; the page ends with the signature block. The words are
:mod:`consent.forms.content`'s, the same as the PDF's.
"""

from __future__ import annotations

import base64
import html

from consent import scopes
from consent.forms.content import (
    CONDITIONS,
    HOW,
    TITLE,
    FormClip,
    FormData,
    recorded_text,
    recording_groups,
    seconds_text,
    version_text,
    when_text,
)
from consent.forms.stills import STILL_AT

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
        f'<meta name="frontdoor-audit-head" content="{e(data.head)}">' if data.head else "",
        f"<title>{e(TITLE)}: {e(data.pseudonym)} ({e(ref)})</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(TITLE)}</h1>",
        '<table class="head">',
        f"<tr><td>Project</td><td>{e(data.project_name)}</td></tr>",
        f"<tr><td>Participant</td><td><strong>{e(data.pseudonym)}</strong></td></tr>",
        f"<tr><td>Form reference</td><td><strong>{e(ref)}</strong></td></tr>",
        f"<tr><td>Printed on</td><td>{e(data.generated_on.isoformat())}</td></tr>",
        f"<tr><td>Clips</td><td>{len(data.clips)}</td></tr>",
        f'<tr><td>Audit head</td><td style="word-break: break-all">{e(data.head)}</td></tr>' if data.head else "",
        "</table>",
        f'<p class="how">{e(HOW)}</p>',
        "</header>",
    ]
    if not data.clips:
        parts.append("<p><strong>You are not present in any clip: there is nothing to decide.</strong></p>")
    for i, group in enumerate(recording_groups(data.clips)):
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


def _html_clip(c: FormClip) -> str:
    e = _esc
    lines = [
        '<article class="clip">',
        f"<h3>Clip {c.clip_id}: {e(c.name)}</h3>",
        f'<p class="meta">{e(when_text(c))} · {e(version_text(c))}</p>',
    ]
    if c.description:
        lines.append(f'<p class="desc">{e(c.description)}</p>')
    lines.append('<ul class="shows">' + "".join(f"<li>{e(x)}</li>" for x in c.shows) + "</ul>")
    if c.thumbnails:
        lines.append('<div class="stills">')
        for f, jpeg in zip(STILL_AT, c.thumbnails, strict=False):
            t = c.start + f * c.duration
            label = f"{round(f * 100)} % ({seconds_text(t)})"
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
            f'<td class="recorded">{e(recorded_text(c.decisions.get(sc, "")))}</td></tr>'
        )
    lines += [
        "</tbody>",
        "</table>",
        f'<p class="conditions">{e(CONDITIONS)}</p>',
        '<div class="line"></div>',
        '<div class="line"></div>',
        "</article>",
    ]
    return "\n".join(lines)
