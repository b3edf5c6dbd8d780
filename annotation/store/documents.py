"""Moving whole documents between :class:`EafDocument` and the store.

``store_document`` writes a document with bulk ``insert()`` statements (lists of dicts, one statement per
table; ids are read back in order with ``RETURNING`` only where children need them), so importing 100,000
annotations costs a handful of round trips. ``load_document`` reads it back with one query per table.
Both run inside the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, groupby, islice
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from annotation.elan import (
    Annotation,
    Attrs,
    ControlledVocabulary,
    CVEntry,
    CVEValue,
    EafDocument,
    RefLink,
    RefLinkSet,
    Tier,
    TimeSlot,
    gc_paused,
)
from annotation.store.lookup import get_or_not_found
from annotation.store.tables import (
    AnnotationRow,
    AttrElement,
    Constraint,
    Document,
    ExternalRef,
    HeaderProperty,
    Language,
    LexiconRef,
    License,
    LinguisticType,
    LinkedFile,
    Locale,
    MediaDescriptor,
    RefLinkRow,
    RefLinkSetRow,
    TierRow,
    TimeSlotRow,
    VocabularyDescription,
    VocabularyEntry,
    VocabularyRow,
    VocabularyValue,
)

# Tier attributes kept in columns of TierRow (ELAN name -> column name).
_TIER_COLUMNS = {
    "TIER_ID": "tier_id",
    "PARENT_REF": "parent_ref",
    "LINGUISTIC_TYPE_REF": "linguistic_type_ref",
    "PARTICIPANT": "participant",
    "ANNOTATOR": "annotator",
    "DEFAULT_LOCALE": "default_locale",
}

_ATTR_TABLES: list[tuple[type[AttrElement], str]] = [
    (MediaDescriptor, "media"),
    (LinkedFile, "linked_files"),
    (LinguisticType, "linguistic_types"),
    (Locale, "locales"),
    (Language, "languages"),
    (Constraint, "constraints"),
    (LexiconRef, "lexicon_refs"),
    (ExternalRef, "external_refs"),
]


_ANN_INSERT_COLUMNS = (
    "document_id",
    "tier_pk",
    "pos",
    "ann_id",
    "ts1",
    "ts2",
    "ref",
    "prev",
    "value",
    "ext_ref",
    "lang_ref",
    "cve_ref",
    "svg_ref",
    "version",
)


def _pairs(attrs: Attrs) -> list[list[str]]:
    return [[k, v] for k, v in attrs.items()]


def _unpairs(pairs: list[Any]) -> Attrs:
    return {str(k): str(v) for k, v in pairs}


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    name: str
    kind: str
    tiers: int
    annotations: int
    recording_id: int | None
    source_path: str | None
    modified_at: datetime


def _insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return [r[0] for r in result]


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    # Core, not the ORM bulk path: the ORM leaves out None columns and splits the batch wherever the set of
    # non-None columns changes (every unaligned time slot), which made 1,500 statements out of 14.
    if rows:
        session.connection().execute(insert(model.__table__), rows)


def _bulk_tuples(session: Session, model: Any, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """The two big tables (time slots, annotations): tuples straight to the driver, made and sent in chunks
    (never all rows at once in memory). Measured on 100k annotations: about half the time of Core inserts with
    dicts.

    On SQLite each statement inserts a few hundred rows (``VALUES (...), (...), ...``): SQLite then opens the
    table and its seven indexes once per statement instead of once per row, which took about a fifth off
    the insert of 80,000 annotations (CPU 1.4 s against 1.8 s, best of four). PostgreSQL keeps the driver's
    ``executemany``."""
    conn = session.connection()
    head = f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) VALUES "
    it = iter(rows)
    if conn.dialect.name != "sqlite":
        sql = head + f"({', '.join(['%s'] * len(columns))})"
        while chunk := list(islice(it, 20_000)):
            conn.exec_driver_sql(sql, chunk)
        return
    per = _rows_per_statement(conn, len(columns))
    one = f"({', '.join('?' * len(columns))})"
    full = head + ", ".join([one] * per)
    while chunk := list(islice(it, per)):
        sql = full if len(chunk) == per else head + ", ".join([one] * len(chunk))
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def _rows_per_statement(conn: Any, columns: int) -> int:
    """Rows in one multi-row SQLite insert: 500 at most, fewer if the library allows fewer bound variables per
    statement (999 before SQLite 3.32 and in builds that keep that limit; 32,766 by default since)."""
    dbc = conn.connection.driver_connection
    try:
        limit = int(dbc.getlimit(_SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, TypeError, ValueError):  # a driver without getlimit (sqlcipher3, Python before 3.11)
        limit = 999
    return max(1, min(500, limit // columns))


_SQLITE_LIMIT_VARIABLE_NUMBER = 9  # sqlite3.h; the same number in every driver (sqlite3, sqlcipher3)


def store_document(
    session: Session,
    doc: EafDocument,
    name: str,
    *,
    source_path: str | None = None,
    project_id: int | None = None,
    recording_id: int | None = None,
) -> int:
    """Insert a whole document; returns its id. The caller's unit of work commits it."""
    row = Document(
        kind=doc.kind,
        name=name,
        source_path=source_path,
        project_id=project_id,
        recording_id=recording_id,
        root_attrs=_pairs(doc.root_attrs),
        header_attrs=_pairs(doc.header_attrs),
        upgrade_notes=list(doc.upgrade_notes),
    )
    session.add(row)
    session.flush()
    did = row.id
    _bulk(
        session,
        License,
        [{"document_id": did, "pos": i, "url": u, "text": t} for i, (u, t) in enumerate(doc.licenses)],
    )
    _bulk(
        session,
        HeaderProperty,
        [{"document_id": did, "pos": i, "name": n, "value": v} for i, (n, v) in enumerate(doc.properties)],
    )
    for model, attr in _ATTR_TABLES:
        items: list[Attrs] = getattr(doc, attr)
        _bulk(session, model, [{"document_id": did, "pos": i, "attrs": _pairs(a)} for i, a in enumerate(items)])
    _bulk_tuples(
        session,
        TimeSlotRow,
        ("document_id", "pos", "slot_id", "time_ms"),
        ((did, i, s.slot_id, s.time) for i, s in enumerate(doc.time_slots)),
    )
    tier_rows = []
    for i, t in enumerate(doc.tiers):
        r: dict[str, Any] = {c: t.attrs.get(k) for k, c in _TIER_COLUMNS.items()}
        r.update(
            document_id=did,
            pos=i,
            attr_order=list(t.attrs),
            extra_attrs=[[k, v] for k, v in t.attrs.items() if k not in _TIER_COLUMNS],
        )
        tier_rows.append(r)
    tier_pks = _insert_returning_ids(session, TierRow, tier_rows)
    ann_rows = (
        (did, pk, j, a.ann_id, a.ts1, a.ts2, a.ref, a.prev, a.value, a.ext_ref, a.lang_ref, a.cve_ref, a.svg_ref, 1)
        for pk, t in zip(tier_pks, doc.tiers, strict=True)
        for j, a in enumerate(t.annotations)
    )
    _bulk_tuples(session, AnnotationRow, _ANN_INSERT_COLUMNS, ann_rows)
    _store_vocabularies(session, did, doc.vocabularies)
    set_pks = _insert_returning_ids(
        session,
        RefLinkSetRow,
        [{"document_id": did, "pos": i, "attrs": _pairs(s.attrs)} for i, s in enumerate(doc.ref_link_sets)],
    )
    _bulk(
        session,
        RefLinkRow,
        [
            {"set_id": pk, "pos": j, "kind": link.kind, "attrs": _pairs(link.attrs), "value": link.value}
            for pk, s in zip(set_pks, doc.ref_link_sets, strict=True)
            for j, link in enumerate(s.links)
        ],
    )
    _refresh_statistics(session, len(doc.time_slots) + doc.annotation_count())
    return did


