"""Exports of a document to other formats, one writer per format behind a registry.

``tsv``/``csv``: one row per annotation like ELAN's tab-delimited export; ``srt``/``vtt``: subtitles of one
tier; ``textgrid``: Praat TextGrid (written by pympi-ling, which does this without loss); ``json``: the
whole document's annotations, described by ``resources/schemas/annotations.schema.json``.
Every writer gets the document and the tier ids to include, and writes atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from annotation.elan.model import EafDocument
from annotation.elan.timing import Segment, document_segments
from annotation.elan.writer import write_atomic
from annotation.errors import ExportError
from media_tools.clock import clock_text

JSON_SCHEMA_ID = "https://frontdoor.invalid/schemas/annotations-1.json"
Exporter = Callable[[EafDocument, list[str], Path], None]
_REGISTRY: dict[str, Exporter] = {}


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    def register(fn: Exporter) -> Exporter:
        _REGISTRY[name] = fn
        return fn

    return register


def formats() -> list[str]:
    return sorted(_REGISTRY)


def export_document(doc: EafDocument, fmt: str, out: str | os.PathLike[str], tiers: list[str] | None = None) -> None:
    """Write ``doc`` as ``fmt`` to ``out``; ``tiers`` limits which tiers (default: all).

    Raises:
        ExportError: unknown format or tier, or a format that needs one tier and got several.
    """
    fn = _REGISTRY.get(fmt)
    if fn is None:
        raise ExportError(f"{fmt}: unknown export format (choose from {', '.join(formats())})")
    known = [t.tier_id for t in doc.tiers]
    if tiers:
        for t in tiers:
            if t not in known:
                raise ExportError(f"tier {t!r}: no such tier in the document")
    fn(doc, list(tiers or known), Path(out))


def _rows(doc: EafDocument, tiers: list[str]) -> list[tuple[Segment, str]]:
    segs = document_segments(doc)
    participants = {t.tier_id: t.attrs.get("PARTICIPANT", "") for t in doc.tiers}
    return [(s, participants[t]) for t in tiers for s in segs[t]]


def _table(doc: EafDocument, tiers: list[str], out: Path, dialect: str) -> None:
    buf = io.StringIO()
    if dialect == "tsv":
        w = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    else:
        w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["tier", "participant", "annotation_id", "start", "end", "start_ms", "end_ms", "duration_ms", "value"])
    for s, participant in _rows(doc, tiers):
        w.writerow(
            [
                s.tier_id,
                participant,
                s.ann_id,
                clock_text(s.start),
                clock_text(s.end),
                s.start,
                s.end,
                s.end - s.start,
                s.value,
            ]
        )
    write_atomic(out, buf.getvalue().encode("utf-8"))


@exporter("tsv")
def _tsv(doc: EafDocument, tiers: list[str], out: Path) -> None:
    _table(doc, tiers, out, "tsv")


@exporter("csv")
def _csv(doc: EafDocument, tiers: list[str], out: Path) -> None:
    _table(doc, tiers, out, "csv")


def _subtitle_tiers(doc: EafDocument, tiers: list[str], out: Path) -> list[tuple[str, Path]]:
    """One file per tier: ``out`` itself for a single tier, ``stem.TIER.ext`` beside it for several."""
    if len(tiers) == 1:
        return [(tiers[0], out)]

    def safe(t: str) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in t)

    return [(t, out.with_name(f"{out.stem}.{safe(t)}{out.suffix}")) for t in tiers]


def _subtitles(doc: EafDocument, tiers: list[str], out: Path, vtt: bool) -> None:
    segs = document_segments(doc)
    for tier, path in _subtitle_tiers(doc, tiers, out):
        lines = ["WEBVTT", ""] if vtt else []
        n = 0
        for s in segs[tier]:
            if s.end <= s.start or not s.value.strip():
                continue
            n += 1
            text = s.value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
            if vtt:
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
                lines += [str(n), f"{clock_text(s.start)} --> {clock_text(s.end)}", text, ""]
            else:
                lines += [str(n), f"{clock_text(s.start, sep=',')} --> {clock_text(s.end, sep=',')}", text, ""]
        write_atomic(path, "\n".join(lines).encode("utf-8"))


@exporter("srt")
def _srt(doc: EafDocument, tiers: list[str], out: Path) -> None:
    _subtitles(doc, tiers, out, vtt=False)


@exporter("vtt")
def _vtt(doc: EafDocument, tiers: list[str], out: Path) -> None:
    _subtitles(doc, tiers, out, vtt=True)


@exporter("textgrid")
def _textgrid(doc: EafDocument, tiers: list[str], out: Path) -> None:
    from pympi.Praat import TextGrid

    segs = document_segments(doc)
    xmax = max((s.end for t in tiers for s in segs[t]), default=0) / 1000 or 0.001
    tg = TextGrid(xmax=xmax)
    for t in tiers:
        tier = tg.add_tier(t)
        last_end = -1
        for s in segs[t]:
            if s.end <= s.start or s.start < last_end:
                continue  # Praat intervals must be non-empty and may not overlap
            tier.add_interval(s.start / 1000, s.end / 1000, s.value, check=False)
            last_end = s.end
    fd, tmp = tempfile.mkstemp(suffix=".TextGrid")
    os.close(fd)
    try:
        tg.to_file(tmp, codec="utf-8")
        write_atomic(out, Path(tmp).read_bytes())
    finally:
        Path(tmp).unlink(missing_ok=True)


def document_json(doc: EafDocument) -> dict[str, object]:
    """The document's annotations as the JSON structure of ``annotations.schema.json``."""
    segs = document_segments(doc)
    by_id = {t.tier_id: t for t in doc.tiers}
    return {
        "$schema": JSON_SCHEMA_ID,
        "format": "frontdoor-annotations",
        "version": 1,
        "author": doc.author,
        "media": [m.get("MEDIA_URL", "") for m in doc.media],
        "tiers": [
            {
                "id": tid,
                "parent": by_id[tid].parent_ref,
                "linguistic_type": by_id[tid].linguistic_type_ref,
                "participant": by_id[tid].attrs.get("PARTICIPANT"),
                "annotations": [
                    {
                        "id": s.ann_id,
                        "start_ms": s.start,
                        "end_ms": s.end,
                        "value": s.value,
                        "aligned": s.aligned,
                        "parent": s.parent,
                        "cve_ref": s.cve_ref,
                    }
                    for s in segs[tid]
                ],
            }
            for tid in segs
        ],
    }


@exporter("json")
def _json(doc: EafDocument, tiers: list[str], out: Path) -> None:
    data = document_json(doc)
    data["tiers"] = [t for t in data["tiers"] if t["id"] in tiers]  # type: ignore[attr-defined]
    write_atomic(out, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
