"""A record of the rows one edit changes, so that the edit can be reverted exactly; and the reads such edits
need (rows as plain dicts, tiers, linguistic types, referring children).

Edits that restructure annotations (split, merge, a referring annotation created in place) change several
rows at once. They make every change through a :class:`Journal`, which keeps the row as it was before its
first change (every column, the primary key too), the rows and time slots it deleted and the ones it created.
``revert`` puts all of it back: deleted rows come back with their ids, changed rows get their old values
(their version still moves on, so a stale editor cannot overwrite the revert), created rows and slots go.

Reads and writes are Core statements on the session's connection: no ORM objects are left in the session to go
stale between the edit's statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from annotation.elan import SYMBOLIC_ASSOCIATION, Annotation, chain_order
from annotation.errors import ConflictError, InvalidEdit, NotFound
from annotation.store import AnnotationRow, LinguisticType, TierRow, TimeSlotRow

ANN: Table = AnnotationRow.__table__  # type: ignore[assignment]
SLOT: Table = TimeSlotRow.__table__  # type: ignore[assignment]


def ann_rows(session: Session, doc_id: int, *where: Any) -> list[dict[str, Any]]:
    """Annotation rows of a document as plain dicts (every column), in tier and file order."""
    q = select(ANN).where(ANN.c.document_id == doc_id, *where).order_by(ANN.c.tier_pk, ANN.c.pos)
    return [dict(r) for r in session.execute(q).mappings()]


def tier_rows_of(session: Session, tier_pks: Iterable[int], *where: Any) -> list[dict[str, Any]]:
    """Annotation rows on these tiers as plain dicts. No document filter: a tier is in one document, and the
    tier index then serves the query (with ``document_id`` SQLite picks the document's index and reads every
    annotation of the document)."""
    pks = sorted(set(tier_pks))
    if not pks:
        return []
    q = select(ANN).where(ANN.c.tier_pk.in_(pks), *where).order_by(ANN.c.tier_pk, ANN.c.pos)
    return [dict(r) for r in session.execute(q).mappings()]


def child_tiers(session: Session, doc_id: int, tier_pks: Iterable[int]) -> list[int]:
    """The tiers whose parent tier is one of these."""
    tiers = session.execute(
        select(TierRow.id, TierRow.tier_id, TierRow.parent_ref).where(TierRow.document_id == doc_id)
    ).all()
    wanted = set(tier_pks)
    names = {t.tier_id for t in tiers if t.id in wanted}
    return [t.id for t in tiers if t.parent_ref in names and t.parent_ref != t.tier_id]


def slot_rows(session: Session, doc_id: int, slot_ids: Iterable[str | None]) -> dict[str, dict[str, Any]]:
    ids = {s for s in slot_ids if s is not None}
    if not ids:
        return {}
    q = select(SLOT).where(SLOT.c.document_id == doc_id, SLOT.c.slot_id.in_(ids))
    return {r["slot_id"]: dict(r) for r in session.execute(q).mappings()}


def tier_ids(session: Session, tier_pks: Iterable[int]) -> dict[int, str]:
    pks = set(tier_pks)
    if not pks:
        return {}
    return {pk: tid for pk, tid in session.execute(select(TierRow.id, TierRow.tier_id).where(TierRow.id.in_(pks)))}


class Journal:
    """The changes of one application of an edit (see the module docstring)."""

    def __init__(self, doc_id: int) -> None:
        self.doc_id = doc_id
        self.before: dict[int, dict[str, Any]] = {}  # annotation pk -> the row before its first change
        self.deleted: list[dict[str, Any]] = []
        self.deleted_slots: list[dict[str, Any]] = []
        self.created: list[str] = []  # annotation ids
        self.created_slots: dict[str, int] = {}  # slot id -> position
        self.tier_pks: set[int] = set()
        self.touched: set[str] = set()  # annotation ids
        self._next_pos: int | None = None

    # -- changes ------------------------------------------------------------------------------------------

    def update(self, session: Session, row: dict[str, Any], **values: Any) -> None:
        """Change an annotation row (a dict from :func:`ann_rows`, updated in place) if nobody else did since
        it was read; bumps its version."""
        self.before.setdefault(row["id"], dict(row))
        result = session.connection().execute(
            update(ANN)
            .where(ANN.c.id == row["id"], ANN.c.version == row["version"])
            .values(version=row["version"] + 1, **values)
        )
        if result.rowcount != 1:
            raise ConflictError(
                f"annotation {row['ann_id']!r}: changed by someone else since you opened it; reload to see their change"
            )
        row.update(values, version=row["version"] + 1)
        self._touch(row)

    def insert(self, session: Session, values: dict[str, Any]) -> None:
        """Add an annotation row (``values`` without ``id``; ``pos`` defaults to the end of its tier)."""
        if "pos" not in values:
            last = session.scalar(select(func.max(ANN.c.pos)).where(ANN.c.tier_pk == values["tier_pk"]))
            values = {**values, "pos": (last if last is not None else -1) + 1}
        session.connection().execute(insert(ANN).values(document_id=self.doc_id, **values))
        self.created.append(values["ann_id"])
        self._touch(values)

    def delete(self, session: Session, row: dict[str, Any]) -> None:
        session.connection().execute(delete(ANN).where(ANN.c.id == row["id"]))
        self.deleted.append(self.before.pop(row["id"], row))
        self._touch(row)

    def new_slot(self, session: Session, time_ms: int) -> str:
        """A new aligned time slot at the end of the time order; returns its id."""
        if self._next_pos is None:
            last = session.scalar(select(func.max(SLOT.c.pos)).where(SLOT.c.document_id == self.doc_id))
            self._next_pos = (last if last is not None else -1) + 1
        pos = self._next_pos
        self._next_pos += 1
        n = pos + 1
        while session.scalar(select(func.count()).where(SLOT.c.document_id == self.doc_id, SLOT.c.slot_id == f"ts{n}")):
            n += 1
        sid = f"ts{n}"
        session.connection().execute(
            insert(SLOT).values(document_id=self.doc_id, pos=pos, slot_id=sid, time_ms=time_ms)
        )
        self.created_slots[sid] = pos
        return sid

    def drop_unused_slots(self, session: Session, slot_ids: Iterable[str | None]) -> None:
        """Delete those of these time slots that no annotation uses any more."""
        ids = {s for s in slot_ids if s is not None}
        if not ids:
            return
        used = set(
            session.scalars(select(ANN.c.ts1).where(ANN.c.document_id == self.doc_id, ANN.c.ts1.in_(ids))).all()
        ) | set(session.scalars(select(ANN.c.ts2).where(ANN.c.document_id == self.doc_id, ANN.c.ts2.in_(ids))).all())
        gone = ids - used
        for sid in [s for s in gone if s in self.created_slots]:
            del self.created_slots[sid]
            session.connection().execute(delete(SLOT).where(SLOT.c.document_id == self.doc_id, SLOT.c.slot_id == sid))
            gone.discard(sid)
        rows = slot_rows(session, self.doc_id, gone)
        if rows:
            self.deleted_slots += rows.values()
            session.connection().execute(
                delete(SLOT).where(SLOT.c.document_id == self.doc_id, SLOT.c.slot_id.in_(list(rows)))
            )

    def _touch(self, row: dict[str, Any]) -> None:
        self.tier_pks.add(row["tier_pk"])
        self.touched.add(row["ann_id"])
        if row.get("ref") is not None:  # its siblings are placed by their number
            self.touched.add(row["ref"])

    # -- undo ---------------------------------------------------------------------------------------------

    def revert(self, session: Session) -> None:
        conn = session.connection()
        if self.created:
            conn.execute(delete(ANN).where(ANN.c.document_id == self.doc_id, ANN.c.ann_id.in_(self.created)))
        if self.created_slots:
            conn.execute(
                delete(SLOT).where(SLOT.c.document_id == self.doc_id, SLOT.c.slot_id.in_(list(self.created_slots)))
            )
        if self.deleted_slots:
            conn.execute(insert(SLOT), self.deleted_slots)
        if self.deleted:
            conn.execute(insert(ANN), self.deleted)
        for pk, row in self.before.items():
            values = {k: v for k, v in row.items() if k not in ("id", "version")}
            conn.execute(update(ANN).where(ANN.c.id == pk).values(version=ANN.c.version + 1, **values))
        for row in (*self.before.values(), *self.deleted):
            self._touch(row)

    def slot_positions(self) -> set[int]:
        return {*self.created_slots.values(), *(s["pos"] for s in self.deleted_slots)}


# -- reading what an edit needs to know ----------------------------------------------------------------------


def linguistic_types(session: Session, doc_id: int) -> dict[str, dict[str, str]]:
    """The document's linguistic types by id, each as its attributes."""
    rows = session.scalars(select(LinguisticType).where(LinguisticType.document_id == doc_id))
    return {str(t.attr("LINGUISTIC_TYPE_ID")): {str(k): str(v) for k, v in t.attrs} for t in rows}


