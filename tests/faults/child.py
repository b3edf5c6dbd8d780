"""What the fault tests run in a child process (``python -m tests.faults.child WHAT ...``), through the public
API, so that the test can kill it with SIGKILL at a moment of its choosing or run two at once.

Each prints ``ready`` when the store is open and the work is about to start, and one line per step it has
committed, flushed at once: whatever the test read before the kill was committed. A passphrase, when one
is needed, is the first line on stdin (never an argument).

The batch of edits is planned by :func:`plan_edits` from a seed, and :func:`replay` gives what the tier
holds after the first ``k`` edits, so the test can tell what must be in the store without asking the child.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass

TIER = "Call phase"


@dataclass(frozen=True)
class Edit:
    """One planned edit of the tier: ``kind`` on the live annotation at ``index`` (creation order)."""

    kind: str  # create | value | move | delete | split
    index: int = -1
    start: int = 0
    end: int = 0
    value: str = ""


Segment = tuple[int, int, str]


def plan_edits(seed: int, n: int) -> list[Edit]:
    """``n`` edits that are valid one after another (the model below tracks what is live)."""
    rng = random.Random(seed)
    live: list[Segment] = []
    plan: list[Edit] = []
    for i in range(n):
        kinds = ["create"] if len(live) < 3 else ["create", "value", "move", "delete", "split"]
        kind = rng.choice(kinds)
        span = _free_span(rng, live, skip=None) if kind == "create" else None
        if kind == "create" and span is not None:
            e = Edit("create", start=span[0], end=span[1], value=f"e{i}")
        elif kind in ("create", "value"):  # a create that found no room: a value change keeps the plan's length
            e = Edit("value", index=rng.randrange(len(live)), value=f"e{i}")
        elif kind == "move":
            j = rng.randrange(len(live))
            span = _free_span(rng, live, skip=j)
            e = Edit("move", index=j, start=span[0], end=span[1]) if span else Edit("value", index=j, value=f"e{i}")
        elif kind == "delete":
            e = Edit("delete", index=rng.randrange(len(live)))
        else:
            j = rng.randrange(len(live))
            s, t, _ = live[j]
            # halves of halves get short: a split needs a point strictly inside
            e = Edit("split", index=j, start=s + (t - s) // 2) if t - s >= 20 else Edit("value", index=j, value=f"e{i}")
        plan.append(e)
        live = _step(live, e)
    return plan


def _free_span(rng: random.Random, live: list[Segment], skip: int | None) -> tuple[int, int] | None:
    """A random span that overlaps no live annotation but the one at ``skip`` (annotations on one tier never
    overlap), or None when a few tries find no room."""
    for _ in range(20):
        start = rng.randrange(0, 600_000, 10)
        end = start + rng.randrange(200, 20_000, 10)
        if all(not (start < t and s < end) for k, (s, t, _) in enumerate(live) if k != skip):
            return start, end
    return None


def _step(live: list[Segment], e: Edit) -> list[Segment]:
    live = list(live)
    if e.kind == "create":
        live.append((e.start, e.end, e.value))
    elif e.kind == "value":
        s, t, _ = live[e.index]
        live[e.index] = (s, t, e.value)
    elif e.kind == "move":
        live[e.index] = (e.start, e.end, live[e.index][2])
    elif e.kind == "delete":
        del live[e.index]
    else:
        s, t, v = live[e.index]
        live[e.index] = (s, e.start, v)
        live.append((e.start, t, v))
    return live


def replay(plan: list[Edit], k: int) -> list[Segment]:
    """The tier's annotations (sorted) after the first ``k`` edits of ``plan``."""
    live: list[Segment] = []
    for e in plan[:k]:
        live = _step(live, e)
    return sorted(live)


def _passphrase() -> str | None:
    line = sys.stdin.readline().rstrip("\n")
    return line or None


def _say(*parts: object) -> None:
    print(*parts, flush=True)


