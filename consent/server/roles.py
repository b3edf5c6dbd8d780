"""Roles on a shared PostgreSQL server: who may read and write what, enforced by the database.

A team that shares one PostgreSQL server gives each person and each review station a login role of its
own, a member of one of four group roles (NOLOGIN) that ``create_roles`` makes for a schema,
``<prefix>_researcher``, ``<prefix>_reviewer``, ``<prefix>_presenter`` and ``<prefix>_auditor``:

==============  ===================================================================================
researcher      reads and writes every table (the append-only triggers still refuse to change or
                delete audit entries, clip versions and decisions, except a clip version and its
                decisions destroyed under a permit when their time is up); the only role that sets
                retention policies and destroys (``consent.retention.destruction``); cannot change the roles
reviewer        a review station bound to one participant (``station_binding``): sees that participant's
                row, the clips they are in (every version, so the current one is really the current one),
                their own presence and decisions, their project and its review passphrase hash, and the
                recordings' names and hashes but never their paths; records decisions only for that
                participant, in the app, on the current version of a clip they are in, until they withdraw;
                appends only 'decision' and 'version_reviewed' audit entries about them. It cannot make a
                clip version, so a condition that changes the edit ("blur me") is refused at a station
                (the researcher records it)
presenter       plans and runs exports: reads clips, versions, presence, pseudonyms (not real names,
                contacts or withdrawal reasons), recordings' names and hashes, exports; writes exports,
                export items and their audit entries. It cannot read or write decisions: the grant each
                participant's consent rests on comes from ``frontdoor_grants(version, scope)``, and a
                recording's path from ``frontdoor_clip_source(version, scope)`` only when everyone present
                in that current version has granted the use
auditor         reads the audit log and the server's anchors (and asks the database to check it); nothing
                else
==============  ===================================================================================

``audit_anchor`` (migration 0012, ``consent.server_anchors``) keeps each audit entry's head on the server:
researchers, stations and presenters may add rows (the database checks each against the log), nobody may
change or delete one (no grant for it, and the triggers refuse it), researchers, presenters and auditors
read them.

Where each rule is enforced:

- **Grants** (per table, and per column for ``participant``, ``recording`` and ``audit_log``) say which
  tables and columns a group may read or write at all. They depend on the prefix and the schema, so they
  are made here (``frontdoor db roles``, idempotent: run it again after ``db upgrade`` adds tables).
- **Row-level security** (migration 0005, on project, consent_policy, participant, appearance,
  recording, clip, clip_version, presence, decision, export, export_item, audit_log) says which rows:
  everything for researchers, presenters and auditors (their grants narrow it), the bound participant's
  rows for a station, nothing for a role the database does not know. New rows are checked too: a
  station's decision must be for its participant on a version it may decide on; every audit entry must be
  the next link of the chain with the right hash. Migration 0007 adds ``retention_policy`` and
  ``destruction_permit``, visible to researchers only (the other groups get no grant on them either); a
  permit is accepted only from a researcher and for the transaction writing it, and the append-only
  trigger lets a version and its decisions be deleted only by a researcher holding one.
- **SECURITY DEFINER functions** (migration 0005) answer what a role may know but not read: what kind the
  caller is, a recording's path for a version it may render, the grants a presenter's export relies on,
  the audit check for those who cannot read the decisions (``consent.server.access`` calls them).
- The **Python rules** (``consent.usability``, the gate) still decide everything they decided before; the
  database makes sure that a role's credentials, used with any client, cannot do more than its job.

The tables' owner (the role that runs ``frontdoor db upgrade``, and ``db roles``, which also needs
CREATEROLE) is not subject to row-level security: keep it for administration, not daily work.

Roles are cluster-wide, grants and bindings belong to one schema: a login role is for one store (its
``search_path`` is set to the store's schema in this database). Passwords are sent to the server only as a
SCRAM-SHA-256 verifier computed here, never in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from annotation.store import Store
from consent.errors import InvalidRequest, UnknownThing
from consent.role_kinds import DEFAULT_PREFIX, KINDS
from consent.rows import participant as find_participant

MIN_PASSWORD = 12
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_PREFIX = 40  # + "_researcher" stays within PostgreSQL's 63-character names

# columns that are not anyone's secret: a recording's name and fingerprint, never where the file is
_RECORDING_COLUMNS = ("id", "project_id", "name", "sha256", "mime_type", "duration_ms", "fps", "created_at")
_PSEUDONYM_COLUMNS = ("id", "project_id", "pseudonym", "created_at")
_HEAD_COLUMNS = ("id", "hash")  # what consent.audit.append reads to find the head of the chain
_ADMIN_TABLES = ("db_role", "station_binding", "alembic_version")

# kind -> (privileges, table, columns or None) beyond USAGE on the schema and SELECT on alembic_version
_GRANTS: dict[str, tuple[tuple[str, str, tuple[str, ...] | None], ...]] = {
    "reviewer": (
        ("SELECT", "project", None),
        ("SELECT", "consent_policy", None),
        ("SELECT", "participant", None),
        ("SELECT", "recording", _RECORDING_COLUMNS),
        ("SELECT", "clip", None),
        ("SELECT", "clip_version", None),
        ("SELECT", "presence", None),
        ("SELECT, INSERT", "decision", None),
        ("SELECT", "audit_log", _HEAD_COLUMNS),
        ("INSERT", "audit_log", None),
        ("INSERT", "audit_anchor", None),  # each entry's head, kept by the server (never changed or deleted)
        ("SELECT, UPDATE", "consent_lock", None),
    ),
    "presenter": (
        ("SELECT", "project", None),
        ("SELECT", "participant", _PSEUDONYM_COLUMNS),
        ("SELECT", "recording", _RECORDING_COLUMNS),
        ("SELECT", "clip", None),
        ("SELECT", "clip_version", None),
        ("SELECT", "presence", None),
        ("SELECT, INSERT", "export", None),
        ("SELECT, INSERT", "export_item", None),
        # the gate checks that a person blurred through face tracks is covered on every frame
        ("SELECT", "face_scan", None),
        ("SELECT", "face_track", None),
        ("SELECT", "face_box", None),
        ("SELECT", "audit_log", _HEAD_COLUMNS),
        ("INSERT", "audit_log", None),
        # the server's anchors: written with each entry; read to check them and to know a rollback acknowledged
        ("SELECT, INSERT", "audit_anchor", None),
        ("SELECT, UPDATE", "consent_lock", None),
    ),
    "auditor": (("SELECT", "audit_log", None), ("SELECT", "audit_anchor", None)),
}
_SEQUENCES = {"reviewer": ("decision", "audit_anchor"), "presenter": ("export", "export_item", "audit_anchor")}
# tables a researcher may read and add to but not change or delete from (the triggers refuse it as well)
_APPEND_ONLY_FOR_RESEARCHERS = ("audit_anchor",)


@dataclass(frozen=True)
class User:
    """A login role of this store: its group's kind and, for a station, the participant it is for."""

    name: str
    kind: str
    group: str
    participant: str | None