# Below this many rows an import cannot make PostgreSQL's plans for the two big tables much worse.
_ANALYZE_AT = 1_000


def _refresh_statistics(session: Session, rows: int) -> None:
    """After a big import into PostgreSQL, refresh the statistics of the time slot and annotation tables.

    Without them (a new store, before autovacuum comes by) the deferred foreign-key checks of a later delete
    are planned as scans: deleting an 8,778-annotation document right after importing it took 62 s at
    COMMIT, and 0.5 s after ANALYZE. A role that does not own the tables gets a warning from the server and
    nothing else (autovacuum still comes by)."""
    if rows < _ANALYZE_AT or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"ANALYZE {TimeSlotRow.__tablename__}, {AnnotationRow.__tablename__}"))


def _store_vocabularies(session: Session, did: int, cvs: list[ControlledVocabulary]) -> None:
    cv_pks = _insert_returning_ids(
        session,
        VocabularyRow,
        [{"document_id": did, "pos": i, "cv_id": cv.cv_id, "ext_ref": cv.ext_ref} for i, cv in enumerate(cvs)],
    )
    _bulk(
        session,
        VocabularyDescription,
        [
            {"vocabulary_id": pk, "pos": j, "lang_ref": lang, "text": text}
            for pk, cv in zip(cv_pks, cvs, strict=True)
            for j, (lang, text) in enumerate(cv.descriptions)
        ],
    )
    entries = [(pk, j, e) for pk, cv in zip(cv_pks, cvs, strict=True) for j, e in enumerate(cv.entries)]
    entry_pks = _insert_returning_ids(
        session,
        VocabularyEntry,
        [{"vocabulary_id": pk, "pos": j, "cve_id": e.cve_id, "ext_ref": e.ext_ref} for pk, j, e in entries],
    )
    _bulk(
        session,
        VocabularyValue,
        [
            {
                "entry_id": epk,
                "pos": k,
                "lang_ref": v.lang_ref,
                "description": v.description,
                "value": v.value,
            }
            for epk, (_, _, e) in zip(entry_pks, entries, strict=True)
            for k, v in enumerate(e.values)
        ],
    )


