"""The window's research tabs beside Coding: Referral records (the project's sampled referrals, entered and
linked to what was coded) and Analysis (the report's tables and plots; agreement between two coders and
their consensus). Built the first time they are shown, for the open document's project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QWidget

from annotation.elan import TierRow
from annotation.services import document_project
from annotation.store import Store
from app.gui.research.agreement_view import AgreementView
from app.gui.research.analysis_view import AnalysisView, ReportView
from app.gui.research.records_view import RecordsView

CODING, RECORDS, ANALYSIS = 0, 1, 2


class _ProjectPage(QStackedWidget):
    """A page for the current project, or a line saying the document belongs to none."""

    def __init__(self) -> None:
        super().__init__()
        self.none = QLabel("This document belongs to no project: referral records and the report are per project.")
        self.none.setWordWrap(True)
        self.addWidget(self.none)
        self.view: QWidget | None = None

    def show_view(self, view: QWidget | None) -> None:
        if self.view is not None and self.view is not view:
            self.removeWidget(self.view)
            self.view.deleteLater()
        self.view = view
        if view is None:
            self.setCurrentWidget(self.none)
            return
        if self.indexOf(view) < 0:
            self.addWidget(view)
        self.setCurrentWidget(view)


class ResearchTabs:
    """Adds the Referral records and Analysis tabs to ``tabs`` (whose first tab is Coding) and keeps them on the
    open document's project. ``selected()`` gives the (document id, annotation id) selected in Coding;
    ``push(cmd)`` applies an edit through the window's undo stack; ``play(start, end)`` shows a span."""

    def __init__(
        self,
        tabs: QTabWidget,
        store: Store,
        *,
        selected: Callable[[], tuple[int, str] | None],
        push: Callable[[Any], bool],
        play: Callable[[int, int], None],
        say: Callable[[str], None],
    ) -> None:
        self.tabs, self.store = tabs, store
        self._selected, self._push, self._play, self._say = selected, push, play, say
        self.records_page, self.analysis_page = _ProjectPage(), _ProjectPage()
        tabs.addTab(self.records_page, "Referral records")
        tabs.addTab(self.analysis_page, "Analysis")
        self.records: RecordsView | None = None
        self.analysis: AnalysisView | None = None
        self.agreement = AgreementView(store, push)
        self.agreement.playRequested.connect(play)
        self.agreement.message.connect(say)
        self.project: str | None = None
        self.doc_id: int | None = None
        self._coded: list[str] = []
        tabs.currentChanged.connect(self._on_tab)

    def set_document(self, doc_id: int, tiers: list[TierRow]) -> None:
        """The open document changed (or its tiers did)."""
        self.doc_id = doc_id
        self._coded = [r.tier_id for r in tiers if r.vocabulary]
        _, project = document_project(self.store, doc_id)
        if project != self.project:
            self.project = project
            if self.analysis is not None:
                self.agreement.setParent(None)  # kept: it follows the document, not the project
            self.records = None  # built again for the new project when shown
            self.analysis = None
            self.records_page.show_view(None)
            self.analysis_page.show_view(None)
        self.agreement.set_document(doc_id, self._coded)
        self._on_tab(self.tabs.currentIndex())

    def _on_tab(self, index: int) -> None:
        if self.project is None:
            return
        if index == RECORDS and self.records is None:
            self.records = RecordsView(self.store, self.project)
            self.records.message.connect(self._say)
            self.records.linkRequested.connect(self._link)
            self.records_page.show_view(self.records)
        if index == ANALYSIS and self.analysis is None:
            report = ReportView(self.store, self.project)
            report.message.connect(self._say)
            self.analysis = AnalysisView(report, self.agreement)
            self.analysis_page.show_view(self.analysis)
            report.refresh()

    def _link(self, record_id: int) -> None:
        chosen = self._selected()
        if chosen is None or self.records is None:
            self._say("select an annotation in the Coding tab first, then link the record to it")
            return
        self.records.link(*chosen)