def run_import(url: str, path: str) -> None:
    from annotation.services import import_file
    from annotation.store.engine import open_store

    store = open_store(url, passphrase=_passphrase())
    _say("ready")
    result = import_file(store, path)
    _say("done", result.doc_id)


def run_edits(url: str, doc: int, seed: int, n: int) -> None:
    from annotation.edits.commands import CreateAnnotation, DeleteAnnotation, SetAnnotationTimes, SetAnnotationValue
    from annotation.edits.structure_edits import SplitAnnotation
    from annotation.services import apply_edit
    from annotation.store.engine import open_store

    store = open_store(url, passphrase=_passphrase())
    ids: list[str] = []
    _say("ready")
    for i, e in enumerate(plan_edits(seed, n)):
        if e.kind == "create":
            create = CreateAnnotation(doc, TIER, e.start, e.end, e.value)
            apply_edit(store, create)
            ids.append(str(create.ann_id))
        elif e.kind == "value":
            apply_edit(store, SetAnnotationValue(doc, ids[e.index], e.value))
        elif e.kind == "move":
            apply_edit(store, SetAnnotationTimes(doc, ids[e.index], e.start, e.end))
        elif e.kind == "delete":
            apply_edit(store, DeleteAnnotation(doc, ids[e.index]))
            del ids[e.index]
        else:
            split = SplitAnnotation(doc, ids[e.index], e.start)
            apply_edit(store, split)
            ids.append(str(split.new_id))
        _say("committed", i)


def run_add(url: str, doc: int, who: str, n: int, offset: int = 0) -> None:
    """``n`` annotations added one after another, the i-th over ``1000 i + offset`` for 400 ms (a second
    writer does the same meanwhile); prints ``committed ID`` or ``refused`` and the one-line error."""
    from annotation.edits.commands import CreateAnnotation
    from annotation.errors import OverlapError
    from annotation.services import apply_edit
    from annotation.store.engine import open_store

    store = open_store(url)
    _say("ready")
    for i in range(n):
        cmd = CreateAnnotation(doc, TIER, 1000 * i + offset, 1000 * i + offset + 400, f"{who}{i}")
        try:
            apply_edit(store, cmd)
        except OverlapError as exc:
            _say("refused", str(exc))
            continue
        _say("committed", cmd.ann_id)


def run_move(url: str, doc: int, ann: str, start: int, end: int, version: int) -> None:
    """Retime one annotation from the version the writer saw; prints ``saved`` or the one-line error."""
    from annotation.edits.commands import SetAnnotationTimes
    from annotation.errors import AnnotationError
    from annotation.services import apply_edit
    from annotation.store.engine import open_store

    store = open_store(url)
    _say("ready")
    try:
        apply_edit(store, SetAnnotationTimes(doc, ann, start, end, expected_version=version))
    except AnnotationError as exc:
        _say("refused", exc.message)
        return
    _say("saved")


def run_backup(url: str) -> None:
    from annotation.backup.rolling import make_backup
    from annotation.store.engine import open_store

    store = open_store(url, passphrase=_passphrase())
    _say("ready")
    info = make_backup(store, keep=50)
    _say("done", info.path)


def main(argv: list[str]) -> None:
    what, url, *rest = argv
    if what == "import":
        run_import(url, rest[0])
    elif what == "edits":
        run_edits(url, int(rest[0]), int(rest[1]), int(rest[2]))
    elif what == "add":
        run_add(url, int(rest[0]), rest[1], int(rest[2]), int(rest[3]) if len(rest) > 3 else 0)
    elif what == "move":
        run_move(url, int(rest[0]), rest[1], int(rest[2]), int(rest[3]), int(rest[4]))
    elif what == "backup":
        run_backup(url)
    else:
        raise SystemExit(f"unknown: {what}")


if __name__ == "__main__":
    main(sys.argv[1:])
