"""Tables for referral records sampled from the authority's case records (migration 0004).

A record describes one referral in categories: there is no column for a child's or family's name, date of
birth, address or any number that would identify them, so none can be stored by mistake. The only free
text is ``notes``, checked for things that look like identifiers when it is written
(:func:`annotation.records.referrals.identifier_warnings`).

``ref_hash`` is a keyed hash (HMAC-SHA-256) of the authority's referral reference, so that importing the
same extract twice does not store a referral twice; the key is per project (``record_key``). It is a
pseudonym, not anonymity: whoever holds this database *and* the authority's list of references can link
them, which is the point of the re-import check and why the reference itself is never stored.

``record_segment`` links a record to the video annotations where the referral was observed, by document
and ELAN annotation id. The document is a foreign key (deleting a document drops its links); the
annotation id is checked when the link is made but is not a foreign key, so that deleting an annotation and
undoing the deletion (which brings it back under the same id) keeps the link, and nobody's annotation
edit is blocked by a record. ELAN ids are never reused (``lastUsedAnnotationId`` only grows), so a link
cannot silently move to another annotation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation.store import Base
from annotation.store import now as _now


class RecordKey(Base):
    """The per-project key of the referral-reference hash (random, made on first use)."""

    __tablename__ = "record_key"
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))


class ReferralRecord(Base):
    """One sampled referral. ``received_at`` is the authority's local time (naive); time to decision is in
    whole minutes; ``None`` means "not recorded" for every optional field."""

    __tablename__ = "referral_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    ref_hash: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    period: Mapped[str] = mapped_column(String(50), index=True)
    referrer_type: Mapped[str] = mapped_column(String(100))
    professional: Mapped[bool | None] = mapped_column(Boolean)
    concern: Mapped[str] = mapped_column(String(100))
    age_band: Mapped[str | None] = mapped_column(String(30))
    previous_referrals: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(100))
    decision_minutes: Mapped[int | None] = mapped_column(Integer)
    initial_assessment: Mapped[bool | None] = mapped_column(Boolean)
    feedback: Mapped[bool | None] = mapped_column(Boolean)
    manager_consulted: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("project_id", "ref_hash", name="uq_referral_record_project_ref"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class RecordSegment(Base):
    """A video annotation (document, ELAN annotation id) where the referral was observed."""

    __tablename__ = "record_segment"
    record_id: Mapped[int] = mapped_column(ForeignKey("referral_record.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    ann_id: Mapped[str] = mapped_column(String(100), primary_key=True)
