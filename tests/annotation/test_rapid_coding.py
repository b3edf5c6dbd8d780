"""Rapid coding's rules without a window: start and end with one key, point events, one code at a time per tier."""

from __future__ import annotations

from annotation.edits.rapid_coding import RapidCoder


def _spans(edits: list) -> list[tuple[str, int, int, str]]:
    return [(e.tier_id, e.start, e.end, e.value) for e in edits]


def test_the_same_key_starts_and_ends_a_segment() -> None:
    c = RapidCoder()
    edits, line = c.press(1, "Phase", 1, "opening", 1000, 40)
    assert edits == [] and line == "coding 'opening' from 1.000 s: press 1 again to end"
    edits, line = c.press(1, "Phase", 1, "opening", 2500, 40)
    assert _spans(edits) == [("Phase", 1000, 2500, "opening")] and line == "" and c.open == {}


def test_a_second_code_on_the_tier_ends_the_first_and_tiers_are_independent() -> None:
    c = RapidCoder()
    c.press(1, "Phase", 1, "opening", 1000, 40)
    c.press(1, "Decision", 2, "NFA", 1200, 40)
    edits, _ = c.press(1, "Phase", 2, "gathering", 3000, 40)
    assert _spans(edits) == [("Phase", 1000, 3000, "opening")]
    assert set(c.open) == {"Phase:2", "Decision:2"}


def test_point_events_and_an_end_at_the_start_are_one_frame() -> None:
    c = RapidCoder()
    edits, _ = c.press(1, "Phase", 3, "x", 500, 40, point=True)
    assert _spans(edits) == [("Phase", 500, 540, "x")] and c.open == {}
    c.press(1, "Phase", 1, "y", 700, 0)  # a frame of 0 ms still makes a 1 ms segment
    edits, _ = c.press(1, "Phase", 1, "y", 700, 0)
    assert _spans(edits) == [("Phase", 700, 701, "y")]
