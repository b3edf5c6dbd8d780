"""what a security review found in the PostgreSQL functions and policies of 0005, 0007 and 0009

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00

- ``frontdoor_sensitive_spans`` follows a referring annotation up to its nearest time-aligned ancestor
  through any number of referring tiers (0008/0009 went one level up and dropped the rest, so a Sensitive
  identifier tier under a translation of a transcript was never bleeped by the gate); an annotation whose
  time cannot be found is bleeped from the document's start to the end (``annotation.identifiers.spans``).
- ``frontdoor_append_only`` (0007), the trigger that lets a researcher delete a clip version and its
  decisions under a destruction permit, runs with its search path fixed to this schema. It looked up
  ``destruction_permit`` and ``audit_log`` through the caller's search path, where the caller's own
  temporary tables come first: a researcher could delete any decision or version with a permit and a
  ``destroyed`` entry of their own making in ``pg_temp``, leaving nothing in the log.
- ``frontdoor_audit_hash``, which the audit log's row-level security policy calls to check each new entry's
  hash, runs with its search path fixed to ``pg_catalog``: on a server where a role may create functions in
  some schema (PostgreSQL 14 and older let everyone create in ``public``), a presenter's own ``encode`` or
  ``sha256`` ahead of ``pg_catalog`` on their search path made any hash pass, and one such entry fails every
  later audit check, and with it every export.
- A review station appends a ``decision`` entry only for a decision row of its participant that says what
  the entry says, and a ``version_reviewed`` entry only about a version its participant is present in
  (``frontdoor_station_entry_ok``). Before, any payload passed: one entry naming a decision that does not
  exist made every later audit check fail, and with it every export, for good (the log is append-only).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# the query annotation.identifiers.spans runs on SQLite (a test keeps the two equal); end 2147483647 means
# "to the end" and is not shifted
SPANS_SQL = """
SELECT q.start_ms + q.origin AS start_ms,
       CASE WHEN q.end_ms = 2147483647 THEN q.end_ms ELSE q.end_ms + q.origin END AS end_ms
FROM (
WITH RECURSIVE up(id, document_id, origin, ts1, ts2, ref, depth) AS (
  SELECT a.id, a.document_id, d.media_origin_ms, a.ts1, a.ts2, a.ref, 0
  FROM document d
  JOIN tier t ON t.document_id = d.id AND t.tier_id = 'Sensitive identifier'
  JOIN annotation a ON a.tier_pk = t.id
  WHERE d.recording_id = {rec}
  UNION ALL
  SELECT up.id, up.document_id, up.origin, p.ts1, p.ts2, p.ref, up.depth + 1
  FROM up JOIN annotation p ON p.document_id = up.document_id AND p.ann_id = up.ref
  WHERE (up.ts1 IS NULL OR up.ts2 IS NULL) AND up.depth < 64
)
SELECT r.origin,
       COALESCE(s1.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s1.document_id AND x.pos < s1.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos DESC LIMIT 1), 0) AS start_ms,
       COALESCE(s2.time_ms,
         (SELECT x.time_ms FROM time_slot x WHERE x.document_id = s2.document_id AND x.pos > s2.pos
            AND x.time_ms IS NOT NULL ORDER BY x.pos LIMIT 1), 2147483647) AS end_ms
