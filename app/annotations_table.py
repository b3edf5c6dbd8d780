"""The annotations table: every annotation of the open document, filterable by tier and text, in step with
the timeline (both are refreshed from the same plain data after each edit)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from annotation.timing import Segment

COLUMNS = ("Tier", "Start", "End", "Duration", "Value")


def short_time(ms: int) -> str:
    s, milli = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}.{milli:03d}" if h else f"{m:02d}:{s:02d}.{milli:03d}"


class AnnotationsModel(QAbstractTableModel):
    """Rows are segments of all tiers, ordered by start time."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Segment] = []

    def set_segments(self, by_tier: dict[str, list[Segment]]) -> None:
        self.beginResetModel()
        self._rows = sorted((s for segs in by_tier.values() for s in segs), key=lambda s: (s.start, s.tier_id, s.end))
        self.endResetModel()

    def segment(self, row: int) -> Segment:
        return self._rows[row]

    def row_of(self, tier_id: str, ann_id: str) -> int | None:
        for i, s in enumerate(self._rows):
            if s.tier_id == tier_id and s.ann_id == ann_id:
                return i
        return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (s.tier_id, short_time(s.start), short_time(s.end), f"{(s.end - s.start) / 1000:.3f}", s.value)[col]
        if role == Qt.ItemDataRole.UserRole:  # sort keys
            return (s.tier_id, s.start, s.end, s.end - s.start, s.value.casefold())[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return s.value
        return None


class AnnotationsFilter(QSortFilterProxyModel):
    """Filter by tier (exact) and by text in the value (case-insensitive)."""

    def __init__(self) -> None:
        super().__init__()
        self.tier: str | None = None
        self.text = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, tier: str | None, text: str) -> None:
        self.beginFilterChange()
        self.tier, self.text = tier, text.casefold()
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, AnnotationsModel)
        s = model.segment(row)
        if self.tier and s.tier_id != self.tier:
            return False
        return not self.text or self.text in s.value.casefold()
