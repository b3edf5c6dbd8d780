"""server anchors: the audit chain's heads kept by the PostgreSQL server in a table no application role may
change, and acknowledged rollbacks there for every role to read

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:00:00

``audit_anchor`` holds one row per audit entry appended (``kind`` 'head': entry id and hash), written in the
same transaction as the entry (``consent.server_anchors``), and one row per acknowledged rollback (``kind``
'rollback_acknowledged': the acknowledging entry, the entry the log goes on from and the newest anchored
entry it lost). On PostgreSQL:

- a BEFORE INSERT trigger (SECURITY DEFINER, search path fixed) fills in who wrote the row
  (``session_user``) and when (the server's clock), and refuses a row whose entry is not in the log with
  that hash, or an acknowledgement row that does not say what its ``rollback_acknowledged`` entry says: no
  role can plant an anchor that makes every later check (and every export) fail, or excuse a rollback
  nobody acknowledged in the log;
- UPDATE, DELETE and TRUNCATE are refused by the audit log's own trigger function
  (``frontdoor_refuse_change``), and no group role is granted them (``consent.server.roles``; this revision
  also grants INSERT, and SELECT where the kind reads it, to the groups already made, so their writes go on
  working before ``frontdoor db roles`` is run again). Only the tables' owner can go around the triggers.

On SQLite the table exists with triggers refusing UPDATE and DELETE, and stays empty: whoever has the file has
the table, so the anchor log outside the store's folder (``consent.anchors``) is the outside copy there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "audit_anchor"
# kind -> privileges on audit_anchor (and whether it draws ids from its sequence), as consent.server.roles
# grants them at this revision
_GRANTS = {
    "researcher": ("SELECT, INSERT", True),
    "reviewer": ("INSERT", True),
    "presenter": ("SELECT, INSERT", True),
    "auditor": ("SELECT", False),
}


def _schema() -> str:
    return str(op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one())


def _insert_check(schema: str) -> str:
    return f"""CREATE FUNCTION frontdoor_anchor_insert() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        DECLARE
          who text := frontdoor_kind();
          e record;
          j jsonb;
        BEGIN
          NEW.written_by := session_user;
          NEW.written_at := now();
          IF who IS NULL OR who = 'auditor' THEN
            RAISE EXCEPTION 'permission denied for table audit_anchor (% appends no audit entries)', session_user
              USING ERRCODE = 'insufficient_privilege';
          END IF;
          SELECT a.hash, a.event, a.payload INTO e FROM audit_log a WHERE a.id = NEW.entry_id;
          IF NOT FOUND OR e.hash IS DISTINCT FROM NEW.hash THEN
            RAISE EXCEPTION 'audit_anchor: audit entry % with that hash is not in the log', NEW.entry_id
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF NEW.kind = 'head' AND NEW.back_to IS NULL AND NEW.lost_to IS NULL THEN
            RETURN NEW;
          END IF;
          IF NEW.kind = 'rollback_acknowledged' AND e.event = 'rollback_acknowledged' THEN
            j := e.payload::jsonb;
            IF (j ->> 'back_to')::integer IS NOT DISTINCT FROM NEW.back_to
               AND (j ->> 'lost_to')::integer IS NOT DISTINCT FROM NEW.lost_to THEN
              RETURN NEW;
            END IF;
          END IF;
          RAISE EXCEPTION 'audit_anchor: the row does not say what audit entry % says', NEW.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
        EXCEPTION WHEN data_exception THEN  -- a payload that is not JSON, or numbers that are not integers
          RAISE EXCEPTION 'audit_anchor: the row does not say what audit entry % says', NEW.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
        END $$"""


def _grant_existing_groups(schema: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT r.role_name, r.kind FROM db_role r JOIN pg_roles g ON g.rolname = r.role_name")
    ).all()
    seq = bind.execute(sa.text(f"SELECT pg_get_serial_sequence('{schema}.{TABLE}', 'id')")).scalar()
    for name, kind in rows:
        if kind not in _GRANTS:
            continue
        privileges, uses_ids = _GRANTS[kind]
        role = '"' + str(name).replace('"', '""') + '"'
        op.execute(f"GRANT {privileges} ON {schema}.{TABLE} TO {role}")
        if uses_ids and seq:
            op.execute(f"GRANT USAGE ON SEQUENCE {seq} TO {role}")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("back_to", sa.Integer(), nullable=True),
        sa.Column("lost_to", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchor")),
    )
    op.create_index(op.f("ix_audit_anchor_entry_id"), TABLE, ["entry_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are never changed'); END"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are never deleted'); END"
        )
        return
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _schema()
    op.execute(_insert_check(schema))
    op.execute(
        f"CREATE TRIGGER {TABLE}_insert BEFORE INSERT ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION frontdoor_anchor_insert()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION frontdoor_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontdoor_refuse_change()"
    )
    _grant_existing_groups(schema)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER {TABLE}_no_update")
        op.execute(f"DROP TRIGGER {TABLE}_no_delete")
    op.drop_index(op.f("ix_audit_anchor_entry_id"), table_name=TABLE)
    op.drop_table(TABLE)  # on PostgreSQL its triggers go with it
    if dialect == "postgresql":
        op.execute("DROP FUNCTION frontdoor_anchor_insert()")
