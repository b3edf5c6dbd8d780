"""Tables of the sensitive-identifier search (migration 0008): a project's watch list and the proposals a
scan makes.

Watch-list terms are the very names, places and case numbers the project must never let out, kept in
clear because they are matched against transcripts and listed to the researcher: they live in the store
(encrypted with it when it is a SQLCipher store; on a shared PostgreSQL server only the owner and
researchers are granted these tables) and nowhere else. A proposal holds no matched text: where it was
found (document, annotation, time), what kind of identifier it looks like, and a fingerprint of the match
(:func:`annotation.identifiers.match.fingerprint`) that recognises it on the next scan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from annotation.store import Base

PENDING = "pending"
CONFIRMED = "confirmed"
REJECTED = "rejected"


def _now() -> datetime:
    return datetime.now(UTC)


class WatchTerm(Base):
    """A name, place, case number or other identifier to look for in a project's transcripts."""

    __tablename__ = "watch_term"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # name | place | case number | other
    term: Mapped[str] = mapped_column(Text)
    variants: Mapped[list[Any]] = mapped_column(default=list)  # other spellings, matched as the term
    label: Mapped[str | None] = mapped_column(String(100))  # the Sensitive identifier value, e.g. "child name"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class IdentifierProposal(Base):
    """A place where a scan found what looks like a sensitive identifier: pending until the researcher
    confirms it (an annotation on the "Sensitive identifier" tier, ``sensitive_ann_id``) or rejects it
    (remembered for the same annotation and match)."""

    __tablename__ = "identifier_proposal"
    __table_args__ = (
        UniqueConstraint("document_id", "fingerprint", name="uq_identifier_proposal_doc_fingerprint"),
        Index("ix_identifier_proposal_doc_status", "document_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    ann_id: Mapped[str] = mapped_column(String(100))  # the annotation the match is in
    tier_id: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(10))  # "watch" or "pattern"
    term_id: Mapped[int | None] = mapped_column(ForeignKey("watch_term.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(100))  # what the Sensitive identifier annotation will say
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    sensitive_ann_id: Mapped[str | None] = mapped_column(String(100))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