def tier_by_pk(session: Session, pk: int) -> TierRow:
    tier = session.get(TierRow, pk)
    assert tier is not None  # the foreign key holds
    return tier


def constraint(types: dict[str, dict[str, str]], tier: TierRow) -> str | None:
    return types.get(tier.linguistic_type_ref or "", {}).get("CONSTRAINTS")


def has_vocabulary(types: dict[str, dict[str, str]], tier: TierRow) -> bool:
    return bool(types.get(tier.linguistic_type_ref or "", {}).get("CONTROLLED_VOCABULARY_REF"))


def one(session: Session, doc_id: int, ann_id: str) -> dict[str, Any]:
    rows = ann_rows(session, doc_id, AnnotationRow.ann_id == ann_id)
    if not rows:
        raise NotFound(f"annotation {ann_id!r}: no such annotation in document {doc_id}")
    return rows[0]


def aligned_times(session: Session, doc_id: int, a: dict[str, Any], doing: str) -> tuple[int, int]:
    """The start and end of an alignable annotation whose slots both have times; refuses anything else."""
    if a["ref"] is not None or a["ts1"] is None or a["ts2"] is None:
        raise InvalidEdit(
            f"annotation {a['ann_id']!r}: a referring annotation takes its times from its parent; {doing} the parent"
        )
    slots = slot_rows(session, doc_id, [a["ts1"], a["ts2"]])
    start, end = slots[a["ts1"]]["time_ms"], slots[a["ts2"]]["time_ms"]
    if start is None or end is None:
        raise InvalidEdit(f"annotation {a['ann_id']!r}: its start or end is not aligned to a time; align it first")
    return start, end


