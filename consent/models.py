"""The consent tables, on the application's one ``Base`` (their migration is revision 0002; the role tables 0005;
the retention tables 0007; the server's anchors 0012).

Immutability is part of the model: a clip version, once made, never changes (a change is a new version);
decisions are appended, the latest for a (version, participant, scope) counts; the audit log is append-only,
enforced by database triggers on SQLite and PostgreSQL, and hash-chained (``UNIQUE(prev_hash)`` keeps the
chain a single line even when two writers append at once).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from annotation.store import Base


def _now() -> datetime:
    return datetime.now(UTC)


class ConsentLock(Base):
    """One row that every consent write updates first: consent writes take turns, so a decision taken on
    what was read (the gate's last check before it keeps a file) cannot race a withdrawal."""

    __tablename__ = "consent_lock"
    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class ConsentPolicy(Base):
    """Per-project choices: whether real names of participants are kept at all, the review stations' passphrase,
    whether someone who withheld may be offered a version with their face blurred."""

    __tablename__ = "consent_policy"
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    keep_real_names: Mapped[bool] = mapped_column(Boolean, default=False)
    passphrase_hash: Mapped[str | None] = mapped_column(String(400))
    """The researcher's passphrase that unlocks a consent review station: a slow salted hash, never clear."""
    blur_withheld: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The project's ethics approval allows offering someone who withheld a version with their face blurred
    (``frontdoor project set-blur-withheld``; ``consent.faces.blur_withheld`` refuses without it)."""


class Participant(Base):
    """A member of staff who was filmed. The pseudonym is what the tool shows."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("project_id", "pseudonym"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(100))
    real_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class Appearance(Base):
    """A time range of a recording in which a participant is seen or heard."""

    __tablename__ = "appearance"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"), index=True)
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(20))  # "tier" (from a participants tier) or "manual"
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="SET NULL"))


class Clip(Base):
    """An edited clip of one recording; what it shows is its current (highest-numbered) version."""

    __tablename__ = "clip"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    versions: Mapped[list[ClipVersion]] = relationship(back_populates="clip", order_by="ClipVersion.number")


class ClipVersion(Base):
    """One immutable edit: the canonical edit spec (source named by its SHA-256) and its hash."""

    __tablename__ = "clip_version"
    # the same edit of the same recording may be a clip in two projects: the hash is unique per clip
    __table_args__ = (
        UniqueConstraint("clip_id", "number", name="uq_clip_version_clip_number"),
        UniqueConstraint("clip_id", "version_hash", name="uq_clip_version_clip_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the clip
    version_hash: Mapped[str] = mapped_column(String(64), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column()
    source_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    clip: Mapped[Clip] = relationship(back_populates="versions")


class Presence(Base):
    """A participant seen or heard in a clip version (who must consent to it)."""

    __tablename__ = "presence"
    clip_version_id: Mapped[int] = mapped_column(ForeignKey("clip_version.id", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(20))  # "appearances" or "manual"


class Decision(Base):
    """One participant's decision on one clip version for one scope. Appended, never changed: the latest
    decision for (version, participant, scope) is the one that counts."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    clip_version_id: Mapped[int] = mapped_column(ForeignKey("clip_version.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(30))
    decision: Mapped[str] = mapped_column(String(20))  # "granted" or "withheld"
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    method: Mapped[str] = mapped_column(String(20))  # "in_app" or "paper_form"
    form_reference: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Export(Base):
    """One run of the export gate."""

    __tablename__ = "export"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), index=True)
    scope: Mapped[str] = mapped_column(String(30))
    folder: Mapped[str] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(Text)
    internal_audience: Mapped[bool] = mapped_column(Boolean, default=False)
    expires: Mapped[str | None] = mapped_column(String(10))  # ISO date
    exported_by: Mapped[str] = mapped_column(String(200))
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ExportItem(Base):
    """A file the gate wrote; destroyed when a participant withdraws or its time is up."""

    __tablename__ = "export_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("export.id", ondelete="CASCADE"), index=True)
    clip_version_id: Mapped[int] = mapped_column(ForeignKey("clip_version.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    output_sha256: Mapped[str] = mapped_column(String(64))
    decision_ids: Mapped[list[Any]] = mapped_column(default=list)
    participant_ids: Mapped[list[Any]] = mapped_column(default=list)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    destroyed_by: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """The append-only, hash-chained log of consent events. Times are ISO strings (hashed as written)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(40))
    participant_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the log outlives rows
    clip_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """A head of the audit chain kept by the PostgreSQL server (``consent.server_anchors``): one row per entry
    appended, in its transaction, and one per acknowledged rollback (``kind`` 'rollback_acknowledged', with the
    entry the log goes on from and the newest anchored entry it lost). No application role may change or delete
    a row; the database fills in ``written_by`` (the login role) and ``written_at`` (its clock) and refuses a row
    that does not match the log (migration 0012). Created but unused on SQLite."""

    __tablename__ = "audit_anchor"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: an anchor outlives a cut entry
    hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    back_to: Mapped[int | None] = mapped_column(Integer)
    lost_to: Mapped[int | None] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    written_by: Mapped[str] = mapped_column(String(200))


class DbRole(Base):
    """A PostgreSQL group role ``frontdoor db roles`` made for this schema and what it is for (researcher,
    reviewer, presenter, auditor). The database's functions read it to know what the caller may do
    (``consent.server.access``); unused on SQLite."""

    __tablename__ = "db_role"
    role_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))


class StationBinding(Base):
    """The one participant a review-station login role is for: the database shows that role this
    participant's rows only, and takes decisions from it for this participant only. Unused on SQLite."""

    __tablename__ = "station_binding"
    role_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"), index=True)


class RetentionPolicy(Base):
    """How long a project keeps what it stores (``consent.retention.policy``): periods such as ``60m`` or ``5y``,
    NULL for no limit. ``recordings`` counts from when a recording was registered, ``clips`` from a clip
    version's last use (its newest export, else when it was made, never before its recording), ``exports``
    from the export for files given out without an expiry date. ``documents`` says whether annotation
    documents go with their recording (``with-recording``) or are kept, unlinked (``keep``)."""

    __tablename__ = "retention_policy"
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    recordings: Mapped[str | None] = mapped_column(String(10))
    clips: Mapped[str | None] = mapped_column(String(10))
    exports: Mapped[str | None] = mapped_column(String(10))
    documents: Mapped[str] = mapped_column(String(20), default="keep")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DestructionPermit(Base):
    """Leave to delete one append-only row group, written by ``consent.retention.policy.destroy`` in the transaction
    that deletes it and consumed (deleted) before it commits. The database's triggers let a clip version
    and its decisions be deleted only while a permit for that version exists that names the ``destroyed``
    audit entry recording it (so nothing leaves without its entry); on PostgreSQL the permit must also be
    of the deleting transaction (``txid``, set by the database) and the deleter a researcher."""

    __tablename__ = "destruction_permit"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "clip_version" (its decisions go with it)
    row_id: Mapped[int] = mapped_column(Integer, index=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))
    txid: Mapped[int | None] = mapped_column(BigInteger)
