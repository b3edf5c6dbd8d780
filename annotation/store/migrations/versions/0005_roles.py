"""roles on a shared PostgreSQL server: the group roles Frontdoor made for this schema and the participant
each review-station login is bound to (both dialects, unused on SQLite); on PostgreSQL the functions and
row-level security policies that make the database itself enforce what each role may see and write

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:00:00

What each kind of role may do is described in ``consent/server/access.py`` (the functions and policies here) and
``consent/server/roles.py`` (the grants, which depend on the role prefix and are made by ``frontdoor db roles``).

Who is calling is ``session_user`` (the login role; inside a SECURITY DEFINER function ``current_user``
is the owner): ``frontdoor_kind()`` names what it is, by its membership of a group role recorded in
``db_role``. The tables' owner (and a superuser) is 'owner' and is not subject to row-level security; an
unknown role is NULL and sees no row. The functions are SECURITY DEFINER with the search path fixed to
this schema, so each test schema (and each project database) has its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# consent.scopes.SCOPES at the time of this revision, narrowest first (a test keeps them equal)
SCOPES = ("research_team", "internal_training", "external_seminar", "publication")
# the kinds a login role can be, most restricted first: a role in two groups is the more restricted one
KINDS = ("reviewer", "auditor", "presenter", "researcher")

_FULL = "(SELECT frontdoor_kind()) IN ('owner', 'researcher', 'presenter', 'auditor')"
_STATION = "(SELECT frontdoor_kind()) = 'reviewer'"


def _visible(station_rows: str) -> str:
    """Every row for the owner, researchers, presenters and auditors (their grants limit the tables and
    columns); for a review station only ``station_rows``; for an unknown role nothing."""
    return f"({_FULL} OR ({_STATION} AND {station_rows}))"


# table -> the rows a review station sees
_STATION_ROWS = {
    "project": "id = (SELECT frontdoor_station_project())",
    "consent_policy": "project_id = (SELECT frontdoor_station_project())",
    "participant": "id = (SELECT frontdoor_station())",
    "appearance": "participant_id = (SELECT frontdoor_station())",
    "recording": "id IN (SELECT frontdoor_station_recordings())",
    "clip": "id IN (SELECT frontdoor_station_clips())",
    "clip_version": "clip_id IN (SELECT frontdoor_station_clips())",
    "presence": "participant_id = (SELECT frontdoor_station())",
    "export": "false",
    "export_item": "false",
}


def _functions(schema: str) -> list[str]:
    definer = f"SECURITY DEFINER SET search_path = {schema}, pg_temp"
    ranks = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SCOPES))
    kinds = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KINDS))
    return [
        f"""CREATE FUNCTION frontdoor_kind() RETURNS text LANGUAGE sql STABLE {definer} AS $$
            SELECT CASE
              WHEN pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = 'clip'::regclass), 'MEMBER')
                THEN 'owner'
              ELSE (
                WITH RECURSIVE mine(oid) AS (
                  SELECT oid FROM pg_roles WHERE rolname = session_user
                  UNION SELECT m.roleid FROM pg_auth_members m JOIN mine ON m.member = mine.oid
                )
                SELECT r.kind FROM db_role r JOIN pg_roles g ON g.rolname = r.role_name JOIN mine ON mine.oid = g.oid
                ORDER BY CASE r.kind {kinds} END LIMIT 1)
            END $$""",
        f"""CREATE FUNCTION frontdoor_station() RETURNS integer LANGUAGE sql STABLE {definer} AS $$
            SELECT b.participant_id FROM station_binding b
            WHERE b.role_name = session_user AND frontdoor_kind() = 'reviewer' $$""",
        f"""CREATE FUNCTION frontdoor_station_project() RETURNS integer LANGUAGE sql STABLE {definer} AS $$
            SELECT project_id FROM participant WHERE id = frontdoor_station() $$""",
        f"""CREATE FUNCTION frontdoor_station_clips() RETURNS SETOF integer LANGUAGE sql STABLE {definer} AS $$
            SELECT DISTINCT v.clip_id FROM clip_version v JOIN presence p ON p.clip_version_id = v.id
            WHERE p.participant_id = frontdoor_station() $$""",
        f"""CREATE FUNCTION frontdoor_station_recordings() RETURNS SETOF integer LANGUAGE sql STABLE {definer} AS $$
            SELECT DISTINCT recording_id FROM clip WHERE id IN (SELECT frontdoor_station_clips()) $$""",
        f"""CREATE FUNCTION frontdoor_is_current(v_id integer) RETURNS boolean LANGUAGE sql STABLE {definer} AS $$
            SELECT coalesce((SELECT v.number = (SELECT max(w.number) FROM clip_version w WHERE w.clip_id = v.clip_id)
                             FROM clip_version v WHERE v.id = v_id), false) $$""",
        # a station records decisions only for its participant, only on the current version of a clip the
        # participant is present in, and not once they have withdrawn
        f"""CREATE FUNCTION frontdoor_station_may_decide(v_id integer) RETURNS boolean LANGUAGE sql STABLE {definer}
            AS $$
            SELECT frontdoor_is_current(v_id)
               AND EXISTS (SELECT 1 FROM presence p JOIN participant pa ON pa.id = p.participant_id
                           WHERE p.clip_version_id = v_id AND p.participant_id = frontdoor_station()
                             AND pa.withdrawn_at IS NULL) $$""",
        f"""CREATE FUNCTION frontdoor_scope_rank(scope text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE scope {ranks} END $$""",
        # the grant each participant present relies on for a use, when their consent covers it (the part
        # of the rule in consent.service.evaluate that needs decisions; conditions are checked by the gate)
        f"""CREATE FUNCTION frontdoor_grants(v_id integer, want text)
            RETURNS TABLE(participant_id integer, decision_id integer, conditions json)
            LANGUAGE sql STABLE {definer} AS $$
            WITH cur AS (
              SELECT v_id AS id WHERE frontdoor_kind() IN ('owner', 'researcher', 'presenter')
                AND frontdoor_is_current(v_id) AND frontdoor_scope_rank(want) IS NOT NULL
            ), latest AS (
              SELECT DISTINCT ON (d.participant_id, d.scope) d.id, d.participant_id, d.scope, d.decision, d.conditions
              FROM decision d JOIN cur ON d.clip_version_id = cur.id
              ORDER BY d.participant_id, d.scope, d.id DESC
            )
            SELECT p.participant_id, g.id, g.conditions
            FROM presence p JOIN cur ON p.clip_version_id = cur.id
            JOIN participant pa ON pa.id = p.participant_id AND pa.withdrawn_at IS NULL
            CROSS JOIN LATERAL (
              SELECT l.id, l.conditions FROM latest l
              WHERE l.participant_id = p.participant_id AND l.decision = 'granted'
                AND frontdoor_scope_rank(l.scope) >= frontdoor_scope_rank(want)
              ORDER BY frontdoor_scope_rank(l.scope) LIMIT 1
            ) g
            WHERE NOT EXISTS (
              SELECT 1 FROM latest l WHERE l.participant_id = p.participant_id AND l.decision = 'withheld'
                AND frontdoor_scope_rank(l.scope) <= frontdoor_scope_rank(want))
            ORDER BY p.participant_id $$""",
        # the recording file a clip version is rendered from, to whoever may render it: researchers always;
        # a station for the current versions its participant is present in; a presenter only when everyone
        # present has granted the use (``want``) on this current version
        f"""CREATE FUNCTION frontdoor_clip_source(v_id integer, want text) RETURNS text
            LANGUAGE plpgsql STABLE {definer} AS $$
            DECLARE
              kind text := frontdoor_kind();
              path text;
              present integer;
            BEGIN
              SELECT r.abs_path INTO path FROM clip_version v JOIN clip c ON c.id = v.clip_id
                JOIN recording r ON r.id = c.recording_id WHERE v.id = v_id;
              IF kind IN ('owner', 'researcher') THEN
                RETURN path;
              ELSIF kind = 'reviewer' THEN
                IF frontdoor_station_may_decide(v_id) THEN RETURN path; END IF;
              ELSIF kind = 'presenter' THEN
                SELECT count(*) INTO present FROM presence WHERE clip_version_id = v_id;
                IF present > 0 AND present = (SELECT count(*) FROM frontdoor_grants(v_id, want)) THEN
                  RETURN path;
                END IF;
              END IF;
              RETURN NULL;
            END $$""",
        """CREATE FUNCTION frontdoor_audit_hash(prev text, id integer, at text, actor text, event text,
                                                 participant integer, clip integer, payload text)
            RETURNS text LANGUAGE sql IMMUTABLE AS $$
            SELECT encode(sha256(convert_to(
              prev || E'\\n' || id::text || E'\\n' || at || E'\\n' || actor || E'\\n' || event || E'\\n'
              || coalesce(nullif(participant, 0)::text, '') || E'\\n' || coalesce(nullif(clip, 0)::text, '')
              || E'\\n' || payload, 'UTF8')), 'hex') $$""",
        f"""CREATE FUNCTION frontdoor_audit_head(OUT id integer, OUT hash text) LANGUAGE sql STABLE {definer} AS $$
            SELECT coalesce(max(a.id), 0),
                   coalesce((SELECT b.hash FROM audit_log b ORDER BY b.id DESC LIMIT 1), '{GENESIS}')
            FROM audit_log a $$""",
        # consent.audit.verify and the decision and withdrawal parts of consent.audit.cross_check, for the
        # roles that may not read decisions (presenter) or anything but the log (auditor)
        f"""CREATE FUNCTION frontdoor_audit_problem(OUT entry_id integer, OUT message text)
            LANGUAGE plpgsql STABLE {definer} AS $$
            BEGIN
              IF frontdoor_kind() IS NULL OR frontdoor_kind() = 'reviewer' THEN
                RAISE EXCEPTION 'permission denied for function frontdoor_audit_problem'
                  USING ERRCODE = 'insufficient_privilege';
              END IF;
              SELECT e.id, CASE
                  WHEN e.id <> e.n THEN format('audit entry %s: entry %s before it is missing', e.id, e.n)
                  WHEN e.prev_hash <> e.before THEN format(
                    'audit entry %s: does not follow entry %s (deleted, altered or inserted out of order)',
                    e.id, e.id - 1)
                  ELSE format('audit entry %s: its contents do not match its hash (altered outside Frontdoor)', e.id)
                END
                INTO entry_id, message
              FROM (SELECT a.id, a.prev_hash, a.hash,
                           frontdoor_audit_hash(a.prev_hash, a.id, a.at, a.actor, a.event, a.participant_id,
                                                a.clip_id, a.payload) AS want,
                           row_number() OVER (ORDER BY a.id) AS n,
                           coalesce(lag(a.hash) OVER (ORDER BY a.id), '{GENESIS}') AS before
                    FROM audit_log a) e
              WHERE e.id <> e.n OR e.prev_hash <> e.before OR e.hash <> e.want
              ORDER BY e.id LIMIT 1;
              IF message IS NOT NULL THEN RETURN; END IF;
              -- every decision as its entry recorded it (the latest entry for a decision id counts)
              SELECT coalesce(l.entry, 0), CASE WHEN l.entry IS NULL
                  THEN format('decision %s: has no audit entry (inserted outside Frontdoor)', d.id)
                  ELSE format('decision %s: differs from audit entry %s (changed outside Frontdoor)', d.id, l.entry)
                END
                INTO entry_id, message
              FROM decision d LEFT JOIN clip_version v ON v.id = d.clip_version_id
              LEFT JOIN LATERAL (
                SELECT a.id AS entry, a.participant_id, a.clip_id, a.payload::jsonb AS body FROM audit_log a
                WHERE a.event = 'decision' AND (a.payload::jsonb ->> 'decision_id')::integer = d.id
                ORDER BY a.id DESC LIMIT 1) l ON true
              WHERE l.entry IS NULL
                 OR l.body ->> 'version' IS DISTINCT FROM v.version_hash
                 OR l.clip_id IS DISTINCT FROM v.clip_id
                 OR l.body ->> 'scope' IS DISTINCT FROM d.scope
                 OR l.body ->> 'decision' IS DISTINCT FROM d.decision
                 OR l.body -> 'conditions' IS DISTINCT FROM d.conditions::jsonb
                 OR l.participant_id IS DISTINCT FROM d.participant_id
              ORDER BY d.id LIMIT 1;
              IF message IS NOT NULL THEN RETURN; END IF;
              SELECT x.entry, format('decision %s: recorded in audit entry %s but missing', x.decision_id, x.entry)
                INTO entry_id, message
              FROM (SELECT max(a.id) AS entry, (a.payload::jsonb ->> 'decision_id')::integer AS decision_id
                    FROM audit_log a WHERE a.event = 'decision' GROUP BY 2) x
              WHERE NOT EXISTS (SELECT 1 FROM decision d WHERE d.id = x.decision_id)
              ORDER BY x.decision_id LIMIT 1;
              IF message IS NOT NULL THEN RETURN; END IF;
              SELECT 0, format('participant %s: withdrawal does not match the audit log (changed outside Frontdoor)',
                               p.id)
                INTO entry_id, message
              FROM participant p
              WHERE (p.withdrawn_at IS NOT NULL) <> EXISTS (
                SELECT 1 FROM audit_log a WHERE a.event = 'withdrawal' AND a.participant_id = p.id)
              ORDER BY p.id LIMIT 1;
            END $$""",
    ]


_FUNCTION_NAMES = (
    "frontdoor_audit_problem()",
    "frontdoor_audit_head()",
    "frontdoor_audit_hash(text, integer, text, text, text, integer, integer, text)",
    "frontdoor_clip_source(integer, text)",
    "frontdoor_grants(integer, text)",
    "frontdoor_scope_rank(text)",
    "frontdoor_station_may_decide(integer)",
    "frontdoor_is_current(integer)",
    "frontdoor_station_recordings()",
    "frontdoor_station_clips()",
    "frontdoor_station_project()",
    "frontdoor_station()",
    "frontdoor_kind()",
)


def _policies() -> list[str]:
    out = []
    for table, rows in _STATION_ROWS.items():
        out.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        out.append(f"CREATE POLICY frontdoor_rows ON {table} USING {_visible(rows)}")
    # decisions: a station sees and records only its own participant's, in the app, on a version it may
    # decide on; researchers record any (presenters and auditors have no grant to write them at all)
    out += [
        "ALTER TABLE decision ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY frontdoor_rows ON decision USING {_visible('participant_id = (SELECT frontdoor_station())')} "
        "WITH CHECK ((SELECT frontdoor_kind()) IN ('owner', 'researcher') OR ("
        f"{_STATION} AND participant_id = (SELECT frontdoor_station()) AND method = 'in_app' "
        "AND frontdoor_station_may_decide(clip_version_id)))",
    ]
    # the log: everyone registered reads it (column grants keep stations and presenters to ids and hashes,
    # which audit.append needs to find the head); every entry appended must be the next link with the
    # right hash, and stations and presenters append only the events their work makes
    out += [
        "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY frontdoor_read ON audit_log FOR SELECT USING ((SELECT frontdoor_kind()) IS NOT NULL)",
        "CREATE POLICY frontdoor_append ON audit_log FOR INSERT WITH CHECK ("
        "id = (SELECT h.id + 1 FROM frontdoor_audit_head() h) "
        "AND prev_hash = (SELECT h.hash FROM frontdoor_audit_head() h) "
        "AND hash = frontdoor_audit_hash(prev_hash, id, at, actor, event, participant_id, clip_id, payload) "
        "AND ((SELECT frontdoor_kind()) IN ('owner', 'researcher') "
        f"OR ({_STATION} AND participant_id = (SELECT frontdoor_station()) "
        "AND event IN ('decision', 'version_reviewed')) "
        "OR ((SELECT frontdoor_kind()) = 'presenter' AND participant_id IS NULL "
        "AND event IN ('export_started', 'export', 'export_finished'))))",
        # researchers reach the rows, so the append-only triggers (not an empty match) refuse the change
        "CREATE POLICY frontdoor_change ON audit_log FOR UPDATE "
        "USING ((SELECT frontdoor_kind()) IN ('owner', 'researcher'))",
        "CREATE POLICY frontdoor_remove ON audit_log FOR DELETE "
        "USING ((SELECT frontdoor_kind()) IN ('owner', 'researcher'))",
    ]
    return out


def upgrade() -> None:
    op.create_table(
        "db_role",
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("role_name", name=op.f("pk_db_role")),
    )
    op.create_table(
        "station_binding",
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_station_binding_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_name", name=op.f("pk_station_binding")),
    )
    with op.batch_alter_table("station_binding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_station_binding_participant_id"), ["participant_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    for statement in _functions(schema) + _policies():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*_STATION_ROWS, "decision"):
            op.execute(f"DROP POLICY frontdoor_rows ON {table}")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for name in ("frontdoor_read", "frontdoor_append", "frontdoor_change", "frontdoor_remove"):
            op.execute(f"DROP POLICY {name} ON audit_log")
        op.execute("ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY")
        for fn in _FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION {fn}")
    with op.batch_alter_table("station_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_binding_participant_id"))
    op.drop_table("station_binding")
    op.drop_table("db_role")