def group_name(prefix: str, kind: str) -> str:
    return f"{prefix}_{kind}"


def _check_name(name: str, what: str, limit: int = 63) -> str:
    if not _NAME.match(name) or len(name) > limit:
        raise InvalidRequest(
            f"{what} {name!r}: use lower-case letters, digits and _, starting with a letter, at most {limit}"
        )
    return name


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownThing(f"role {kind!r}: unknown (use one of {', '.join(KINDS)})")
    return kind


def _postgres(store: Store) -> None:
    if store.dialect != "postgresql":
        raise InvalidRequest(f"{store.label}: roles need a shared PostgreSQL server (an embedded store has one user)")


def _q(name: str) -> str:
    """A role, table or schema name as an SQL identifier (names are checked or come from the catalog)."""
    return '"' + name.replace('"', '""') + '"'


def _schema(conn: Connection) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def _role_exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first() is not None


def _sequence(conn: Connection, table: str) -> str | None:
    seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
    return str(seq) if seq else None


def _tables(conn: Connection, schema: str) -> list[str]:
    rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"), {"s": schema})
    return [str(r[0]) for r in rows]


def _revoke_all(conn: Connection, schema: str, role: str) -> None:
    s, r = _q(schema), _q(role)
    conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}")
    conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}")
    conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {s} FROM {r}")
    # column grants are not covered by REVOKE ... ON ALL TABLES
    for table, cols in conn.execute(
        text(
            "SELECT table_name, array_agg(DISTINCT column_name::text) FROM information_schema.column_privileges "
            "WHERE grantee = :r AND table_schema = :s GROUP BY table_name"
        ),
        {"r": role, "s": schema},
    ):
        columns = ", ".join(_q(c) for c in cols)
        conn.exec_driver_sql(f"REVOKE ALL ({columns}) ON {_q(schema)}.{_q(table)} FROM {r}")


