"""The export dialog over the gate: what it shows per scope, an export run on a worker thread while the
window stays responsive, and a cancel that leaves nothing half-written."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer

from consent.clips import create_clip
from consent.decisions import record_decision
from consent.participants import add_appearance, add_participant
from tests.consent import conftest as consent_world
from tests.consent.conftest import PROJECT, World

# the consent tests' small world: a project with a generated recording in the store
duty_recording = consent_world.duty_recording
world = consent_world.world


def test_the_dialog_shows_why_and_exports_through_the_gate(qtbot: object, world: World, tmp_path: Path) -> None:
    from app.gui.dialogs.export import ExportDialog

    for who in ("A", "B"):
        add_participant(world.store, PROJECT, who)
        add_appearance(world.store, who, world.recording_id, 0, 12_000)
    # the held-back clip comes first: the gate numbers progress by its whole plan, and the bars must follow
    held = create_clip(world.store, world.recording_id, 3, 4, name="not yet").clip_id
    ok = create_clip(world.store, world.recording_id, 1, 2, name="agreed").clip_id
    for who in ("A", "B"):
        record_decision(world.store, ok, who, "internal_training", "granted")
    record_decision(world.store, held, "A", "internal_training", "granted")
    out = tmp_path / "out"
    out.mkdir()
    d = ExportDialog(world.store, folder=out)
    qtbot.addWidget(d)  # type: ignore[attr-defined]
    seen: list[tuple[int, float]] = []
    shown = d._progress
    d._progress = lambda clip_id, f: (seen.append((clip_id, f)), shown(clip_id, f))  # type: ignore[method-assign]
    d.scope.setCurrentIndex(d.scope.findData("internal_training"))
    rows = {d.clips.topLevelItem(i).text(0): d.clips.topLevelItem(i) for i in range(d.clips.topLevelItemCount())}
    assert rows[f"{ok}: agreed"].text(2) == "yes"
    assert rows[f"{held}: not yet"].text(3) == "B has not decided (internal_training)"
    assert d.status.text() == "1 of 2 clips may be exported for internal training only"
    with qtbot.waitSignal(d.exported, timeout=60_000) as blocker:  # type: ignore[attr-defined]
        d.export_button.click()
    report = blocker.args[0]
    assert [x["clip"] for x in report.exported] == [ok]
    assert (out / report.exported[0]["output"]).is_file()
    assert d._bars[ok].value() == 100
    assert seen and {c for c, _ in seen} == {ok} and seen[-1][1] == 1.0  # progress reached the right bar
    assert "1 exported, 1 held back" in d.status.text()


def test_cancel_stops_the_export_and_leaves_no_partial_file(qtbot: object, world: World, tmp_path: Path) -> None:
    from app.gui.dialogs.export import ExportDialog

    add_participant(world.store, PROJECT, "A")
    add_appearance(world.store, "A", world.recording_id, 0, 12_000)
    clips = [create_clip(world.store, world.recording_id, 0, 12, name=f"long {i}").clip_id for i in range(3)]
    for c in clips:
        record_decision(world.store, c, "A", "research_team", "granted")
    out = tmp_path / "out"
    out.mkdir()
    d = ExportDialog(world.store, folder=out)
    qtbot.addWidget(d)  # type: ignore[attr-defined]
    d.scope.setCurrentIndex(d.scope.findData("research_team"))
    assert d.status.text() == "3 of 3 clips may be exported for research team only"
    ticks: list[int] = []
    timer = QTimer(d)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    d.export_button.click()
    assert d.cancel_button.isEnabled() and not d.export_button.isEnabled() and not d.scope.isEnabled()
    qtbot.waitUntil(lambda: any(b.value() > 0 for b in d._bars.values()), timeout=30_000)  # type: ignore[attr-defined]
    before = len(ticks)
    qtbot.wait(200)  # type: ignore[attr-defined]
    assert len(ticks) - before >= 5, "the window froze while exporting"
    d.cancel_button.click()
    qtbot.waitUntil(lambda: d.export_button.isEnabled(), timeout=30_000)  # type: ignore[attr-defined]
    assert "cancel" in d.status.text().lower(), d.status.text()
    assert not d.cancel_button.isEnabled()
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.endswith(".part") or n.startswith(".")], left  # nothing half-written
    assert len([n for n in left if n.endswith(".mp4")]) < 3
    assert any(n.startswith("manifest-") for n in left)  # what did leave is on record


def test_closing_the_dialog_while_it_exports_stops_quietly(qtbot: object, world: World, tmp_path: Path) -> None:
    """The dialog deletes itself when closed (as the window opens it); the export's progress kept arriving at
    a lambda that set its deleted progress bars: RuntimeError, the crash dialog for the researcher."""
    from PySide6.QtCore import Qt, QThreadPool

    from app.gui.dialogs.export import ExportDialog

    add_participant(world.store, PROJECT, "A")
    add_appearance(world.store, "A", world.recording_id, 0, 12_000)
    for i in range(2):
        c = create_clip(world.store, world.recording_id, 0, 12, name=f"long {i}").clip_id
        record_decision(world.store, c, "A", "research_team", "granted")
    out = tmp_path / "out"
    out.mkdir()
    d = ExportDialog(world.store, folder=out)
    d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    d.show()
    d.scope.setCurrentIndex(d.scope.findData("research_team"))
    d.export_button.click()
    qtbot.waitUntil(lambda: any(b.value() > 0 for b in d._bars.values()), timeout=30_000)  # type: ignore[attr-defined]
    d.close()  # cancels the export; pytest-qt fails the test on an exception raised in a slot
    assert QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(300)  # type: ignore[attr-defined]
    assert not [n for n in (p.name for p in out.iterdir()) if n.endswith(".part") or n.startswith(".")]
