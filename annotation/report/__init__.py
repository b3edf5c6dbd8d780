"""The referral report: tables, plots and the method from the store alone, as HTML, PDF and CSV files.

``builder`` gathers the data and assembles the report; ``model`` (a table, a section), ``disclosure``
(which counts to hide, chosen once for all the tables), ``recoding`` (categories combined first where
hiding alone cannot keep a table's bar), ``tables`` (the tables, marked), ``content`` (the
sections and the method) and ``figures`` (the plots) make its parts; ``html_page``, ``pdf`` and
``data_folder`` write it; ``pdf_page`` is the A4 page set-up that the consent forms share.
"""

from __future__ import annotations

from annotation.report import builder
from annotation.report.builder import ReportContent, build_report, report_content
from annotation.report.model import Table, shown_text
from annotation.report.pdf_page import A4Page, register_fonts

__all__ = [
    "A4Page",
    "ReportContent",
    "Table",
    "build_report",
    "builder",
    "register_fonts",
    "report_content",
    "shown_text",
]
