"""sensitive identifiers found for the researcher: a project's watch list (names, places, case numbers) and
the proposals a scan of a document's transcripts makes; on PostgreSQL ``frontdoor_sensitive_spans``, the
times of a recording's sensitive-identifier annotations for roles that may not read the annotations

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00

The export gate bleeps every sensitive identifier coded on a recording in each clip it renders, also those
confirmed after the clip version was made (``annotation.identifiers.proposals.standing_sensitive_spans``).
A presenter or a review station cannot read the annotation tables; the function gives them the times only
(no values), for the recordings they may render: a station its participant's, a presenter any.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# the tier's name at this revision (annotation.elan.scheme.SENSITIVE_TIER); the query is the one
# annotation.identifiers.proposals runs on SQLite (a test keeps the two equal)
SPANS_SQL = """
SELECT COALESCE(s1.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s1.document_id AND x.pos < s1.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos DESC LIMIT 1), 0) AS start_ms,
       COALESCE(s2.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s2.document_id AND x.pos > s2.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos LIMIT 1), 2147483647) AS end_ms
FROM document d
JOIN tier t ON t.document_id = d.id AND t.tier_id = 'Sensitive identifier'
JOIN annotation a ON a.tier_pk = t.id
LEFT JOIN annotation p ON p.document_id = a.document_id AND p.ann_id = a.ref
JOIN time_slot s1 ON s1.document_id = a.document_id AND s1.slot_id = COALESCE(a.ts1, p.ts1)
JOIN time_slot s2 ON s2.document_id = a.document_id AND s2.slot_id = COALESCE(a.ts2, p.ts2)
WHERE d.recording_id = {rec}
"""

FUNCTION = "frontdoor_sensitive_spans(integer)"


def upgrade() -> None:
    op.create_table(
        "watch_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_watch_term_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_term")),
    )
    with op.batch_alter_table("watch_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watch_term_project_id"), ["project_id"], unique=False)
    op.create_table(
        "identifier_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ann_id", sa.String(length=100), nullable=False),
        sa.Column("tier_id", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("sensitive_ann_id", sa.String(length=100), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_identifier_proposal_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["term_id"], ["watch_term.id"], name=op.f("fk_identifier_proposal_term_id_watch_term"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifier_proposal")),
        sa.UniqueConstraint("document_id", "fingerprint", name="uq_identifier_proposal_doc_fingerprint"),
    )
    with op.batch_alter_table("identifier_proposal", schema=None) as batch_op:
        batch_op.create_index("ix_identifier_proposal_doc_status", ["document_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_identifier_proposal_term_id"), ["term_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    # times only, to the roles that render clips: researchers and the owner, presenters, and a review station
    # for the recordings its participant is in; auditors and unknown roles get nothing
    op.execute(
        f"""CREATE FUNCTION frontdoor_sensitive_spans(rec_id integer)
            RETURNS TABLE(start_ms integer, end_ms integer)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            SELECT q.start_ms, q.end_ms FROM ({SPANS_SQL.format(rec="rec_id")}) q
            WHERE frontdoor_kind() IN ('owner', 'researcher', 'presenter')
               OR (frontdoor_kind() = 'reviewer' AND rec_id IN (SELECT frontdoor_station_recordings()))
            $$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {FUNCTION}")
    with op.batch_alter_table("identifier_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identifier_proposal_term_id"))
        batch_op.drop_index("ix_identifier_proposal_doc_status")
    op.drop_table("identifier_proposal")
    with op.batch_alter_table("watch_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watch_term_project_id"))
    op.drop_table("watch_term")