def children(
    session: Session, doc_id: int, parents: list[dict[str, Any]]
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """Referring children of these annotation rows: parent id -> tier pk -> children in file order."""
    out: dict[str, dict[int, list[dict[str, Any]]]] = {}
    tiers = child_tiers(session, doc_id, {p["tier_pk"] for p in parents})
    for r in tier_rows_of(session, tiers, ANN.c.ref.in_([p["ann_id"] for p in parents])):
        out.setdefault(r["ref"], {}).setdefault(r["tier_pk"], []).append(r)
    return out


def chained(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sibling rows in ELAN's order (the PREVIOUS_ANNOTATION chain, else file order)."""
    by_id = {r["ann_id"]: r for r in rows}
    return [by_id[a.ann_id] for a in chain_order([Annotation(r["ann_id"], "", prev=r["prev"]) for r in rows])]


def association(types: dict[str, dict[str, str]], tier: TierRow, kids: list[dict[str, Any]]) -> bool:
    """One child per parent (Symbolic_Association), or, on a tier without a constraint, a lone unchained child."""
    kind = constraint(types, tier)
    if kind == SYMBOLIC_ASSOCIATION:
        return len(kids) == 1
    return kind is None and len(kids) == 1 and kids[0]["prev"] is None


def descendant_tiers(session: Session, doc_id: int, tier_pk: int) -> list[int]:
    tiers = session.execute(
        select(TierRow.id, TierRow.tier_id, TierRow.parent_ref).where(TierRow.document_id == doc_id)
    ).all()
    by_id = {t.tier_id: t.id for t in tiers}
    parent_of = {t.id: by_id.get(t.parent_ref or "") for t in tiers}
    out: list[int] = []
    frontier = {tier_pk}
    while frontier:
        frontier = {pk for pk, p in parent_of.items() if p in frontier and pk not in out and pk != tier_pk}
        out += frontier
    return out


def new_row(like: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Column values for a new annotation copying ``like``'s value and references (not its id or place)."""
    keep = ("tier_pk", "ts1", "ts2", "ref", "prev", "value", "ext_ref", "lang_ref", "cve_ref", "svg_ref")
    return {**{k: like[k] for k in keep}, "svg_ref": None, **values}