def _grant(conn: Connection, schema: str, role: str, kind: str) -> None:
    s, r = _q(schema), _q(role)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {s} TO {r}")
    conn.exec_driver_sql(f"GRANT SELECT ON {s}.alembic_version TO {r}")
    if kind == "researcher":
        for table in _tables(conn, schema):
            if table in _APPEND_ONLY_FOR_RESEARCHERS:
                conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {s}.{_q(table)} TO {r}")
            elif table not in _ADMIN_TABLES:
                conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{_q(table)} TO {r}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
        return
    for privileges, table, columns in _GRANTS[kind]:
        cols = f" ({', '.join(_q(c) for c in columns)})" if columns else ""
        conn.exec_driver_sql(f"GRANT {privileges}{cols} ON {s}.{_q(table)} TO {r}")
    for table in _SEQUENCES.get(kind, ()):
        seq = _sequence(conn, f"{s}.{_q(table)}")
        if seq:
            conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {seq} TO {r}")


def create_roles(store: Store, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Make (or bring up to date) the four group roles for this store's schema and their grants; returns
    their names. Run by the tables' owner with CREATEROLE. Idempotent: every grant is made afresh, so
    running it after an upgrade covers new tables.

    Raises:
        InvalidRequest: not PostgreSQL, or a bad prefix.
        AccessDenied: the role connected may not create roles or grant on these tables.
    """
    _postgres(store)
    _check_name(prefix, "prefix", _MAX_PREFIX)
    names = []
    with store.engine.begin() as conn:
        schema = _schema(conn)
        for kind in KINDS:
            name = group_name(prefix, kind)
            if not _role_exists(conn, name):
                conn.exec_driver_sql(f"CREATE ROLE {_q(name)} NOLOGIN")
            _revoke_all(conn, schema, name)
            _grant(conn, schema, name, kind)
            conn.execute(
                text(
                    "INSERT INTO db_role (role_name, kind) VALUES (:n, :k) "
                    "ON CONFLICT (role_name) DO UPDATE SET kind = excluded.kind"
                ),
                {"n": name, "k": kind},
            )
            names.append(name)
    return names


def _members(conn: Connection, group: str) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            text(
                "SELECT u.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = :g ORDER BY u.rolname"
            ),
            {"g": group},
        )
    ]


def drop_roles(store: Store, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Take this schema's grants from the four group roles and forget them; a group role no other schema or
    database uses any more is dropped. Returns the roles dropped.

    Raises:
        InvalidRequest: not PostgreSQL, or a group still has login roles (drop them first).
    """
    _postgres(store)
    _check_name(prefix, "prefix", _MAX_PREFIX)
    dropped = []
    with store.engine.begin() as conn:
        schema = _schema(conn)
        for kind in KINDS:
            name = group_name(prefix, kind)
            if not _role_exists(conn, name):
                continue
            members = _members(conn, name)
            if members:
                raise InvalidRequest(
                    f"role {name}: still has login roles ({', '.join(members)}); "
                    "drop them first (frontdoor db user drop NAME)"
                )
            _revoke_all(conn, schema, name)
            conn.execute(text("DELETE FROM db_role WHERE role_name = :n"), {"n": name})
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql(f"DROP ROLE {_q(name)}")
                dropped.append(name)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "2BP01":  # still granted something elsewhere
                    raise
    return dropped


def add_user(
    store: Store,
    name: str,
    kind: str,
    password: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    participant: str | int | None = None,
) -> User:
    """Make a login role ``name`` in the ``kind`` group (a review station: bound to ``participant``).

    Raises:
        InvalidRequest: not PostgreSQL, a bad name, a role of that name exists already, a password shorter
            than ``MIN_PASSWORD``, a station without a participant (or a participant for another kind), or
            the groups were not made for this store yet (``frontdoor db roles``).
        UnknownThing: an unknown kind or participant.
        AccessDenied: the role connected may not create roles.
    """
    _postgres(store)
    _check_name(name, "role name")
    _check_kind(kind)
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"role {name}: the password is shorter than {MIN_PASSWORD} characters")
    if kind == "reviewer" and participant is None:
        raise InvalidRequest(f"role {name}: a review station is for one participant (--participant)")
    if kind != "reviewer" and participant is not None:
        raise InvalidRequest(f"role {name}: only a review station (reviewer) is bound to a participant")
    group = group_name(prefix, kind)
    with Session(store.engine) as s, s.begin():
        conn = s.connection()
        if conn.execute(text("SELECT kind FROM db_role WHERE role_name = :g"), {"g": group}).scalar() != kind:
            raise InvalidRequest(f"role {group}: not made for this store yet (frontdoor db roles --prefix {prefix})")
        if _role_exists(conn, name):
            raise InvalidRequest(f"role {name}: exists already on this server; choose another name")
        pseudonym = None
        pid = None
        if participant is not None:
            p = find_participant(s, participant)
            if p.withdrawn_at is not None:
                raise InvalidRequest(f"participant {p.pseudonym!r}: has withdrawn; no station is made for them")
            pid, pseudonym = p.id, p.pseudonym
        verifier = _verifier(conn, name, password)
        conn.exec_driver_sql(f"CREATE ROLE {_q(name)} LOGIN PASSWORD '{verifier}' IN ROLE {_q(group)}")
        database = str(conn.execute(text("SELECT current_database()")).scalar_one())
        conn.exec_driver_sql(f"ALTER ROLE {_q(name)} IN DATABASE {_q(database)} SET search_path TO {_q(_schema(conn))}")
        if pid is not None:
            conn.execute(
                text("INSERT INTO station_binding (role_name, participant_id) VALUES (:n, :p)"), {"n": name, "p": pid}
            )
    return User(name, kind, group, pseudonym)


