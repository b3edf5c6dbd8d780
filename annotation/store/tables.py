"""The annotation store's tables: SQLAlchemy 2 declarative models with typed columns.

One ``Base`` for the whole application (the consent package adds its tables to it). Times are integer
milliseconds. Ids that ELAN files carry (tier ids, annotation ids, time slot ids) are kept as the strings
the file had, unique per document, and references between them are composite foreign keys
``(document_id, id)`` checked by the database at commit (deferred, so a whole document can be inserted in
bulk in any order). ``version`` columns implement optimistic locking for edits: an update names the
version it read and fails if another writer got there first.

Attributes of descriptive ELAN elements are stored as JSON lists of ``[name, value]`` pairs (not objects)
so their order survives on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime:
    """The current time in UTC (the default of every ``created_at``-like column)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012  (SQLAlchemy's hook)


class Project(Base):
    __tablename__ = "project"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Recording(Base):
    """A media file of a filmed session. ``rel_path`` is relative to the project folder so that a moved
    project can be relinked; ``sha256`` finds a moved file again."""

    __tablename__ = "recording"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    abs_path: Mapped[str] = mapped_column(Text)
    rel_path: Mapped[str | None] = mapped_column(Text)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Document(Base):
    """An annotation document: an ELAN ``.eaf``, a template ``.etf`` or an external vocabulary ``.ecv``."""

    __tablename__ = "document"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recording.id", ondelete="SET NULL"), index=True)
    media_origin_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Where in the recording's file the document's time 0 falls (ELAN's TIME_ORIGIN of its descriptor):
    recording time = document time + this. Every conversion (bleeps, captions, appearances) adds it."""
    kind: Mapped[str] = mapped_column(String(3), default="eaf")
    name: Mapped[str] = mapped_column(String(300))
    source_path: Mapped[str | None] = mapped_column(Text)
    root_attrs: Mapped[list[Any]] = mapped_column(default=list)
    header_attrs: Mapped[list[Any]] = mapped_column(default=list)
    upgrade_notes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    tiers: Mapped[list[TierRow]] = relationship(
        back_populates="document", order_by="TierRow.pos", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class _Positioned:
    """Columns shared by every child element of a document: which document, and where in it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)


class AttrElement(_Positioned):
    """An attribute-only ELAN element, its attributes as ordered ``[name, value]`` pairs."""

    attrs: Mapped[list[Any]] = mapped_column(default=list)

    def attr(self, name: str) -> str | None:
        for k, v in self.attrs:
            if k == name:
                return str(v)
        return None


class License(_Positioned, Base):
    __tablename__ = "doc_license"
    url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)


class MediaDescriptor(AttrElement, Base):
    __tablename__ = "media_descriptor"


class LinkedFile(AttrElement, Base):
    __tablename__ = "linked_file"


class HeaderProperty(_Positioned, Base):
    __tablename__ = "header_property"
    name: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)


class LinguisticType(AttrElement, Base):
    __tablename__ = "linguistic_type"


class Locale(AttrElement, Base):
    __tablename__ = "locale"


class Language(AttrElement, Base):
    __tablename__ = "language"


class Constraint(AttrElement, Base):
    __tablename__ = "tier_constraint"


class LexiconRef(AttrElement, Base):
    __tablename__ = "lexicon_ref"


class ExternalRef(AttrElement, Base):
    __tablename__ = "external_ref"


class TimeSlotRow(Base):
    __tablename__ = "time_slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    pos: Mapped[int] = mapped_column(Integer)
    slot_id: Mapped[str] = mapped_column(String(100))
    time_ms: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("document_id", "slot_id", name="uq_time_slot_doc_slot"),
        Index("ix_time_slot_doc_pos", "document_id", "pos"),
    )


