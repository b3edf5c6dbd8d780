"""A participant's receipt for a decision or a withdrawal: what they decided, on which clip version and use,
when, and the audit entry with the head of the chain right after it (``ID:HASH``).

The head is what the person can hold up later: ``frontdoor audit verify --head ID:HASH`` fails, naming the
receipt's head, if the log no longer holds that entry with that hash (an entry cut from its tail, a
decision rewritten). The receipt shows the pseudonym only. It is written as a self-contained HTML page
(with the head in ``<meta name="frontdoor-audit-head">``) or an A4 PDF (the head in its subject), and the
review station shows the same words on screen (:func:`receipt_lines`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from annotation.store import Project, Store
from consent import anchors, conditions, scopes
from consent.errors import InvalidRequest, UnknownThing
from consent.models import AuditEntry, Clip, ClipVersion, Participant
from media_tools.files import write_atomic

TITLES = {"decision": "Receipt for your consent decision", "withdrawal": "Receipt for your withdrawal"}
KEEP = (
    "Keep this receipt. The audit entry and the chain head on it identify your decision in the project's audit "
    "log: if it is ever disputed, the researcher (or anyone auditing the project) can check with them that it "
    "is still recorded exactly as you made it."
)


@dataclass(frozen=True)
class Receipt:
    kind: str  # "decision" or "withdrawal"
    project: str
    pseudonym: str
    decided: tuple[tuple[str, str], ...]  # (use, what was decided), or for a withdrawal one line
    clip: str | None  # "clip 4: Call about school"
    version: str | None  # "version 2 (3f2a9c01b7de)"
    at: datetime
    entries: tuple[int, ...]
    head: anchors.Head


def decision_text(decision: str, conds: Sequence[dict[str, Any]]) -> str:
    """One decision in plain words: "granted", "granted, on condition: not after 6 Dec 2027", "withheld"."""
    if decision == "granted" and conds:
        return "granted, on condition: " + "; ".join(conditions.describe(c) for c in conds)
    return decision


def receipt_lines(r: Receipt) -> list[str]:
    """The receipt's words, line by line (the review station shows these; the files lay out the same)."""
    when = f"{anchors.day_text(r.at)}, {r.at.astimezone(UTC).strftime('%H:%M')} UTC"
    out = [TITLES[r.kind], f"Project: {r.project}", f"Participant: {r.pseudonym}"]
    if r.clip:
        out.append(f"Clip: {r.clip}, {r.version}")
    out += [f"{use}: {what}" for use, what in r.decided]
    first, last = r.entries[0], r.entries[-1]
    out += [
        f"Recorded: {when}",
        f"Audit entry: {first}" if first == last else f"Audit entries: {first} to {last}",
        f"Chain head: {r.head.text}",
    ]
    return out


def decision_receipt(
    project: str,
    pseudonym: str,
    clip: str,
    version: str,
    decided: Sequence[tuple[str, str, Sequence[dict[str, Any]]]],
    entries: Sequence[int],
    head: anchors.Head,
    *,
    at: datetime | None = None,
) -> Receipt:
    """A receipt for decisions just recorded (the review station's): ``decided`` as (scope, decision,
    conditions) triples, ``entries`` and ``head`` as ``consent.decisions.record_decisions`` returned them."""
    lines = tuple((scopes.LABELS[sc], decision_text(d, conds)) for sc, d, conds in decided)
    return Receipt("decision", project, pseudonym, lines, clip, version, at or datetime.now(UTC), tuple(entries), head)


