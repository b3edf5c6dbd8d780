"""The referral report: tables, plots and the method, from the store alone, as HTML (and PDF).

``build_report`` reads a project's referral records (all, one period, or two periods to compare) and its
coded video documents, computes the statistics (:mod:`annotation.records.analysis`) and the coded-video time
budgets (:func:`annotation.coding.video_stats.code_stats`), and writes:

- ``report.html``: self-contained (styles inline, plots embedded as SVG), readable printed in greyscale;
- ``report_data/``: every table as CSV exactly as published (small cells suppressed), the numbers behind
  every plot as CSV (unsuppressed: for the research team) and the plots as PNG;

That default version is for the research team (it says so). With ``publication=True`` it is the version
safe to publish: suppressed tables only, no plots, no test statistics, "not recorded" counts suppressed.
- ``report.pdf`` with ``pdf=True`` (reportlab, A4; :mod:`annotation.report.pdf`).

Only aggregates leave the store: no record is listed one by one and notes are never read into the report.
Everything but the "generated" time is a function of the store's contents and the options, so a second run
on an unchanged store gives identical tables and CSV files; the method section names a fingerprint of the
records used so a reader can tell whether two reports rest on the same data.

This module gathers the data from the store and assembles the report; the other modules of
:mod:`annotation.report` each do one part: :mod:`~annotation.report.model` (a table, a section),
:mod:`~annotation.report.tables` (the tables and their suppression), :mod:`~annotation.report.content`
(the sections, the method, the coded video), :mod:`~annotation.report.figures` (the plots),
:mod:`~annotation.report.html_page`, :mod:`~annotation.report.pdf` and :mod:`~annotation.report.data_folder`
(the outputs).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from annotation.errors import ReportError
from annotation.records import (
    MARK,
    RecordSegment,
    RecordView,
    ReferralRecord,
    Vocabularies,
    analyse,
    compare_periods,
    is_small,
    list_records,
    load_vocabularies,
    record_periods,
)
from annotation.report.content import (
    AUDIENCE_PUBLICATION,
    AUDIENCE_RESEARCH,
    VIDEO_TIERS,
    method_section,
    report_sections,
)
from annotation.report.data_folder import write_data
from annotation.report.disclosure import ALL_RECORDS, plan_hiding
from annotation.report.html_page import render_html
from annotation.report.model import Section
from annotation.report.recoding import recode_rows, recode_vocab
from annotation.store import Document, Recording, Store, get_or_not_found, project_by_name, schema_revision


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote (the PDF only when asked), what it rests on, and how long it took."""

    html: Path
    pdf: Path | None
    data_dir: Path
    files: tuple[Path, ...]
    records: int
    documents: int
    seconds: float


# ---- data from the store --------------------------------------------------------------------------------


def _project(store: Store, project: str) -> int:
    with store.session() as s:
        return project_by_name(s, project, error=ReportError).id


def project_documents(store: Store, project_id: int) -> list[tuple[int, str]]:
    """The project's ELAN documents (by their own project or their recording's), oldest first."""
    with store.session() as s:
        q = (
            select(Document.id, Document.name)
            .outerjoin(Recording, Recording.id == Document.recording_id)
            .where(Document.kind == "eaf", or_(Document.project_id == project_id, Recording.project_id == project_id))
            .order_by(Document.id)
        )
        return [(i, n) for i, n in s.execute(q)]