class TierRow(Base):
    """A tier. The ELAN attributes Frontdoor edits are columns; ``attr_order`` remembers the order they
    came in and ``extra_attrs`` holds any others (EXT_REF, LANG_REF, attributes of future ELAN versions)."""

    __tablename__ = "tier"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    pos: Mapped[int] = mapped_column(Integer)
    tier_id: Mapped[str] = mapped_column(String(300))
    parent_ref: Mapped[str | None] = mapped_column(String(300))
    linguistic_type_ref: Mapped[str | None] = mapped_column(String(300))
    participant: Mapped[str | None] = mapped_column(Text)
    annotator: Mapped[str | None] = mapped_column(Text)
    default_locale: Mapped[str | None] = mapped_column(String(50))
    attr_order: Mapped[list[Any]] = mapped_column(default=list)
    extra_attrs: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)

    document: Mapped[Document] = relationship(back_populates="tiers")
    __table_args__ = (
        UniqueConstraint("document_id", "tier_id", name="uq_tier_doc_tier"),
        ForeignKeyConstraint(
            ["document_id", "parent_ref"],
            ["tier.document_id", "tier.tier_id"],
            name="fk_tier_parent",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class AnnotationRow(Base):
    """An annotation: alignable (``ts1``/``ts2`` name time slots) or referring (``ref`` names the parent
    annotation, ``prev`` the previous sibling in a symbolic subdivision)."""

    __tablename__ = "annotation"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    tier_pk: Mapped[int] = mapped_column(ForeignKey("tier.id", ondelete="CASCADE"))
    pos: Mapped[int] = mapped_column(Integer)
    ann_id: Mapped[str] = mapped_column(String(100))
    ts1: Mapped[str | None] = mapped_column(String(100))
    ts2: Mapped[str | None] = mapped_column(String(100))
    ref: Mapped[str | None] = mapped_column(String(100))
    prev: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text, default="")
    ext_ref: Mapped[str | None] = mapped_column(Text)
    lang_ref: Mapped[str | None] = mapped_column(String(100))
    cve_ref: Mapped[str | None] = mapped_column(String(200))
    svg_ref: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("document_id", "ann_id", name="uq_annotation_doc_ann"),
        Index("ix_annotation_tier_pos", "tier_pk", "pos"),
        # the foreign keys below are checked on every delete: without these, each check scans the table
        Index("ix_annotation_doc_ref", "document_id", "ref"),
        Index("ix_annotation_doc_prev", "document_id", "prev"),
        Index("ix_annotation_doc_ts1", "document_id", "ts1"),
        Index("ix_annotation_doc_ts2", "document_id", "ts2"),
        ForeignKeyConstraint(
            ["document_id", "ts1"],
            ["time_slot.document_id", "time_slot.slot_id"],
            name="fk_annotation_ts1",
            deferrable=True,
            initially="DEFERRED",
        ),
        ForeignKeyConstraint(
            ["document_id", "ts2"],
            ["time_slot.document_id", "time_slot.slot_id"],
            name="fk_annotation_ts2",
            deferrable=True,
            initially="DEFERRED",
        ),
        ForeignKeyConstraint(
            ["document_id", "ref"],
            ["annotation.document_id", "annotation.ann_id"],
            name="fk_annotation_ref",
            deferrable=True,
            initially="DEFERRED",
        ),
        ForeignKeyConstraint(
            ["document_id", "prev"],
            ["annotation.document_id", "annotation.ann_id"],
            name="fk_annotation_prev",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class VocabularyRow(Base):
    __tablename__ = "vocabulary"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)
    cv_id: Mapped[str] = mapped_column(String(300))
    ext_ref: Mapped[str | None] = mapped_column(String(100))


class VocabularyDescription(Base):
    __tablename__ = "vocabulary_description"
    id: Mapped[int] = mapped_column(primary_key=True)
    vocabulary_id: Mapped[int] = mapped_column(ForeignKey("vocabulary.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)
    lang_ref: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)


class VocabularyEntry(Base):
    __tablename__ = "vocabulary_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    vocabulary_id: Mapped[int] = mapped_column(ForeignKey("vocabulary.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)
    cve_id: Mapped[str | None] = mapped_column(String(200))
    ext_ref: Mapped[str | None] = mapped_column(String(100))


class VocabularyValue(Base):
    """One language's value of a vocabulary entry (ELAN's CVE_VALUE)."""

    __tablename__ = "vocabulary_value"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("vocabulary_entry.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)
    lang_ref: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text, default="")


class RefLinkSetRow(AttrElement, Base):
    __tablename__ = "ref_link_set"


class RefLinkRow(Base):
    __tablename__ = "ref_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("ref_link_set.id", ondelete="CASCADE"), index=True)
    pos: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    attrs: Mapped[list[Any]] = mapped_column(default=list)
    value: Mapped[str | None] = mapped_column(Text)
