"""document.media_origin_ms: where in the recording's file a document's time 0 falls (ELAN's TIME_ORIGIN)

Annotation times are document times; clips, bleeps, captions and appearances are in the recording's time.
With a time origin the two differ, and a sensitive identifier bleeped at its document time would be
bleeped in the wrong place (the name heard). The origin is kept on the document, set from the media
descriptor that names the recording when it is imported, and added wherever document time becomes
recording time; on PostgreSQL ``frontdoor_sensitive_spans`` adds it too.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 03:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# the query annotation.identifiers.spans runs on SQLite (a test keeps the two equal); end 2147483647 means
# "to the end" and is not shifted
SPANS_SQL = """
SELECT q.start_ms + q.origin AS start_ms,
       CASE WHEN q.end_ms = 2147483647 THEN q.end_ms ELSE q.end_ms + q.origin END AS end_ms
FROM (
SELECT d.media_origin_ms AS origin,
       COALESCE(s1.time_ms,
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
) q
"""

# the query of revision 0008, to put back on a downgrade
SPANS_SQL_0008 = """
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


def _function(spans_sql: str) -> str:
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    return f"""CREATE OR REPLACE FUNCTION frontdoor_sensitive_spans(rec_id integer)
            RETURNS TABLE(start_ms integer, end_ms integer)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            SELECT q2.start_ms, q2.end_ms FROM ({spans_sql.format(rec="rec_id")}) q2
            WHERE frontdoor_kind() IN ('owner', 'researcher', 'presenter')
               OR (frontdoor_kind() = 'reviewer' AND rec_id IN (SELECT frontdoor_station_recordings()))
            $$"""


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("media_origin_ms", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(SPANS_SQL))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(SPANS_SQL_0008))
    with op.batch_alter_table("document") as batch:
        batch.drop_column("media_origin_ms")
