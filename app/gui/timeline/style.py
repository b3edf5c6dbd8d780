"""The timeline's sizes and colours: row and column geometry in pixels, the annotation palette (fills and
borders per vocabulary hue, as numpy lookup tables for the row bitmaps) and the colours of the ruler,
waveform, selection and playhead. Shared by the view, its painting and its input handling."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from app.gui.timeline.data import HUES

HEADER_W = 170  # the tier-name column
RULER_H = 22
WAVE_H = 56
TOP_H = RULER_H + WAVE_H  # rows start below the ruler and the waveform
ROW_H = 24
BOX_PAD = 2  # an annotation box fills its row but this many pixels at top and bottom
EDGE_PX = 4  # how close to an annotation's end the pointer grabs the edge instead of the body
DRAG_PX = 3  # how far the pointer moves before a press becomes a drag
MIN_LABEL_PX = 22  # narrower boxes get no text
LABEL_GAP_PX = 90  # least distance between two ruler labels
MAX_SCENE_PX = 1 << 30  # the scrollbars are ints: keep the scrolled width well inside them
FILLS = [QColor.fromRgba(QColor.fromHsv(h, 62, 250).rgba()) for h in HUES] + [QColor("#dcdcdc")]
BORDERS = [QColor.fromRgba(QColor.fromHsv(h, 170, 150).rgba()) for h in HUES] + [QColor("#7a7a7a")]
FILL_LUT = np.array([c.rgba() for c in FILLS], dtype=np.uint32)
BORDER_LUT = np.array([c.rgba() for c in BORDERS], dtype=np.uint32)
DENSE_LUT = np.array([QColor(c).rgba() for c in ("#a9b4c4", "#7d8ba1", "#55647c", "#2f3b4f")], dtype=np.uint32)
ROW_BG = (QColor("#ffffff"), QColor("#f4f6f9"))
HEADER_BG = QColor("#e8ebf0")
RULER_BG = QColor("#dde2e9")
WAVE_BG = QColor("#eef2f7")
WAVE_FG = QColor("#3d6fa8")
GRID = QColor("#c9d0da")
TEXT = QColor("#1d2430")
DIM_TEXT = QColor("#5a6474")
SELECT_FILL = QColor("#ffe27a")
SELECT_BORDER = QColor("#1b5fd1")
PLAYHEAD = QColor("#d7263d")
PREVIEW = QColor(27, 95, 209, 70)