def _links(store: Store, project_id: int, doc_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(document, linked records, linked segments) per document."""
    out = []
    with store.session() as s:
        for did in doc_ids:
            pairs = s.execute(
                select(RecordSegment.record_id, RecordSegment.ann_id)
                .join(ReferralRecord, ReferralRecord.id == RecordSegment.record_id)
                .where(RecordSegment.document_id == did, ReferralRecord.project_id == project_id)
            ).all()
            out.append((did, len({r for r, _ in pairs}), len(pairs)))
    return out


def fingerprint(rows: Sequence[RecordView]) -> str:
    """SHA-256 of the analysed fields of the records (by id), to tell whether two reports rest on the same data."""
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r.id):
        item = [
            r.id,
            r.period,
            r.received_at.isoformat(),
            r.referrer_type,
            r.professional,
            r.concern,
            r.age_band,
            r.previous_referrals,
            r.response,
            r.outcome,
            r.decision_minutes,
            r.initial_assessment,
            r.feedback,
            r.manager_consulted,
        ]
        h.update(json.dumps(item, separators=(",", ":")).encode() + b"\n")
    return h.hexdigest()


# ---- the report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportContent:
    """What the report says, before it is written anywhere: the app's Analysis tab shows these sections."""

    sections: list[Section]
    meta: dict[str, str]
    records: int
    documents: int


def report_content(
    store: Store,
    project: str,
    *,
    period: str | None = None,
    compare: str | None = None,
    documents: Sequence[int] | None = None,
    command: str | None = None,
    out_name: str = "report.html",
    pdf: bool = False,
    generated_at: datetime | None = None,
    vocab: Vocabularies | None = None,
    publication: bool = False,
) -> ReportContent:
    """The report's sections (tables, figures, method) for ``project``; see :func:`build_report` (and for
    ``publication``, :func:`annotation.report.content.report_sections`).

    Raises:
        ReportError: no such project, no records, an unknown period, or ``compare`` without ``period``.
        NotFound: a document in ``documents`` does not exist.
    """
    vocab = vocab or load_vocabularies()
    if compare is not None and period is None:
        raise ReportError("--compare needs --period: the report compares period A (--period) with B (--compare)")
    if compare is not None and compare == period:
        raise ReportError(f"period {period!r}: compare it with a different period")
    pid = _project(store, project)
    known = record_periods(store, project)
    if not known:
        raise ReportError(f"project {project!r}: no referral records (import some with 'frontdoor records import')")
    for p in (period, compare):
        if p is not None and p not in known:
            raise ReportError(f"period {p!r}: no records in project {project!r} (periods: {', '.join(known)})")

    # every record: the hidden counts are chosen for all records and every period together (see
    # annotation.report.disclosure), so that any two of the project's reports can be read side by side
    every = list_records(store, project)
    by_period: dict[str, list[RecordView]] = {}
    for r in every:
        by_period.setdefault(r.period, []).append(r)
    selections: list[tuple[str, list[RecordView]]]
    if period is None:
        selections = [(ALL_RECORDS, every)]
    else:
        selections = [(period, by_period[period])]
        if compare is not None:
            selections.append((compare, by_period[compare]))
    plan = plan_hiding(by_period, vocab, recode=publication)  # the research version: categories as recorded
    fingerprinted = [r for _, rows in selections for r in rows]
    if plan.recodings:  # categories combined in every table and selection (annotation.report.recoding)
        vocab = recode_vocab(vocab, plan.recodings)
        selections = [(label, recode_rows(rows, plan.recodings)) for label, rows in selections]
    analyses = [analyse(rows, vocab, label) for label, rows in selections]
    comparison = (
        compare_periods(selections[0][1], selections[1][1], vocab, selections[0][0], selections[1][0])
        if compare is not None
        else None
    )
    all_rows = fingerprinted
    doc_list = project_documents(store, pid) if documents is None else _named_documents(store, documents)
    budgets = _budgets(store, doc_list)

    sections = report_sections(
        analyses,
        selections,
        comparison,
        vocab,
        budgets,
        _links(store, pid, [d for d, _ in doc_list]),
        doc_list,
        publication,
        hidden=[plan.hiding[label] for label, _ in selections],
    )

    def records(rows: Sequence[RecordView]) -> str:
        return MARK if publication and is_small(len(rows)) else str(len(rows))

    meta = {
        "project": project,
        "version": "publication version" if publication else "research team version",
        "audience": AUDIENCE_PUBLICATION if publication else AUDIENCE_RESEARCH,
        "selection": " and ".join(f"{label} ({records(rows)} records)" for label, rows in selections),
        "generated": (generated_at or datetime.now(UTC)).astimezone().isoformat(timespec="seconds"),
        "store": store.label,
        "schema": schema_revision(store.engine) or "",
        "fingerprint": fingerprint(all_rows),
        "command": command or _command(project, period, compare, out_name, pdf, documents, publication),
        "versions": _versions(),
    }
    sections.insert(0, method_section(meta, vocab, publication, sections, plan))
    return ReportContent(sections, meta, len(all_rows), len(doc_list))


def build_report(
    store: Store,
    project: str,
    out: str | Path,
    *,
    period: str | None = None,
    compare: str | None = None,
    pdf: bool = False,
    documents: Sequence[int] | None = None,
    command: str | None = None,
    generated_at: datetime | None = None,
    vocab: Vocabularies | None = None,
    publication: bool = False,
) -> ReportResult:
    """Write the report for ``project`` to ``out`` (HTML), its data folder beside it, and the PDF if asked.

    ``period`` limits it to one period; with ``compare`` too, the two periods are shown side by side and
    tested against each other. ``documents`` picks the coded documents (default: all of the project's).

    By default the report is for the research team: its plots, their CSVs, the test statistics, the "not
    recorded" counts and the coded video's tables are not suppressed. ``publication=True`` writes the version
    safe to publish: the suppressed tables only, no plots (none in the HTML, PDF or data folder), no test
    statistics, p-values or effect sizes, and "not recorded" counts of 1 to 4 hidden like the others.

    Raises:
        ReportError: no such project, no records, an unknown period, or ``compare`` without ``period``.
        NotFound: a document in ``documents`` does not exist.
    """
    t0 = time.perf_counter()
    out_path = Path(out)
    content = report_content(
        store,
        project,
        period=period,
        compare=compare,
        documents=documents,
        command=command,
        out_name=out_path.name,
        pdf=pdf,
        generated_at=generated_at,
        vocab=vocab,
        publication=publication,
    )
    sections, meta = content.sections, content.meta
    data_dir = out_path.with_name(out_path.stem + "_data")
    files = write_data(data_dir, sections, publication)
    out_path.write_text(render_html(sections, meta, data_dir.name), encoding="utf-8")
    pdf_path = None
    if pdf:
        from annotation.report.pdf import render_pdf

        pdf_path = out_path.with_suffix(".pdf")
        pdf_path.write_bytes(render_pdf(sections, meta))
    return ReportResult(
        out_path, pdf_path, data_dir, tuple(files), content.records, content.documents, time.perf_counter() - t0
    )


def _named_documents(store: Store, ids: Sequence[int]) -> list[tuple[int, str]]:
    with store.session() as s:
        out = []
        for i in ids:
            d = get_or_not_found(s, Document, i, "document", message=f"document {i}: no such document")
            out.append((d.id, d.name))
        return out


def _budgets(store: Store, docs: Sequence[tuple[int, str]]) -> list[tuple[str, list[Any]]]:
    from annotation.coding import code_stats

    out = []
    for did, name in docs:
        stats = [s for s in code_stats(store, did) if s.tier in VIDEO_TIERS]
        out.append((f"{did}: {name}", stats))
    return out


def _command(
    project: str,
    period: str | None,
    compare: str | None,
    out: str,
    pdf: bool,
    documents: Sequence[int] | None = None,
    publication: bool = False,
) -> str:
    """The ``frontdoor report`` command line that makes this report again, quoted for a POSIX shell."""
    parts = ["frontdoor", "report", "--project", project]
    if period:
        parts += ["--period", period]
    if compare:
        parts += ["--compare", compare]
    parts += ["--out", out] + (["--pdf"] if pdf else []) + (["--publication"] if publication else [])
    for d in documents or ():
        parts += ["--doc", str(d)]
    return shlex.join(parts)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("frontdoor", "numpy", "scipy", "matplotlib"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} (unknown version)")
    return ", ".join(out)
