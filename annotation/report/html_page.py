"""The report as one self-contained HTML page: styles inline, plots embedded as SVG, links to the data CSVs.

The page is meant to be read on screen and printed in greyscale; the same sections also go to the PDF
(:mod:`annotation.report.pdf`).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

from annotation.report.model import Section, Table

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10.5pt;color:#000;max-width:60em;margin:2em auto;
padding:0 1em}
h1{font-size:17pt;margin-bottom:.2em} h2{font-size:13pt;border-bottom:1px solid #000;margin-top:1.8em}
h3{font-size:10.5pt;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.3em 0 .2em;font-size:9pt}
th,td{border:1px solid #555;padding:2px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left} th{background:#e6e6e6}
tr.total td{font-weight:bold}
p.note,p.data{font-size:8.5pt;margin:.1em 0 .8em} p.meta{font-size:9pt}
figure{margin:1em 0;page-break-inside:avoid} figure img{max-width:100%} figcaption{font-size:8.5pt}
.internal{font-style:italic}
@media print{body{margin:0;max-width:none} a{color:#000;text-decoration:none} section{page-break-inside:auto}}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_html(sections: Sequence[Section], meta: dict[str, str], data_dir: str) -> str:
    """The report as one self-contained HTML page (plots embedded as SVG; links to the data CSVs beside it)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Referral report: {_esc(meta['project'])} ({_esc(meta['version'])})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Referral report: {_esc(meta['project'])}</h1>",
        f'<p class="audience"><strong>{_esc(meta["audience"])}</strong></p>',
        f'<p class="meta">{_esc(meta["selection"])}. Generated {_esc(meta["generated"])}.</p>',
        "<nav><ol>" + "".join(f'<li><a href="#{s.anchor}">{_esc(s.title)}</a></li>' for s in sections) + "</ol></nav>",
    ]
    for s in sections:
        out.append(f'<section id="{s.anchor}"><h2>{_esc(s.title)}</h2>')
        out += [f"<p>{_esc(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            out.append(f"<h3>{_esc(t.title)}</h3>")
            out.append(_html_table(t))
            bits = [_esc(t.note)] if t.note else []
            if not t.publication:
                bits.append('<span class="internal">Counts of video segments, not of referrals.</span>')
            bits.append(f'Data: <a href="{_esc(data_dir)}/{_esc(t.key)}.csv">{_esc(t.key)}.csv</a>')
            out.append(f'<p class="note">{" ".join(bits)}</p>')
        for f in s.figures:
            b64 = base64.b64encode(f.svg).decode("ascii")
            out.append(
                f'<figure id="{_esc(f.key)}"><img alt="{_esc(f.title)}" src="data:image/svg+xml;base64,{b64}">'
                f"<figcaption>{_esc(f.title)}. {_esc(f.caption)} Numbers: "
                f'<a href="{_esc(data_dir)}/{_esc(f.key)}.csv">{_esc(f.key)}.csv</a> (not suppressed).'
                "</figcaption></figure>"
            )
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_table(t: Table) -> str:
    buf = io.StringIO()
    buf.write("<table><thead><tr>")
    buf.write("".join(f"<th>{_esc(h)}</th>" for h in t.header))
    buf.write("</tr></thead><tbody>")
    for r in t.rows:
        cls = ' class="total"' if r and r[0] == "total" else ""
        buf.write(f"<tr{cls}>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>")
    buf.write("</tbody></table>")
    return buf.getvalue()
