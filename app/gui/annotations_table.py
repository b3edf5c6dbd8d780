"""The annotations table: every annotation of the open document, filterable by tier and text, in step with
the timeline (both are refreshed from the same plain data after each edit: the whole document when it is
opened, only what an edit changed after that)."""

from __future__ import annotations

import bisect
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from annotation.edits import SegmentPatch
from annotation.elan import Segment

_RESET_ABOVE = 2000  # a patch this big resets the model: cheaper than thousands of row signals


def _order(s: Segment) -> tuple[int, str, int]:
    return (s.start, s.tier_id, s.end)


COLUMNS = ("Tier", "Start", "End", "Duration", "Value")


def short_time(ms: int) -> str:
    """``m:ss.mmm`` (``h:mm:ss.mmm`` past an hour); a time before the media's start with a minus sign."""
    sign = "-" if ms < 0 else ""
    s, milli = divmod(abs(ms), 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return sign + (f"{h}:{m:02d}:{s:02d}.{milli:03d}" if h else f"{m:02d}:{s:02d}.{milli:03d}")


class AnnotationsModel(QAbstractTableModel):
    """Rows are segments of all tiers, ordered by start time (then tier, then end)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Segment] = []
        self._by_id: dict[str, Segment] = {}

    def set_segments(self, by_tier: dict[str, list[Segment]]) -> None:
        self.beginResetModel()
        self._rows = sorted((s for segs in by_tier.values() for s in segs), key=_order)
        self._by_id = {s.ann_id: s for s in self._rows}
        self.endResetModel()

    def apply_patch(self, patch: SegmentPatch) -> None:
        """Replace only the rows an edit changed: a row whose place in the order stays is updated in place
        (the view keeps its selection), others are removed and inserted where they now belong."""
        upserts = [s for segs in patch.segments.values() for s in segs]
        if len(patch) > _RESET_ABOVE:
            gone = patch.removed | {u.ann_id for u in upserts}
            rows = [s for s in self._rows if s.ann_id not in gone]
            self.beginResetModel()
            self._rows = sorted(rows + upserts, key=_order)
            self._by_id = {s.ann_id: s for s in self._rows}
            self.endResetModel()
            return
        for ann_id in patch.removed:
            self._remove(ann_id)
        for seg in upserts:
            old = self._by_id.get(seg.ann_id)
            if old is not None and _order(old) == _order(seg):
                if old != seg:
                    i = self._find(old)
                    self._rows[i] = self._by_id[seg.ann_id] = seg
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                continue
            self._remove(seg.ann_id)
            i = bisect.bisect_right(self._rows, _order(seg), key=_order)
            self.beginInsertRows(QModelIndex(), i, i)
            self._rows.insert(i, seg)
            self._by_id[seg.ann_id] = seg
            self.endInsertRows()

    def _find(self, seg: Segment) -> int:
        i = bisect.bisect_left(self._rows, _order(seg), key=_order)
        while self._rows[i].ann_id != seg.ann_id:
            i += 1
        return i

    def _remove(self, ann_id: str) -> None:
        seg = self._by_id.pop(ann_id, None)
        if seg is None:
            return
        i = self._find(seg)
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self.endRemoveRows()

    def segment(self, row: int) -> Segment:
        return self._rows[row]

    def row_of(self, tier_id: str, ann_id: str) -> int | None:
        seg = self._by_id.get(ann_id)
        return self._find(seg) if seg is not None and seg.tier_id == tier_id else None

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
