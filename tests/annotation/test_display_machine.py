"""A Hypothesis state machine over random sequences of edits, undos and redos on a real store: after every
step the view patched with ``segments_patch`` equals a full ``document_display``, and undoing everything
gives back the document as it was imported (its EAF export, but for ELAN's id counter)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from annotation.edits.base import EditCommand
from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
from annotation.edits.display import apply_patch, segments_patch
from annotation.edits.structure_edits import CreateReferringAnnotation, MergeAnnotations, SplitAnnotation
from annotation.elan.tiers import tier_rows
from annotation.elan.timing import Segment
from annotation.errors import AnnotationError
from annotation.services import apply_edit, document_display, export_eaf, get_document, import_file, revert_edit
from annotation.store.engine import Store, open_store, sqlite_url
from tests.fixtures.elan_files import corpus_file, in_corpus

FILES = [
    "dopefishh__pympi__sample_3.0.eaf",  # every constraint, long runs of unaligned slots
    "cidles__poio-api__example.eaf",  # children of one parent on several tiers
    "paul-shannon__IJAL-interlinear__AYA1_MonkeyandThunder.eaf",  # interlinear symbolic subdivisions
    # with the shared corpus beside the clone, two more
    *in_corpus("TheLanguageArchive__EAF-parser__example.eaf", "christopheparisse__teicorpo__TestElan2.eaf"),
]
_COUNTER = re.compile(r'\s*<PROPERTY NAME="lastUsedAnnotationId">\d+</PROPERTY>')
_TEMPLATES: dict[str, tuple[Path, int]] = {}


def _template(name: str) -> tuple[Path, int]:
    """A store with the corpus file imported, made once; each example works on a copy of it."""
    if name not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="display-machine-"))
        store = open_store(sqlite_url(folder / "template.sqlite"))
        try:
            doc = import_file(store, corpus_file(name)).doc_id
        finally:
            store.close()
        _TEMPLATES[name] = (folder / "template.sqlite", doc)
    return _TEMPLATES[name]


def _by_id(display: dict[str, list[Segment]]) -> dict[str, dict[str, Segment]]:
    return {tier: {s.ann_id: s for s in segs} for tier, segs in display.items() if segs}


class DisplayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store: Store | None = None
        self.folder: Path | None = None
        self.done: list[EditCommand] = []  # the undo stack
        self.undone: list[EditCommand] = []  # the redo stack (emptied by a new edit, as QUndoStack does)

    # ---- set-up -------------------------------------------------------------------------------------------

    @precondition(lambda self: self.store is None)
    @rule(name=st.sampled_from(FILES))
    def open_document(self, name: str) -> None:
        template, doc = _template(name)
        self.folder = Path(tempfile.mkdtemp(prefix="display-machine-"))
        shutil.copy(template, self.folder / "store.sqlite")
        self.store = open_store(sqlite_url(self.folder / "store.sqlite"))
        self.doc = doc
        self.shown = document_display(self.store, doc)
        self.original = self._export()
        rows = tier_rows(get_document(self.store, doc))
        self.top = [r.tier_id for r in rows if r.parent is None]
        self.dependent = [(r.tier_id, r.parent) for r in rows if r.parent is not None]

    def teardown(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _export(self) -> str:
        assert self.store is not None and self.folder is not None
        out = self.folder / "out.eaf"
        export_eaf(self.store, self.doc, out)
        return _COUNTER.sub("", out.read_text(encoding="utf-8"))

    # ---- picking ------------------------------------------------------------------------------------------

    def _segments(self, pred: Any = None) -> list[Segment]:
        segs = [s for t in sorted(self.shown) for s in sorted(self.shown[t], key=lambda s: (s.start, s.end, s.ann_id))]
        return [s for s in segs if pred is None or pred(s)]

    def _aligned(self) -> list[Segment]:
        return self._segments(lambda s: s.parent is None and s.aligned and s.end - s.start > 2)

    def _edit(self, cmd: EditCommand) -> None:
        assert self.store is not None
        try:
            apply_edit(self.store, cmd)
        except AnnotationError:
            return  # refused: nothing changed (the invariant checks that too)
        self.done.append(cmd)
        self.undone.clear()
        apply_patch(self.shown, segments_patch(self.store, self.doc, cmd.touched))

    # ---- edits --------------------------------------------------------------------------------------------

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6), fraction=st.floats(0.01, 0.99))
    def split(self, i: int, fraction: float) -> None:
        segs = self._aligned()
        if segs:
            a = segs[i % len(segs)]
            self._edit(SplitAnnotation(self.doc, a.ann_id, a.start + max(1, int((a.end - a.start) * fraction))))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6))
    def merge(self, i: int) -> None:
        segs = self._aligned()
        if segs:
            a = segs[i % len(segs)]
            tier = sorted(self.shown[a.tier_id], key=lambda s: (s.start, s.end))
            k = tier.index(a)
            if k + 1 < len(tier):
                self._edit(MergeAnnotations(self.doc, a.ann_id, tier[k + 1].ann_id))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6), shift=st.integers(-400, 400), grow=st.integers(1, 900))
    def move(self, i: int, shift: int, grow: int) -> None:
        segs = self._aligned()
        if segs:
            a = segs[i % len(segs)]
            start = max(0, a.start + shift)
            self._edit(SetAnnotationTimes(self.doc, a.ann_id, start, max(start + 1, a.end + shift + grow - 450)))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6), value=st.sampled_from(["", "x", "two words"]))
    def set_value(self, i: int, value: str) -> None:
        segs = self._segments()
        if segs:
            self._edit(SetAnnotationValue(self.doc, segs[i % len(segs)].ann_id, value))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6))
    def delete(self, i: int) -> None:
        segs = self._segments()
        if segs:
            self._edit(DeleteAnnotation(self.doc, segs[i % len(segs)].ann_id))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6), start=st.integers(0, 120_000), length=st.integers(1, 4000))
    def create(self, i: int, start: int, length: int) -> None:
        if self.top:
            self._edit(CreateAnnotation(self.doc, self.top[i % len(self.top)], start, start + length, "new"))

    @precondition(lambda self: self.store is not None)
    @rule(i=st.integers(0, 10**6), j=st.integers(0, 10**6))
    def create_referring(self, i: int, j: int) -> None:
        if self.dependent:
            tier, parent = self.dependent[i % len(self.dependent)]
            under = sorted(self.shown.get(parent or "", []), key=lambda s: (s.start, s.end, s.ann_id))
            if under:
                self._edit(CreateReferringAnnotation(self.doc, tier, under[j % len(under)].ann_id, "made here"))

    # ---- undo and redo ------------------------------------------------------------------------------------

    @precondition(lambda self: self.store is not None and bool(self.done))
    @rule()
    def undo(self) -> None:
        assert self.store is not None
        cmd = self.done.pop()
        revert_edit(self.store, cmd)
        self.undone.append(cmd)
        apply_patch(self.shown, segments_patch(self.store, self.doc, cmd.touched))

    @precondition(lambda self: self.store is not None and bool(self.undone))
    @rule()
    def redo(self) -> None:
        assert self.store is not None
        cmd = self.undone.pop()
        apply_edit(self.store, cmd)  # a redo must not be refused: nothing else changed the document
        self.done.append(cmd)
        apply_patch(self.shown, segments_patch(self.store, self.doc, cmd.touched))

    @precondition(lambda self: self.store is not None and bool(self.done))
    @rule()
    def undo_everything(self) -> None:
        while self.done:
            self.undo()
        assert self._export() == self.original

    # ---- what must always hold ----------------------------------------------------------------------------

    @invariant()
    def patched_view_is_a_full_reload(self) -> None:
        if self.store is not None:
            assert _by_id(self.shown) == _by_id(document_display(self.store, self.doc))


TestDisplayMachine = DisplayMachine.TestCase
TestDisplayMachine.settings = settings(
    max_examples=6,  # each step re-reads a whole corpus document (0.1-0.2 s): 6 x 30 steps, about 40 s
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