def get_document_row(session: Session, doc_id: int) -> Document:
    """The document's row.

    Raises:
        NotFound: no document has that id.
    """
    return get_or_not_found(session, Document, doc_id, "document")


def load_document(session: Session, doc_id: int) -> EafDocument:
    """Read a whole document back from the store.

    Raises:
        NotFound: no document has that id.
    """
    with gc_paused():
        return _load_document(session, doc_id)


def _rows(session: Session, query: Any) -> Iterator[Any]:
    """A big query's rows, fetched in chunks: Core rows on the connection (the ORM result layer costs more than
    building the annotations), and ``fetchmany`` rather than row-by-row iteration, which calls ``fetchone``
    for every row (0.6 s of loading 180,000 rows)."""
    result = session.connection().execute(query)
    while chunk := result.fetchmany(10_000):
        yield from chunk


def _load_document(session: Session, doc_id: int) -> EafDocument:
    row = get_document_row(session, doc_id)
    doc = EafDocument(
        kind=row.kind,  # type: ignore[arg-type]
        root_attrs=_unpairs(row.root_attrs),
        header_attrs=_unpairs(row.header_attrs),
        upgrade_notes=list(row.upgrade_notes),
    )

    def ordered(model: Any) -> Any:
        return session.scalars(select(model).where(model.document_id == doc_id).order_by(model.pos))

    doc.licenses = [(r.url, r.text) for r in ordered(License)]
    doc.properties = [(r.name, r.value) for r in ordered(HeaderProperty)]
    for model, attr in _ATTR_TABLES:
        setattr(doc, attr, [_unpairs(r.attrs) for r in ordered(model)])
    doc.time_slots = [
        TimeSlot(sid, t)
        for sid, t in _rows(
            session,
            select(TimeSlotRow.slot_id, TimeSlotRow.time_ms)
            .where(TimeSlotRow.document_id == doc_id)
            .order_by(TimeSlotRow.pos),
        )
    ]
    tiers_by_pk: dict[int, Tier] = {}
    for t in ordered(TierRow):
        tiers_by_pk[t.id] = Tier(attrs=tier_attrs(t))
    doc.tiers = list(tiers_by_pk.values())
    q = (
        select(
            AnnotationRow.tier_pk,
            AnnotationRow.ann_id,
            AnnotationRow.value,
            AnnotationRow.ts1,
            AnnotationRow.ts2,
            AnnotationRow.ref,
            AnnotationRow.prev,
            AnnotationRow.ext_ref,
            AnnotationRow.lang_ref,
            AnnotationRow.cve_ref,
            AnnotationRow.svg_ref,
        )
        .where(AnnotationRow.document_id == doc_id)
        .order_by(AnnotationRow.tier_pk, AnnotationRow.pos)
    )
    for tier_pk, rows in groupby(_rows(session, q), key=itemgetter(0)):
        tiers_by_pk[tier_pk].annotations.extend(Annotation(*r[1:]) for r in rows)
    doc.vocabularies = _load_vocabularies(session, doc_id)
    sets = list(ordered(RefLinkSetRow))
    doc.ref_link_sets = []
    for s in sets:
        links = session.scalars(select(RefLinkRow).where(RefLinkRow.set_id == s.id).order_by(RefLinkRow.pos))
        doc.ref_link_sets.append(
            RefLinkSet(
                attrs=_unpairs(s.attrs),
                links=[RefLink(lk.kind, _unpairs(lk.attrs), lk.value) for lk in links],
            )
        )
    return doc