FROM up r
LEFT JOIN time_slot s1 ON s1.document_id = r.document_id AND s1.slot_id = r.ts1
LEFT JOIN time_slot s2 ON s2.document_id = r.document_id AND s2.slot_id = r.ts2
WHERE r.depth = (SELECT max(u.depth) FROM up u WHERE u.id = r.id)
) q
"""

_HEAD = (
    "id = (SELECT h.id + 1 FROM frontdoor_audit_head() h) "
    "AND prev_hash = (SELECT h.hash FROM frontdoor_audit_head() h) "
    "AND hash = frontdoor_audit_hash(prev_hash, id, at, actor, event, participant_id, clip_id, payload) "
)
_PRESENTER = (
    "OR ((SELECT frontdoor_kind()) = 'presenter' AND participant_id IS NULL "
    "AND event IN ('export_started', 'export', 'export_finished'))"
)
# 0005's policy, put back on a downgrade
_APPEND_0005 = (
    f"CREATE POLICY frontdoor_append ON audit_log FOR INSERT WITH CHECK ({_HEAD}"
    "AND ((SELECT frontdoor_kind()) IN ('owner', 'researcher') "
    "OR ((SELECT frontdoor_kind()) = 'reviewer' AND participant_id = (SELECT frontdoor_station()) "
    f"AND event IN ('decision', 'version_reviewed')) {_PRESENTER}))"
)
_APPEND = (
    f"CREATE POLICY frontdoor_append ON audit_log FOR INSERT WITH CHECK ({_HEAD}"
    "AND ((SELECT frontdoor_kind()) IN ('owner', 'researcher') "
    "OR ((SELECT frontdoor_kind()) = 'reviewer' AND event IN ('decision', 'version_reviewed') "
    f"AND frontdoor_station_entry_ok(event, participant_id, clip_id, payload)) {_PRESENTER}))"
)
ENTRY_OK = "frontdoor_station_entry_ok(text, integer, integer, text)"
AUDIT_HASH = "frontdoor_audit_hash(text, integer, text, text, text, integer, integer, text)"


def _schema() -> str:
    return str(op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one())


def _spans_function(schema: str, spans_sql: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION frontdoor_sensitive_spans(rec_id integer)
            RETURNS TABLE(start_ms integer, end_ms integer)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            SELECT q2.start_ms, q2.end_ms FROM ({spans_sql.format(rec="rec_id")}) q2
            WHERE frontdoor_kind() IN ('owner', 'researcher', 'presenter')
               OR (frontdoor_kind() = 'reviewer' AND rec_id IN (SELECT frontdoor_station_recordings()))
            $$"""


def _entry_ok(schema: str) -> str:
    """Whether an audit entry a review station appends says what the station did: a decision of its own
    participant exactly as stored (``consent.service.record_decision`` writes the row, then the entry), or
    that its participant was shown a version they are present in (``consent.station.review``)."""
    return f"""CREATE FUNCTION frontdoor_station_entry_ok(ev text, part integer, clip integer, body text)
        RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        DECLARE
          j jsonb;
        BEGIN
          IF frontdoor_kind() IS DISTINCT FROM 'reviewer' OR part IS NULL OR part IS DISTINCT FROM frontdoor_station()
          THEN
            RETURN false;
          END IF;
          j := body::jsonb;
          IF jsonb_typeof(j) IS DISTINCT FROM 'object' THEN
            RETURN false;
          END IF;
          IF ev = 'version_reviewed' THEN
            RETURN EXISTS (SELECT 1 FROM clip_version v JOIN presence p ON p.clip_version_id = v.id
                           WHERE v.clip_id = clip AND v.version_hash = j ->> 'version' AND p.participant_id = part);
          ELSIF ev = 'decision' THEN
            IF jsonb_typeof(j -> 'decision_id') IS DISTINCT FROM 'number' THEN
              RETURN false;
            END IF;
            RETURN EXISTS (SELECT 1 FROM decision d JOIN clip_version v ON v.id = d.clip_version_id
                           WHERE d.id = (j ->> 'decision_id')::integer AND d.participant_id = part
                             AND v.clip_id = clip AND v.version_hash = j ->> 'version'
                             AND d.scope = j ->> 'scope' AND d.decision = j ->> 'decision'
                             AND d.conditions::jsonb = j -> 'conditions');
          END IF;
          RETURN false;
        EXCEPTION WHEN data_exception THEN  -- not JSON, or a decision id that is not an integer
          RETURN false;
        END $$"""


def _module(name: str) -> Any:
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"frontdoor_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _schema()
    op.execute(_spans_function(schema, SPANS_SQL))
    op.execute(f"ALTER FUNCTION frontdoor_append_only() SET search_path = {schema}, pg_temp")
    op.execute(f"ALTER FUNCTION {AUDIT_HASH} SET search_path = pg_catalog, pg_temp")
    op.execute(_entry_ok(schema))
    op.execute("DROP POLICY frontdoor_append ON audit_log")
    op.execute(_APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _schema()
    op.execute("DROP POLICY frontdoor_append ON audit_log")
    op.execute(_APPEND_0005)
    op.execute(f"DROP FUNCTION {ENTRY_OK}")
    op.execute("ALTER FUNCTION frontdoor_append_only() RESET search_path")
    op.execute(f"ALTER FUNCTION {AUDIT_HASH} RESET search_path")
    op.execute(_spans_function(schema, _module("0009_media_origin.py").SPANS_SQL))