def receipt_for_entry(store: Store, entry_id: int) -> Receipt:
    """The receipt for the decision or withdrawal recorded in audit entry ``entry_id`` (a decision recorded
    with others for the same clip at once: all of them), with the head right after it.

    Raises:
        UnknownThing: no such entry.
        InvalidRequest: the entry records neither a decision nor a withdrawal.
    """
    with store.session() as s:
        e = s.get(AuditEntry, entry_id)
        if e is None:
            raise UnknownThing(f"audit entry {entry_id}: not found (see 'frontdoor audit show')")
        if e.event not in ("decision", "withdrawal") or e.participant_id is None:
            raise InvalidRequest(f"audit entry {entry_id}: records a {e.event}, not a decision or a withdrawal")
        p = s.get(Participant, e.participant_id)
        assert p is not None
        project = s.get(Project, p.project_id)
        act = [e]
        if e.event == "decision":  # the decisions recorded with it, one act (entries next to each other)
            body = json.loads(e.payload)
            for step in (-1, 1):
                n = e.id + step
                while (x := s.get(AuditEntry, n)) is not None and _same_act(x, e, body["version"]):
                    act.append(x)
                    n += step
            act.sort(key=lambda x: x.id)
        decided: list[tuple[str, str]] = []
        clip_text = version_text = None
        if e.event == "decision":
            for x in act:
                b = json.loads(x.payload)
                decided.append((scopes.LABELS[b["scope"]], decision_text(b["decision"], b["conditions"])))
            c = s.get(Clip, e.clip_id)
            v = s.scalar(select(ClipVersion).where(ClipVersion.version_hash == body["version"]))
            clip_text = f"clip {e.clip_id}: {c.name}" if c else f"clip {e.clip_id}"
            version_text = f"version {v.number if v else '?'} ({body['version'][:12]})"
        else:
            decided.append(("Every use of your clips", "withdrawn from this date on"))
        last = act[-1]
        return Receipt(
            e.event,
            project.name if project else "",
            p.pseudonym,
            tuple(decided),
            clip_text,
            version_text,
            datetime.fromisoformat(e.at),
            tuple(x.id for x in act),
            anchors.Head(last.id, last.hash),
        )


def _same_act(x: AuditEntry, e: AuditEntry, version: str) -> bool:
    return (
        x.event == "decision"
        and x.participant_id == e.participant_id
        and x.clip_id == e.clip_id
        and json.loads(x.payload).get("version") == version
    )


def write_receipt(receipt: Receipt, out: Path) -> Path:
    """Write ``receipt`` to ``out``: HTML for ``.html``/``.htm``, PDF for ``.pdf`` (replaced atomically).

    Raises:
        InvalidRequest: another extension, or a missing folder.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".html", ".htm", ".pdf"):
        raise InvalidRequest(f"{out}: use an .html or .pdf name")
    if not out.parent.is_dir():
        raise InvalidRequest(f"{out}: the folder {out.parent} does not exist")
    write_atomic(out, render_receipt_pdf(receipt) if kind == ".pdf" else render_receipt_html(receipt).encode())
    return out


def render_receipt_html(r: Receipt) -> str:
    e = html.escape
    lines = receipt_lines(r)
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in (x.split(": ", 1) for x in lines[1:]))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta name="frontdoor-audit-head" content="{e(r.head.text)}">',
            f"<title>{e(lines[0])}: {e(r.pseudonym)}</title>",
            "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:11pt;max-width:180mm;margin:12mm auto}"
            "th{text-align:left;padding:1mm 4mm 1mm 0;vertical-align:top}td{padding:1mm 0;word-break:break-all}"
            "</style>",
            "</head>",
            "<body>",
            f"<h1>{e(lines[0])}</h1>",
            f"<table>{rows}</table>",
            f"<p>{e(KEEP)}</p>",
            "</body>",
            "</html>",
        ]
    )


def render_receipt_pdf(r: Receipt) -> bytes:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    from annotation.report import A4Page, register_fonts

    page = A4Page(left=20, right=20, top=20, bottom=18, footer_size=8)
    font, bold = register_fonts("FrontdoorSans", markup_bold=True)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=14)
    head = ParagraphStyle("head", fontName=bold, fontSize=11, leading=14)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, spaceAfter=5 * mm)
    lines = receipt_lines(r)
    rows = [
        [Paragraph(html.escape(k, quote=False), head), Paragraph(html.escape(v, quote=False), body)]
        for k, v in (x.split(": ", 1) for x in lines[1:])
    ]
    # the 64 hex digits of the head need room to break: put them on a line of their own
    rows[-1] = [rows[-1][0], Paragraph(f"{r.head.entry}:{r.head.hash[:32]}<br/>{r.head.hash[32:]}", body)]
    story: list[Any] = [
        Paragraph(html.escape(lines[0], quote=False), h1),
        Table(rows, colWidths=[40 * mm, page.frame_width - 40 * mm], hAlign="LEFT"),
        Spacer(1, 6 * mm),
        Paragraph(html.escape(KEEP, quote=False), body),
    ]
    return page.build(
        story,
        font=font,
        footer=f"Frontdoor receipt · {r.pseudonym} · audit entry {r.entries[-1]}",
        title=f"{lines[0]}: {r.pseudonym}",
        subject=f"frontdoor-audit-head {r.head.text}",
    )
