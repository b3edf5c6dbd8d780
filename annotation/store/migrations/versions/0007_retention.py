"""retention: per-project retention periods, and an audited way to destroy clip versions and decisions
(destruction permits checked by the append-only triggers)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

Clip versions and decisions are append-only (0002). When their time is up they must go, so a DELETE is let
through for one version and its decisions only while a ``destruction_permit`` row for that version exists
that names a ``destroyed`` audit entry about its clip: ``consent.retention.policy.destroy`` writes the entry, then
the permit, deletes, and deletes the permit, all in one transaction. Every other UPDATE or DELETE is refused
as before; the audit log itself stays append-only without exception. On PostgreSQL the permit must also
belong to the deleting transaction (``txid``, set by the database) and the deleter be the owner or a
researcher; only they may read or write permits and policies (row-level security here, grants in
``consent.server.roles``). The database's own audit check (``frontdoor_audit_problem``) learns that decisions
recorded as destroyed are gone on purpose.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_PERMITTED = {
    "clip_version": (
        "SELECT 1 FROM destruction_permit p JOIN audit_log a ON a.id = p.audit_id "
        "WHERE p.kind = 'clip_version' AND p.row_id = OLD.id AND a.event = 'destroyed' AND a.clip_id = OLD.clip_id"
    ),
    "decision": (
        "SELECT 1 FROM destruction_permit p JOIN audit_log a ON a.id = p.audit_id "
        "WHERE p.kind = 'clip_version' AND p.row_id = OLD.clip_version_id AND a.event = 'destroyed' "
        "AND a.clip_id = (SELECT v.clip_id FROM clip_version v WHERE v.id = OLD.clip_version_id)"
    ),
}

_PG_APPEND_ONLY = """CREATE FUNCTION frontdoor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      v integer;
      c integer;
    BEGIN
      -- only a researcher's (or the owner's) delete is even considered: nobody else reads permits
      IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ('clip_version', 'decision')
         AND frontdoor_kind() IN ('owner', 'researcher') THEN
        IF TG_TABLE_NAME = 'clip_version' THEN
          v := OLD.id;
          c := (to_jsonb(OLD) ->> 'clip_id')::integer;
        ELSE
          v := (to_jsonb(OLD) ->> 'clip_version_id')::integer;
          c := (SELECT w.clip_id FROM clip_version w WHERE w.id = v);
        END IF;
        IF EXISTS (
            SELECT 1 FROM destruction_permit p JOIN audit_log a ON a.id = p.audit_id
            WHERE p.kind = 'clip_version' AND p.row_id = v AND p.txid = txid_current()
              AND a.event = 'destroyed' AND a.clip_id = c) THEN
          RETURN OLD;
        END IF;
      END IF;
      RAISE EXCEPTION '% rows are never changed (refused: %)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
    END $$"""

_FULL = "(SELECT frontdoor_kind()) IN ('owner', 'researcher')"


def _audit_problem(schema: str) -> str:
    """0005's check with destruction understood: a decision listed in a ``destroyed`` entry is not missing,
    and one that is still stored although an entry says it was destroyed is a problem."""
    genesis = "0" * 64
    definer = f"SECURITY DEFINER SET search_path = {schema}, pg_temp"
    return f"""CREATE OR REPLACE FUNCTION frontdoor_audit_problem(OUT entry_id integer, OUT message text)
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
                       coalesce(lag(a.hash) OVER (ORDER BY a.id), '{genesis}') AS before
                FROM audit_log a) e
          WHERE e.id <> e.n OR e.prev_hash <> e.before OR e.hash <> e.want
          ORDER BY e.id LIMIT 1;
          IF message IS NOT NULL THEN RETURN; END IF;
          -- every decision as its entry recorded it (the latest entry for a decision id counts), unless an
          -- entry after that one records it destroyed: then it should be gone
          SELECT coalesce(z.entry, l.entry, 0), CASE
              WHEN z.entry IS NOT NULL
                THEN format('decision %s: recorded as destroyed in audit entry %s but still stored', d.id, z.entry)
              WHEN l.entry IS NULL THEN format('decision %s: has no audit entry (inserted outside Frontdoor)', d.id)
              ELSE format('decision %s: differs from audit entry %s (changed outside Frontdoor)', d.id, l.entry)
            END
            INTO entry_id, message
          FROM decision d LEFT JOIN clip_version v ON v.id = d.clip_version_id
          LEFT JOIN LATERAL (
            SELECT a.id AS entry, a.participant_id, a.clip_id, a.payload::jsonb AS body FROM audit_log a
            WHERE a.event = 'decision' AND (a.payload::jsonb ->> 'decision_id')::integer = d.id
            ORDER BY a.id DESC LIMIT 1) l ON true
          LEFT JOIN LATERAL (
            SELECT b.id AS entry FROM audit_log b
            WHERE b.event = 'destroyed' AND b.id > coalesce(l.entry, 0)
              AND b.payload::jsonb -> 'decision_ids' @> to_jsonb(d.id)
            ORDER BY b.id DESC LIMIT 1) z ON true
          WHERE z.entry IS NOT NULL
             OR l.entry IS NULL
             OR l.body ->> 'version' IS DISTINCT FROM v.version_hash
             OR l.clip_id IS DISTINCT FROM v.clip_id
             OR l.body ->> 'scope' IS DISTINCT FROM d.scope
             OR l.body ->> 'decision' IS DISTINCT FROM d.decision
             OR l.body -> 'conditions' IS DISTINCT FROM d.conditions::jsonb
             OR l.participant_id IS DISTINCT FROM d.participant_id
          ORDER BY d.id LIMIT 1;
          IF message IS NOT NULL THEN RETURN; END IF;
          -- decisions recorded but missing, unless destroyed after their latest entry
          SELECT x.entry, format('decision %s: recorded in audit entry %s but missing', x.decision_id, x.entry)
            INTO entry_id, message
          FROM (SELECT max(a.id) AS entry, (a.payload::jsonb ->> 'decision_id')::integer AS decision_id
                FROM audit_log a WHERE a.event = 'decision' GROUP BY 2) x
          WHERE NOT EXISTS (SELECT 1 FROM decision d WHERE d.id = x.decision_id)
            AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.event = 'destroyed' AND b.id > x.entry
                            AND b.payload::jsonb -> 'decision_ids' @> to_jsonb(x.decision_id))
          ORDER BY x.decision_id LIMIT 1;
          IF message IS NOT NULL THEN RETURN; END IF;
          SELECT 0, format('participant %s: withdrawal does not match the audit log (changed outside Frontdoor)',
                           p.id)
            INTO entry_id, message
          FROM participant p
          WHERE (p.withdrawn_at IS NOT NULL) <> EXISTS (
            SELECT 1 FROM audit_log a WHERE a.event = 'withdrawal' AND a.participant_id = p.id)
          ORDER BY p.id LIMIT 1;
        END $$"""


def _previous_audit_problem(schema: str) -> str:
    """0005's own definition of the check, to put back on downgrade."""
    path = Path(__file__).with_name("0005_roles.py")
    spec = importlib.util.spec_from_file_location("frontdoor_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for statement in module._functions(schema):
        if "FUNCTION frontdoor_audit_problem(" in statement:
            return str(statement).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    raise AssertionError("0005 defines frontdoor_audit_problem")


def upgrade() -> None:
    op.create_table(
        "retention_policy",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("recordings", sa.String(length=10), nullable=True),
        sa.Column("clips", sa.String(length=10), nullable=True),
        sa.Column("exports", sa.String(length=10), nullable=True),
        sa.Column("documents", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_retention_policy_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_retention_policy")),
    )
    op.create_table(
        "destruction_permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_log.id"], name=op.f("fk_destruction_permit_audit_id_audit_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_permit")),
    )
    with op.batch_alter_table("destruction_permit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_destruction_permit_row_id"), ["row_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table, permitted in _SQLITE_PERMITTED.items():
            op.execute(f"DROP TRIGGER {table}_no_delete")
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN NOT EXISTS ({permitted}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )
    elif bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
        op.execute("ALTER TABLE destruction_permit ALTER COLUMN txid SET DEFAULT txid_current()")
        op.execute(_PG_APPEND_ONLY)
        for table in ("clip_version", "decision"):
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION frontdoor_append_only()"
            )
        for table in ("retention_policy", "destruction_permit"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY frontdoor_rows ON retention_policy USING ({_FULL})")
        # a permit is the researcher's, for this transaction only: a leftover one is no use to anyone later
        op.execute(
            f"CREATE POLICY frontdoor_rows ON destruction_permit USING ({_FULL}) "
            f"WITH CHECK ({_FULL} AND txid = txid_current())"
        )
        op.execute(_audit_problem(schema))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in _SQLITE_PERMITTED:
            op.execute(f"DROP TRIGGER {table}_no_delete")
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )
    elif bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
        op.execute(_previous_audit_problem(schema))
        for table in ("retention_policy", "destruction_permit"):
            op.execute(f"DROP POLICY frontdoor_rows ON {table}")
        for table in ("clip_version", "decision"):
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION frontdoor_refuse_change()"
            )
        op.execute("DROP FUNCTION frontdoor_append_only()")
    with op.batch_alter_table("destruction_permit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destruction_permit_row_id"))
    op.drop_table("destruction_permit")
    op.drop_table("retention_policy")