def tier_attrs(t: TierRow) -> Attrs:
    """A tier's ELAN attributes in their original order (edited columns win over the stored copy)."""
    values: Attrs = _unpairs(t.extra_attrs)
    for k, c in _TIER_COLUMNS.items():
        v = getattr(t, c)
        if v is not None:
            values[k] = v
    out: Attrs = {k: values[k] for k in t.attr_order if k in values}
    for k, v in values.items():
        out.setdefault(k, v)
    return out


def _load_vocabularies(session: Session, doc_id: int) -> list[ControlledVocabulary]:
    cv_rows = list(
        session.scalars(select(VocabularyRow).where(VocabularyRow.document_id == doc_id).order_by(VocabularyRow.pos))
    )
    if not cv_rows:
        return []
    cvs = {r.id: ControlledVocabulary(cv_id=r.cv_id, ext_ref=r.ext_ref) for r in cv_rows}
    ids = list(cvs)
    for d in session.scalars(
        select(VocabularyDescription)
        .where(VocabularyDescription.vocabulary_id.in_(ids))
        .order_by(VocabularyDescription.vocabulary_id, VocabularyDescription.pos)
    ):
        cvs[d.vocabulary_id].descriptions.append((d.lang_ref, d.text))
    entries: dict[int, CVEntry] = {}
    for e in session.scalars(
        select(VocabularyEntry)
        .where(VocabularyEntry.vocabulary_id.in_(ids))
        .order_by(VocabularyEntry.vocabulary_id, VocabularyEntry.pos)
    ):
        entry = CVEntry(cve_id=e.cve_id, values=[], ext_ref=e.ext_ref)
        entries[e.id] = entry
        cvs[e.vocabulary_id].entries.append(entry)
    if entries:
        q = (
            select(
                VocabularyValue.entry_id,
                VocabularyValue.value,
                VocabularyValue.lang_ref,
                VocabularyValue.description,
            )
            .join(VocabularyEntry, VocabularyEntry.id == VocabularyValue.entry_id)
            .where(VocabularyEntry.vocabulary_id.in_(ids))
            .order_by(VocabularyValue.entry_id, VocabularyValue.pos)
        )
        for entry_id, value, lang, desc in session.execute(q):
            entries[entry_id].values.append(CVEValue(value=value, lang_ref=lang, description=desc))
    return list(cvs.values())


def list_documents(session: Session, doc_id: int | None = None) -> list[DocumentInfo]:
    """Every document in the store (or only ``doc_id``) with its tier and annotation counts."""
    tiers_q = select(TierRow.document_id, func.count().label("n")).group_by(TierRow.document_id)
    anns_q = select(AnnotationRow.document_id, func.count().label("n")).group_by(AnnotationRow.document_id)
    if doc_id is not None:  # count one document's rows, not the whole store's
        tiers_q = tiers_q.where(TierRow.document_id == doc_id)
        anns_q = anns_q.where(AnnotationRow.document_id == doc_id)
    n_tiers, n_anns = tiers_q.subquery(), anns_q.subquery()
    q = (
        select(Document, func.coalesce(n_tiers.c.n, 0), func.coalesce(n_anns.c.n, 0))
        .outerjoin(n_tiers, n_tiers.c.document_id == Document.id)
        .outerjoin(n_anns, n_anns.c.document_id == Document.id)
        .order_by(Document.id)
    )
    if doc_id is not None:
        q = q.where(Document.id == doc_id)
    return [
        DocumentInfo(d.id, d.name, d.kind, nt, na, d.recording_id, d.source_path, d.modified_at)
        for d, nt, na in session.execute(q)
    ]


def delete_document(session: Session, doc_id: int) -> None:
    """Remove a document and everything in it.

    Raises:
        NotFound: no document has that id.
    """
    get_document_row(session, doc_id)
    session.execute(delete(Document).where(Document.id == doc_id))