def _verifier(conn: Connection, name: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` for role ``name``, computed by libpq on this side."""
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a live connection always has its driver's
        raise InvalidRequest(f"role {name}: no connection to prepare the password on")
    verifier = raw.pgconn.encrypt_password(password.encode("utf-8"), name.encode("utf-8"), b"scram-sha-256")
    text_ = bytes(verifier).decode("ascii")
    if not text_.startswith("SCRAM-SHA-256$") or "'" in text_:  # pragma: no cover - libpq's own format
        raise InvalidRequest(f"role {name}: the password could not be prepared")
    return text_


def drop_user(store: Store, name: str) -> None:
    """Drop a login role made by ``add_user`` for this store (and its station binding).

    Raises:
        UnknownThing: no login role of that name belongs to this store's groups.
        AccessDenied: the role connected may not drop roles.
    """
    _postgres(store)
    _check_name(name, "role name")
    with store.engine.begin() as conn:
        if not any(u.name == name for u in _users(conn)):
            raise UnknownThing(f"role {name}: not a login role of this store (frontdoor db user list)")
        conn.execute(text("DELETE FROM station_binding WHERE role_name = :n"), {"n": name})
        conn.exec_driver_sql(f"DROP ROLE {_q(name)}")


def list_users(store: Store) -> list[User]:
    """The login roles in this store's groups, by name."""
    _postgres(store)
    with store.engine.connect() as conn:
        return _users(conn)


def _users(conn: Connection) -> list[User]:
    rows = conn.execute(
        text(
            "SELECT u.rolname, r.kind, r.role_name, p.pseudonym FROM db_role r "
            "JOIN pg_roles g ON g.rolname = r.role_name JOIN pg_auth_members m ON m.roleid = g.oid "
            "JOIN pg_roles u ON u.oid = m.member "
            "LEFT JOIN station_binding b ON b.role_name = u.rolname "
            "LEFT JOIN participant p ON p.id = b.participant_id ORDER BY u.rolname, r.kind"
        )
    )
    return [User(str(n), str(k), str(g), None if p is None else str(p)) for n, k, g, p in rows]


def groups(store: Store) -> list[tuple[str, str]]:
    """(group role, kind) made for this store."""
    _postgres(store)
    with store.engine.connect() as conn:
        return [(str(n), str(k)) for n, k in conn.execute(text("SELECT role_name, kind FROM db_role ORDER BY kind"))]


def describe(kinds: Iterable[str] = KINDS) -> list[str]:
    """One line per kind, for the command line."""
    what = {
        "researcher": "everything (the append-only rules still hold)",
        "reviewer": "a review station: one participant's clips and decisions; decides only for them",
        "presenter": "plans and exports usable clips; no decisions, real names or recording paths",
        "auditor": "reads and checks the audit log; nothing else",
    }
    return [f"{k:<10}  {what[k]}" for k in kinds]
