"""The timeline view: range queries, zoom and scroll, mouse gestures as signals, and what it paints."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from annotation.edits.display import SegmentPatch
from annotation.elan.model import EafDocument, Tier
from annotation.elan.scheme import PARTICIPANTS_TIER, SENSITIVE_TIER, scheme_documents
from annotation.elan.tiers import TierRow, tier_rows
from annotation.elan.timing import Segment
from app.gui.timeline.ruler import format_time, tick_step
from app.gui.timeline.style import ROW_H, TOP_H
from app.gui.timeline.view import TimelineView
from media_tools.waveform import Peaks

HOUR = 3_600_000
CALL_PHASES = ("opening", "reason for call", "information gathering", "consultation", "decision", "closing")


def seg(tier: str, ann: str, start: int, end: int, value: str = "x") -> Segment:
    return Segment(tier, ann, start, end, value, True)


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TimelineView]:
    v = TimelineView(follow=False)
    qtbot.addWidget(v)
    v.resize(1600, 400)
    v.set_tiers([TierRow("Call phase", None, 0, CALL_PHASES), TierRow(PARTICIPANTS_TIER, None, 0, ())])
    v.set_duration(60_000)
    v.set_frame_ms(40)
    v.show()
    qtbot.waitExposed(v)
    yield v


def grab(v: TimelineView) -> QImage:
    return v.viewport().grab().toImage()


def pixel(img: QImage, x: float, y: float) -> QColor:
    return img.pixelColor(round(x), round(y))


# -- pure helpers -----------------------------------------------------------------------------------------------


def test_tier_rows_put_children_under_their_parents_in_document_order() -> None:
    etf, _ecv = scheme_documents()
    keep = {"Call phase", "Referrer type", PARTICIPANTS_TIER, "Notes"}
    doc = EafDocument(
        tiers=[t for t in etf.tiers if t.tier_id in keep],
        linguistic_types=etf.linguistic_types,
        vocabularies=etf.vocabularies,
    )
    doc.tiers.insert(0, Tier(attrs={"TIER_ID": "Speech", "PARENT_REF": PARTICIPANTS_TIER}))
    doc.tiers.append(Tier(attrs={"TIER_ID": "Gloss", "PARENT_REF": "Speech"}))
    doc.tiers.append(Tier(attrs={"TIER_ID": "Orphan", "PARENT_REF": "no such tier"}))
    rows = tier_rows(doc)
    assert [(r.tier_id, r.parent, r.depth) for r in rows] == [
        ("Call phase", None, 0),
        ("Referrer type", None, 0),
        (PARTICIPANTS_TIER, None, 0),
        ("Speech", PARTICIPANTS_TIER, 1),
        ("Gloss", "Speech", 2),
        ("Notes", None, 0),
        ("Orphan", None, 0),
    ]
    assert rows[0].vocabulary[:3] == ("opening", "reason for call", "information gathering")
    assert rows[2].vocabulary == () and "school" in rows[1].vocabulary


def test_ruler_labels_adapt_to_the_zoom() -> None:
    assert format_time(83_456, 1000) == "01:23"
    assert format_time(83_456, 200) == "01:23.456"
    assert format_time(3_723_000, 60_000, long=True) == "1:02:03"
    assert format_time(3_723_004, 10, long=True) == "1:02:03.004"
    assert tick_step(1.0) == 100 and tick_step(20.0) == 2000 and tick_step(3600.0) == 600_000
    assert tick_step(0.01) == 1


# -- range queries, zoom and scroll --------------------------------------------------------------------------


def test_range_queries_return_exactly_the_overlapping_segments(view: TimelineView) -> None:
    rng = np.random.default_rng(7)
    starts = rng.integers(0, 600_000, 3000)
    lengths = rng.choice([0, 1, 40, 500, 5000, 60_000], 3000)  # zero-length, nested and overlapping ones too
    segs = [
        seg("Call phase", f"a{i}", int(s), int(s + n)) for i, (s, n) in enumerate(zip(starts, lengths, strict=True))
    ]
    view.set_segments("Call phase", segs)

    def brute(t0: float, t1: float) -> set[str]:
        return {s.ann_id for s in segs if s.start < t1 and max(s.end, s.start + 1) > t0}

    for _ in range(300):
        t0 = float(rng.uniform(-1000, 610_000))
        t1 = t0 + float(rng.choice([0.5, 7.3, 1000, 30_000, 200_000]))
        got = view.segments_in("Call phase", t0, t1)
        assert {s.ann_id for s in got} == brute(t0, t1)
        assert [s.start for s in got] == sorted(s.start for s in got)
    assert len(view.segments_in("Call phase", 0, 600_000)) == 3000
    assert view.segments_in("Call phase", 1_000_000, 2_000_000) == [] and view.segments_in("nope", 0, 1) == []
    view.zoom_to(123_456, 150_000)
    assert {s.ann_id for s in view.visible_segments("Call phase")} == brute(*view.visible_range())


def test_zoom_and_scroll_keep_the_visible_range_consistent(view: TimelineView, qtbot: QtBot) -> None:
    assert view.visible_range() == (0.0, 60_000.0)  # the whole recording at first
    view.zoom_to(10_000, 20_000)
    assert view.visible_range() == pytest.approx((10_000, 20_000))
    view.zoom(2.0, anchor_ms=12_000)  # the anchor keeps its place on screen
    v0, v1 = view.visible_range()
    assert v1 - v0 == pytest.approx(5000) and (12_000 - v0) / (v1 - v0) == pytest.approx(0.2)
    assert view.x_for_ms(12_000) == pytest.approx(view.x_for_ms(view.ms_at(view.x_for_ms(12_000))))

    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 143)  # the scrollbar scrolls by pixels
    w0, w1 = view.visible_range()
    assert w1 - w0 == pytest.approx(5000) and w0 == pytest.approx(bar.value() / view_ppm(view), abs=1e-6)
    assert w0 > v0

    view.scroll_to(1e9)  # clamped at both ends, the span kept
    assert view.visible_range() == pytest.approx((55_000, 60_000))
    assert bar.value() == bar.maximum()
    view.scroll_to(-5)
    assert view.visible_range() == pytest.approx((0, 5000))

    view.zoom(1e6)  # down to frames: never less than two frames
    assert view.visible_range()[1] - view.visible_range()[0] == pytest.approx(80)
    view.zoom(1e-6)  # out to the whole recording, no further
    assert view.visible_range() == pytest.approx((0, 60_000))

    view.zoom_to(30_000, 40_000)
    x = view.x_for_ms(32_000)
    wheel(view, 120, x=x, ctrl=True)  # ctrl+wheel zooms around the pointer
    v0, v1 = view.visible_range()
    assert v1 - v0 == pytest.approx(8000) and view.x_for_ms(32_000) == pytest.approx(x)
    wheel(view, -120, x=800)  # the plain wheel scrolls time by a tenth of the view
    assert view.visible_range() == pytest.approx((v0 + 800, v1 + 800))

    view.zoom_to(30_000, 40_000)
    view.set_playhead(31_000)
    qtbot.keyClick(view, Qt.Key.Key_Plus)  # keys zoom around a visible playhead
    assert view.visible_range() == pytest.approx((30_500, 35_500))
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.visible_range() == pytest.approx((30_000, 40_000))
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.visible_range() == pytest.approx((0, 60_000))

    view.zoom_to(10_000, 20_000)
    view.resize(1000, 400)  # a resize keeps the times in view
    assert view.visible_range() == pytest.approx((10_000, 20_000))
    view.set_segments(PARTICIPANTS_TIER, [seg(PARTICIPANTS_TIER, "late", 70_000, 75_000)])
    view.zoom_all()  # annotations past the media's end extend the timeline
    assert view.visible_range() == pytest.approx((0, 75_000))


def view_ppm(view: TimelineView) -> float:
    v0, v1 = view.visible_range()
    return (view.x_for_ms(v1) - view.x_for_ms(v0)) / (v1 - v0)


def wheel(view: TimelineView, delta: int, x: float, ctrl: bool = False) -> None:
    pos = QPointF(x, TOP_H + 5)
    mods = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    event = QWheelEvent(
        pos,
        QPointF(view.viewport().mapToGlobal(pos.toPoint())),
        QPoint(),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        mods,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_following_the_playhead_pages_and_a_moving_playhead_repaints_a_strip(view: TimelineView, qtbot: QtBot) -> None:
    view.zoom_to(0, 10_000)
    qtbot.wait(20)
    spy = PaintSpy()
    view.viewport().installEventFilter(spy)
    view.set_playhead(5000)
    view.set_playhead(5040)
    qtbot.waitUntil(lambda: bool(spy.rects))
    assert sum(r.width() for r in spy.rects) <= 3 * 13, spy.rects  # strips of 13 px, never the whole viewport
    assert view.visible_range() == (0.0, 10_000.0)
    view.viewport().removeEventFilter(spy)

    # repainting only the strips gives the pixels of a full repaint, labels and selection included
    view.set_segments("Call phase", [seg("Call phase", f"a{i}", i * 700, i * 700 + 650, "opening") for i in range(14)])
    view.set_segments(PARTICIPANTS_TIER, [seg(PARTICIPANTS_TIER, "p", 4000, 7000, "DW-03 and the caller")])
    view.set_selected("Call phase", "a7")
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    view.viewport().render(image)
    for ms in (5200, 5230, 5700, 4100):
        strips = [QRect(round(view.x_for_ms(t)) - 6, 0, 13, image.height()) for t in (view.playhead(), ms)]
        view.set_playhead(ms)
        for r in strips:
            view.viewport().render(image, r.topLeft(), QRegion(r))
    full = QImage(image.size(), image.format())
    view.viewport().render(full)
    assert image == full

    view.set_playhead(12_000)  # not following: the view stays
    assert view.visible_range() == (0.0, 10_000.0)
    view.set_follow(True)
    view.set_playhead(10_020)  # playback crosses the right edge: next page
    assert view.visible_range() == pytest.approx((10_000, 20_000))
    view.set_playhead(45_000)  # a jump: the playhead lands near the left edge
    assert view.visible_range() == pytest.approx((44_000, 54_000))


class PaintSpy(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QPaintEvent):
            self.rects.extend(iter(event.region()))  # type: ignore[call-overload]
        return False


# -- mouse gestures -----------------------------------------------------------------------------------------


def test_a_drag_on_an_empty_row_asks_for_a_frame_snapped_annotation(view: TimelineView, qtbot: QtBot) -> None:
    view.zoom_to(0, 10_000)
    y = view.row_rect(PARTICIPANTS_TIER).center().y()
    x0, x1 = round(view.x_for_ms(1013)), round(view.x_for_ms(2987))
    with qtbot.waitSignal(view.createRequested) as blocker:
        drag(qtbot, view, QPoint(x1, y), QPoint(x0, y))  # right to left: still start < end
    assert blocker.args == [PARTICIPANTS_TIER, 1000, 3000]
    assert view.snap(view.ms_at(x0)) == 1000 and view.snap(view.ms_at(x1)) == 3000

    view.set_frame_ms(1000 / 29.97)  # NTSC: boundaries at rounded multiples of 33.37 ms
    x1 = round(view.x_for_ms(3000))
    with qtbot.waitSignal(view.createRequested) as blocker:
        drag(qtbot, view, QPoint(x0, y), QPoint(x1, y))
    _tier, s, e = blocker.args
    assert (s, e) == (round(30 * 1000 / 29.97), round(90 * 1000 / 29.97)) == (1001, 3003)


def drag(qtbot: QtBot, view: TimelineView, start: QPoint, end: QPoint) -> None:
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, (start + end) / 2)
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def record(view: TimelineView) -> list[tuple[str, list[Any]]]:
    """Every signal the view emits, in order, as (name, args)."""
    events: list[tuple[str, list[Any]]] = []
    for name in ("seekRequested", "annotationSelected", "selectionCleared", "createRequested", "resizeRequested"):
        getattr(view, name).connect(lambda *args, n=name: events.append((n, list(args))))
    view.moveRequested.connect(lambda *args: events.append(("moveRequested", list(args))))
    return events


def test_clicks_select_annotations_and_seek(view: TimelineView, qtbot: QtBot) -> None:
    view.set_segments(
        "Call phase", [seg("Call phase", "a1", 5000, 9000, "opening"), seg("Call phase", "a2", 9000, 12_000)]
    )
    view.zoom_to(0, 20_000)
    events = record(view)
    y = view.row_rect("Call phase").center().y()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_for_ms(7000)), y))
    # a click on an annotation selects it and seeks to its start
    assert events == [("annotationSelected", ["Call phase", "a1"]), ("seekRequested", [5000])]
    assert view.selected() == ("Call phase", "a1")
    assert pixel(grab(view), view.x_for_ms(7000), y) == QColor("#ffe27a")  # highlighted

    events.clear()
    x = round(view.x_for_ms(15_000))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert events == [("selectionCleared", []), ("seekRequested", [round(view.ms_at(x))])]
    assert view.selected() is None
    events.clear()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 10))  # on the ruler
    assert events == [("seekRequested", [round(view.ms_at(x))])]


def test_dragging_an_edge_resizes_and_dragging_the_body_moves(view: TimelineView, qtbot: QtBot) -> None:
    view.set_segments(
        "Call phase", [seg("Call phase", "a1", 5000, 9000, "opening"), seg("Call phase", "a2", 9000, 12_000)]
    )
    view.set_duration(15_000)
    view.zoom_all()
    y = view.row_rect("Call phase").center().y()
    recorded = record(view)

    def at(ms: float) -> QPoint:
        return QPoint(round(view.x_for_ms(ms)), y)

    drag(qtbot, view, at(5010), at(3990))  # a1's start edge, 1020 ms to the left
    drag(qtbot, view, at(8990), at(8000))  # a1's end edge, not a2's start: the pointer is inside a1
    drag(qtbot, view, at(9020), at(9530))  # a2's start edge
    drag(qtbot, view, at(10_500), at(11_000))  # a2's body: moved, its length kept
    drag(qtbot, view, at(10_500), at(14_500))  # a2's body, stopped by the end of the media
    drag(qtbot, view, at(11_990), at(8000))  # a2's end, never before its start + one frame
    events = [e for e in recorded if e[0] in ("resizeRequested", "moveRequested", "createRequested")]
    kinds = ["resizeRequested"] * 3 + ["moveRequested"] * 2 + ["resizeRequested"]
    assert [e[0] for e in events] == kinds
    assert all(e[1][:2] == ["Call phase", "a1" if i < 2 else "a2"] for i, e in enumerate(events))
    got = [tuple(e[1][2:]) for e in events]
    want = [(4000, 9000), (5000, 8000), (9520, 12_000), (9520, 12_520), (12_000, 15_000), (9000, 9040)]
    for (s, e), (ws, we) in zip(got, want, strict=True):
        assert s == pytest.approx(ws, abs=40) and e == pytest.approx(we, abs=40)
        assert s % 40 == 0 and e % 40 == 0
    assert got[3][1] - got[3][0] == 3000 and got[4:] == [(12_000, 15_000), (9000, 9040)]


# -- editing: patches, the menu, Alt+click, the inline editor ----------------------------------------------


def test_a_patch_changes_only_the_segments_it_names(view: TimelineView) -> None:
    rng = np.random.default_rng(3)
    segs = [
        seg("Call phase", f"a{i}", int(s), int(s) + int(n))
        for i, (s, n) in enumerate(
            zip(rng.integers(0, 60_000, 2000), rng.choice([0, 40, 500, 5000], 2000), strict=True)
        )
    ]
    others = [seg(PARTICIPANTS_TIER, f"p{i}", i * 1000, i * 1000 + 900) for i in range(50)]
    view.set_segments("Call phase", segs)
    view.set_segments(PARTICIPANTS_TIER, others)
    untouched = view._data[PARTICIPANTS_TIER]
    current = {s.ann_id: s for s in segs}
    for round_ in range(40):
        removed = {f"a{int(i)}" for i in rng.choice(2000, 5)} & current.keys()
        ids, starts = rng.choice(sorted(current), 5), rng.integers(0, 70_000, 5)
        picked = zip(ids, starts, rng.choice([0, 1, 300], 5), strict=True)
        changed = [seg("Call phase", a, int(t), int(t) + int(n), f"v{round_}") for a, t, n in picked]
        changed.append(seg("Call phase", f"new{round_}", 100 * round_, 100 * round_ + 40))
        changed = [c for c in changed if c.ann_id not in removed]
        view.apply_patch(SegmentPatch(frozenset(removed), {"Call phase": changed}))
        for a in removed:
            current.pop(a, None)
        current.update((c.ann_id, c) for c in changed)
        fresh = TimelineView(follow=False)
        fresh.set_segments("Call phase", list(current.values()))
        t0 = float(rng.uniform(-100, 70_000))
        for t1 in (t0 + 1, t0 + 2000, t0 + 90_000):
            assert view.segments_in("Call phase", t0, t1) == fresh.segments_in("Call phase", t0, t1)
        fresh.deleteLater()
    assert view._data[PARTICIPANTS_TIER] is untouched  # the other tier was neither rebuilt nor touched
    assert view.visible_segments(PARTICIPANTS_TIER) == others
    assert view.segment("Call phase", "new39") == seg("Call phase", "new39", 3900, 3940)
    assert (
        view.next_segment(PARTICIPANTS_TIER, "p3") == others[4] and view.next_segment(PARTICIPANTS_TIER, "p49") is None
    )


def test_the_context_menu_splits_merges_deletes_and_edits(view: TimelineView, qtbot: QtBot) -> None:
    view.set_segments(
        "Call phase", [seg("Call phase", "a1", 1000, 5000, "opening"), seg("Call phase", "a2", 5000, 9000, "closing")]
    )
    view.zoom_to(0, 10_000)
    events = record(view)
    for name in ("splitRequested", "mergeRequested", "deleteRequested", "childRequested"):
        getattr(view, name).connect(lambda *args, n=name: events.append((n, list(args))))
    y = view.row_rect("Call phase").center().y()
    menu = view.context_menu(QPoint(round(view.x_for_ms(3010)), y))
    assert menu is not None
    actions = {a.text(): a for a in menu.actions()}
    assert list(actions) == ["Split here", "Merge with next", "Edit value…", "Delete"]
    assert view.selected() == ("Call phase", "a1")  # the right-click selected it
    for text in ("Split here", "Merge with next", "Delete"):
        actions[text].trigger()
    assert events[1:] == [
        ("splitRequested", ["Call phase", "a1", 3000]),  # snapped to the frame boundary
        ("mergeRequested", ["Call phase", "a1", "a2"]),
        ("deleteRequested", ["Call phase", "a1"]),
    ]
    actions["Edit value…"].trigger()
    assert view.editor() is not None and view.editor().text() == "opening"
    view.close_editor()
    last = view.context_menu(QPoint(round(view.x_for_ms(7000)), y))
    assert last is not None
    assert not {a.text(): a for a in last.actions()}["Merge with next"].isEnabled()  # the last on its tier
    assert view.context_menu(QPoint(round(view.x_for_ms(9500)), y)) is None  # nothing there

    events.clear()
    qtbot.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.AltModifier,
        QPoint(round(view.x_for_ms(6013)), y),
    )
    assert events == [("splitRequested", ["Call phase", "a2", 6000])]  # Alt+click splits, nothing else


def test_the_inline_editor_completes_from_the_vocabulary(view: TimelineView, qtbot: QtBot) -> None:
    view.set_segments("Call phase", [seg("Call phase", "a1", 1000, 5000, "opening")])
    view.set_segments(PARTICIPANTS_TIER, [seg(PARTICIPANTS_TIER, "p1", 1000, 5000, "DW-03")])
    view.zoom_to(0, 10_000)
    edited: list[list[Any]] = []
    errors: list[str] = []
    view.valueEdited.connect(lambda *args: edited.append(list(args)))
    view.errorShown.connect(errors.append)
    y = view.row_rect("Call phase").center().y()
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_for_ms(3000)), y))
    editor = view.editor()
    assert editor is not None and editor.hasFocus() and editor.geometry().top() == view.row_rect("Call phase").top()
    qtbot.keyClicks(editor, "GATH")  # any case, anywhere in the value
    completer = editor.completer()
    assert completer.popup().isVisible() and completer.currentCompletion() == "information gathering"
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)  # picking a completion commits it
    assert edited == [["Call phase", "a1", "information gathering"]] and view.editor() is None
    assert view.hasFocus()  # back to the timeline: the coding keys work again

    edited.clear()
    editor = view.open_editor("Call phase", "a1")
    assert editor is not None
    editor.setText("DECISION")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # Enter takes the vocabulary's spelling
    assert edited == [["Call phase", "a1", "decision"]]
    editor = view.open_editor("Call phase", "a1")
    assert editor is not None
    editor.setText("no such value")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert errors == ["'no such value': not a value of the vocabulary of tier 'Call phase'"]
    assert view.editor() is editor  # still open, to correct it
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert view.editor() is None and len(edited) == 1

    editor = view.open_editor(PARTICIPANTS_TIER, "p1")  # a free-text tier takes any text
    assert editor is not None and editor.completer() is None
    editor.setText("DW-03 and TM-01")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert edited[-1] == [PARTICIPANTS_TIER, "p1", "DW-03 and TM-01"]


def test_a_double_click_under_a_parent_asks_for_a_referring_annotation(view: TimelineView, qtbot: QtBot) -> None:
    rows = [
        TierRow("Speech", None, 0, ()),
        TierRow("Translation", "Speech", 1, (), "Symbolic_Association"),
    ]
    view.set_tiers(rows)
    view.set_segments("Speech", [seg("Speech", "s1", 1000, 4000), seg("Speech", "s2", 5000, 8000)])
    view.set_segments("Translation", [Segment("Translation", "t1", 1000, 4000, "hello", False, "s1")])
    view.zoom_to(0, 10_000)
    asked: list[list[str]] = []
    view.childRequested.connect(lambda *args: asked.append(list(args)))
    y = view.row_rect("Translation").center().y()
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_for_ms(6000)), y))
    assert asked == [["Translation", "s2"]]
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_for_ms(9000)), y))
    assert asked == [["Translation", "s2"]]  # no parent there
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_for_ms(2000)), y))
    assert asked == [["Translation", "s2"]] and view.editor() is not None  # s1 has one: edit it
    view.close_editor()
    menu = view.context_menu(QPoint(round(view.x_for_ms(6000)), y))
    assert menu is not None
    (add,) = menu.actions()
    add.trigger()
    assert add.text() == "Add annotation under 'x'" and asked[-1] == ["Translation", "s2"]


# -- painting ---------------------------------------------------------------------------------------------


def dense_hour(tiers: list[str], hole: tuple[int, int]) -> dict[str, list[Segment]]:
    """About 25,000 annotations per tier (100 ms every 144 ms) over an hour, leaving ``hole`` free."""
    out = {}
    for k, tier in enumerate(tiers):
        starts = np.arange(0, HOUR - 100, 143)
        starts = starts[(starts + 100 <= hole[0]) | (starts >= hole[1])]
        out[tier] = [seg(tier, f"{k}_{i}", int(s), int(s) + 100, CALL_PHASES[i % 6]) for i, s in enumerate(starts)]
    return out


def test_a_hundred_thousand_annotations_paint_where_they_belong(qtbot: QtBot) -> None:
    tiers = ["Call phase", "Referrer type", "Concern", PARTICIPANTS_TIER]
    view = TimelineView(follow=False)
    qtbot.addWidget(view)
    view.resize(1600, 400)
    view.set_tiers([TierRow(t, None, 0, CALL_PHASES if t == "Call phase" else ()) for t in tiers])
    view.set_duration(HOUR)
    data = dense_hour(tiers, (1_800_000, 1_806_000))
    for k, tier in enumerate(tiers):  # one wide, known annotation per tier in the hole
        data[tier].append(seg(tier, f"known{k}", 1_801_000 + 500 * k, 1_804_000, "decision"))
        view.set_segments(tier, data[tier])
    assert sum(len(v) for v in data.values()) > 100_000
    view.show()
    qtbot.waitExposed(view)
    view.zoom_to(1_795_000, 1_825_000)

    img = grab(view)
    painter_img = QImage(img.size(), QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(painter_img)
    view.render(painter, QRectF(painter_img.rect()), view.viewport().rect())  # QGraphicsView.render: same pixels
    painter.end()
    for k, tier in enumerate(tiers):
        row = view.row_rect(tier)
        y = row.top() + 5  # inside the boxes, above their labels
        known = pixel(img, view.x_for_ms((1_801_000 + 500 * k + 1_804_000) / 2), y)
        assert known == view.annotation_color(tier, "decision"), tier
        assert pixel(img, view.x_for_ms(1_800_500), y) == pixel(img, view.x_for_ms(1_805_500), y)  # background
        assert pixel(img, view.x_for_ms(1_800_500), y) != known
        dense = [pixel(img, x, y) for x in range(round(view.x_for_ms(1_810_000)), round(view.x_for_ms(1_811_440)))]
        background = pixel(img, view.x_for_ms(1_800_500), y)
        assert 0.4 < sum(c != background for c in dense) / len(dense) < 0.95  # boxes and gaps, 10 of each
        assert pixel(img, view.x_for_ms(1_810_050), row.top()) == background  # boxes stay inside their row
        for x in (view.x_for_ms(1_802_000), view.x_for_ms(1_815_000), 400):
            assert painter_img.pixelColor(round(x), y) == img.pixelColor(round(x), y)
    assert view.annotation_color("Call phase", "decision") != view.annotation_color("Call phase", "opening")
    assert view.annotation_color("Call phase", "not in the vocabulary") == QColor("#dcdcdc")

    view.zoom_all()  # the whole hour: rows of density, not 25,000 rectangles each
    img = grab(view)
    for tier in tiers:
        y = view.row_rect(tier).center().y()
        assert pixel(img, 900, y).name() in ("#a9b4c4", "#7d8ba1", "#55647c", "#2f3b4f")


def test_screenshot_of_a_realistic_timeline(qtbot: QtBot, tmp_path: Path) -> None:
    etf, _ecv = scheme_documents()
    keep = {"Call phase", "Referrer type", "Concern", "Response", PARTICIPANTS_TIER, SENSITIVE_TIER, "Notes"}
    doc = EafDocument(
        tiers=[t for t in etf.tiers if t.tier_id in keep],
        linguistic_types=etf.linguistic_types,
        vocabularies=etf.vocabularies,
    )
    doc.tier("Notes").attrs["PARENT_REF"] = PARTICIPANTS_TIER
    view = TimelineView(follow=False)
    qtbot.addWidget(view)
    view.resize(1400, 340)
    view.set_tiers(tier_rows(doc))
    view.set_duration(180_000)
    phases = [(0, 9_000), (9_000, 31_000), (31_000, 72_000), (72_000, 96_000), (96_000, 118_000), (118_000, 131_000)]
    view.set_segments(
        "Call phase", [seg("Call phase", f"p{i}", s, e, CALL_PHASES[i]) for i, (s, e) in enumerate(phases)]
    )
    view.set_segments("Referrer type", [seg("Referrer type", "r1", 10_200, 14_800, "health visitor")])
    view.set_segments(
        "Concern",
        [
            seg("Concern", "c1", 16_000, 29_500, "neglect"),
            seg("Concern", "c2", 40_000, 52_000, "parental mental health"),
        ],
    )
    view.set_segments("Response", [seg("Response", "d1", 97_000, 110_000, "early help")])
    speakers = [("DW-03", 0, 7_000), ("Caller", 7_200, 30_000), ("DW-03", 30_000, 41_000), ("TM-01", 74_000, 95_000)]
    view.set_segments(
        PARTICIPANTS_TIER, [seg(PARTICIPANTS_TIER, f"s{i}", s, e, v) for i, (v, s, e) in enumerate(speakers)]
    )
    view.set_segments(SENSITIVE_TIER, [seg(SENSITIVE_TIER, "x1", 21_300, 22_100, "child name")])
    view.set_segments("Notes", [seg("Notes", "n1", 33_000, 58_000, "caller hesitant to name the school; DW reassures")])
    view.set_waveform(tone_peaks(180_000))
    view.set_playhead(44_500)
    view.set_selected("Concern", "c2")
    view.show()
    qtbot.waitExposed(view)
    view.zoom_to(0, 60_000)

    out = tmp_path / "timeline.png"
    assert grab(view).save(str(out))
    assert out.stat().st_size > 10_000
    img = QImage(str(out))
    wave_mid = TOP_H - 28  # the waveform row's centre line: the tone is drawn there
    assert pixel(img, view.x_for_ms(20_000), wave_mid) == QColor("#3d6fa8")
    assert pixel(img, view.x_for_ms(51_000), view.row_rect("Concern").center().y()) == QColor("#ffe27a")
    notes = view.row_rect("Notes")
    assert notes.top() == view.row_rect(PARTICIPANTS_TIER).top() + ROW_H  # the child right under its parent


def tone_peaks(duration_ms: int, rate: int = 200) -> Peaks:
    """Peaks of a 220 Hz tone at 8 kHz, with syllable-like swells, reduced as ``media_tools.waveform`` does."""
    sr = 8000
    t = np.arange(duration_ms * sr // 1000) / sr
    swell = 0.15 + 0.75 * np.abs(np.sin(2 * np.pi * 0.35 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3.1 * t) ** 2)
    pcm = (np.sin(2 * np.pi * 220 * t) * swell * 32767).astype(np.int16)
    per = sr // rate
    frames = pcm[: len(pcm) // per * per].reshape(-1, per)
    return Peaks(rate, duration_ms, frames.min(axis=1), frames.max(axis=1))
