"""The research tabs beside Coding: referral records, the analysis report and coder agreement."""

from __future__ import annotations

from app.gui.research.analysis_view import REFRESH_KEYS
from app.gui.research.records_view import NEW_KEYS, SAVE_KEYS
from app.gui.research.tabs import ResearchTabs

__all__ = ["NEW_KEYS", "REFRESH_KEYS", "SAVE_KEYS", "ResearchTabs"]
