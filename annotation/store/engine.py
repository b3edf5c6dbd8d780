"""Opening the annotation store: engine, connection settings, migrations, and units of work.

SQLite (the default, one file per user) runs in WAL mode with foreign keys on and a busy timeout, so the
app, the CLI and a consent station on the same machine can use it at once. PostgreSQL serves a team on a
shared server; the schema is the same. Opening a store brings its schema to the newest Alembic revision
(``HEAD_REVISION``; a store already there is opened without loading Alembic, and a new SQLite file is made
from the recorded schema of a migrated store, :mod:`annotation.store.fresh`).

Service functions take a :class:`Store` and open a unit of work with ``with store.session() as s:``;
it commits when the block ends and rolls back on any error, so each edit is saved as it is made and a
failed import leaves nothing behind.

An embedded store can be encrypted (SQLCipher, :mod:`annotation.store.cipher`): it is opened with a passphrase,
which is handed to each connection with ``PRAGMA key`` and never appears in a URL, label or message. Every
SQLite store is checked (``PRAGMA quick_check``) when it is opened, unless Frontdoor closed it cleanly and nothing
has touched it since (:mod:`annotation.store.checked`: at least weekly); a damaged one is refused in one line
(:class:`StoreCorrupt`), as is a damaged page a query comes upon. The store knows nothing of backups: the front
ends open it through :func:`annotation.backup.catalogue.open_store_naming_backup`, which adds the latest good
backup to that line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from annotation.errors import (
    ConflictError,
    PassphraseRequired,
    StoreCorrupt,
    StoreUnavailable,
    ValueOutOfRange,
    WrongPassphrase,
)
from annotation.store import checked, cipher

ENV_DB = "FRONTDOOR_DB"
#: the newest schema revision, the head of ``migrations/versions``: a store already there is opened without
#: loading Alembic or its scripts (a test checks it against Alembic's head; raise it with each new migration)
HEAD_REVISION = "0013"
_VERSION_TABLE = "alembic_version"  # Alembic's default, in the schema of the connection's search path
_MIGRATIONS = Path(__file__).parent / "migrations"


def user_data_dir() -> Path:
    """Per-user data folder (``$XDG_DATA_HOME/frontdoor`` on Linux); ``FRONTDOOR_HOME`` overrides it."""
    override = os.environ.get("FRONTDOOR_HOME")
    if override:
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path("frontdoor", appauthor=False)


def default_db_url() -> str:
    """``$FRONTDOOR_DB`` if set, else the per-user SQLite file."""
    env = os.environ.get(ENV_DB)
    if env:
        return env
    return sqlite_url(user_data_dir() / "frontdoor.sqlite")


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """A SQLite URL for a file path (any characters in the path are safe)."""
    return URL.create("sqlite", database=os.fspath(path)).render_as_string(hide_password=False)


def describe_url(url: URL) -> str:
    """A printable label of a store's URL: the file of a SQLite store, else the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Store:
    """An open annotation store. Create it with :func:`open_store`.

    ``path`` is the database file of an embedded store (None on PostgreSQL or in memory); ``encrypted`` says
    whether it is a SQLCipher store. The passphrase is kept (private) only so that backups of an encrypted
    store can be written under the same key.
    """

    def __init__(self, engine: Engine, label: str, *, path: Path | None = None, passphrase: str | None = None) -> None:
        self.engine = engine
        self.label = label
        self.path = path
        self._passphrase = passphrase
        self.checked_at: datetime | None = None
        """When an embedded store was last checked in full (set by :func:`open_store`; None: not checked)."""
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def encrypted(self) -> bool:
        return self._passphrase is not None

    def __repr__(self) -> str:
        return f"Store({self.label!r}, encrypted={self.encrypted})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits at the end of the block, rolls back on error.

        Raises:
            ConflictError: another writer changed a row this unit of work updates.
            ValueOutOfRange: the database refused a value it cannot hold (nothing was saved).
            StoreUnavailable: the connection to the database was lost.
        """
        s = self._sessions()
        try:
            yield s
            s.commit()
        except StaleDataError as exc:
            s.rollback()
            raise ConflictError(f"{self.label}: the row was changed by someone else; reload and try again") from exc
        except DataError as exc:  # a check upstream missed a limit of a column: one line, not a traceback
            s.rollback()
            why = _short(exc)
            raise ValueOutOfRange(f"{self.label}: a value does not fit the store ({why}); nothing saved") from exc
        except DBAPIError as exc:
            s.rollback()
            if self.path is not None and _is_corruption(exc):  # a damaged page the opening check did not read
                self.checked_at = None  # not stamped at close: the next opening checks it in full
                checked.forget(self.path)
                raise _corrupt(self.label, _short(exc)) from exc
            if isinstance(exc, OperationalError):
                raise StoreUnavailable(f"{self.label}: {_short(exc)}") from exc
            raise
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def close(self) -> None:
        """Close every connection; a checked embedded store is stamped so that the next opening need not read
        it through again (:mod:`annotation.store.checked`)."""
        self.engine.dispose()
        if self.path is not None and self.checked_at is not None:
            checked.write_stamp(self.path, self.checked_at)


def _short(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc).splitlines()[0]


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL, in-memory or malformed URLs)."""
    try:
        u = make_url(url)
    except ArgumentError:
        return None
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).expanduser()


def _keyed_connect(passphrase: str) -> Any:
    def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
        cipher.set_key(conn, passphrase)  # before any other listener reads the file
        return conn

    return connect


def create_store_engine(url: str, *, passphrase: str | None = None) -> tuple[Engine, str]:
    """Create an engine with Frontdoor's connection settings; returns it with a printable label.

    With ``passphrase`` a SQLite store is opened (or created) as a SQLCipher store under that key.

    Raises:
        StoreUnavailable: the URL is malformed or names a folder that does not exist; a passphrase for a
            plain store or for PostgreSQL.
        PassphraseRequired: the SQLite file is encrypted and no passphrase was given.
    """
    try:
        u = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"{url}: not a database URL") from exc
    label = describe_url(u)
    if u.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            folder = path.parent
            if not folder.is_dir():
                raise StoreUnavailable(f"{label}: folder {folder} does not exist")
            state = cipher.file_state(path)
            if state == "encrypted" and passphrase is None:
                raise PassphraseRequired(f"{label}: the store is encrypted; give its passphrase")
            if state == "plain" and passphrase is not None:
                raise StoreUnavailable(f"{label}: the store is not encrypted; open it without a passphrase")
        elif passphrase is not None:
            raise StoreUnavailable(f"{label}: only a store in a file can be encrypted")
        if passphrase is None:
            engine = create_engine(u, connect_args={"timeout": 10})
        else:
            engine = create_engine(u, module=cipher.dbapi(), connect_args={"timeout": 10})
            event.listen(engine, "do_connect", _keyed_connect(passphrase))
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if passphrase is not None:
            raise StoreUnavailable(f"{label}: a PostgreSQL store is protected by its server, not a passphrase")
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        engine = create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        from annotation.store.privileges import watch_privileges  # a refused statement: one line, not a traceback

        watch_privileges(engine)
    return engine, label


def store_is_encrypted(url: str | None = None) -> bool:
    """Whether the store at ``url`` (default: :func:`default_db_url`) is an encrypted file, so that a front
    end knows to ask for the passphrase before :func:`open_store`."""
    path = sqlite_file(url or default_db_url())
    return path is not None and cipher.is_encrypted(path)


def open_store(
    url: str | None = None, *, migrate: bool = True, passphrase: str | None = None, check: bool = True
) -> Store:
    """Open (creating if needed) the store at ``url`` (default: :func:`default_db_url`), check it and bring
    its schema up to date.

    A new SQLite file given a ``passphrase`` is created encrypted; an encrypted one needs it. ``check``
    runs SQLite's ``quick_check`` (every page read once; PostgreSQL checks itself), unless the store was closed
    cleanly after its last check and nothing has touched it since (:mod:`annotation.store.checked`).

    Raises:
        PassphraseRequired: an encrypted store and no passphrase.
        WrongPassphrase: the passphrase does not open it.
        StoreCorrupt: it fails its integrity check (the front ends add the latest good backup to its message:
            :func:`annotation.backup.catalogue.open_store_naming_backup`).
        StoreUnavailable: the database cannot be reached, opened or migrated.
    """
    if not url:
        url = default_db_url()
        if not os.environ.get(ENV_DB):  # the per-user store: its folder is ours to create
            user_data_dir().mkdir(parents=True, exist_ok=True)
    engine, label = create_store_engine(url, passphrase=passphrase)
    path = sqlite_file(url)
    checked_at = checked.last_full_check(path) if path is not None and check else None  # before the WAL opens
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM sqlite_master" if path else "SELECT 1"))
            if path is not None and check and checked_at is None:
                _quick_check(conn, label)
                checked_at = datetime.now(UTC)
            stored = _stored_revisions(conn)
            behind = migrate and stored != [HEAD_REVISION]
        if behind and not stored and path is not None:  # a new SQLite file: the recorded schema, at once
            from annotation.store.fresh import create_from_recording

            behind = not create_from_recording(engine, HEAD_REVISION)
        if behind:  # Alembic and its scripts are loaded only when there is work for them
            unknown = sorted(set(stored) - known_revisions())
            if unknown:
                raise StoreUnavailable(
                    f"{label}: its schema ({', '.join(unknown)}) is newer than this Frontdoor knows "
                    f"(up to {HEAD_REVISION}): open it with the Frontdoor that wrote it, or a newer one"
                )
            upgrade_schema(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        if passphrase is not None and cipher.is_wrong_key(exc):
            raise WrongPassphrase(f"{label}: wrong passphrase") from None
        if path is not None and _is_corruption(exc):
            raise _corrupt(label, _short(exc)) from exc
        raise StoreUnavailable(f"{label}: cannot open database ({_short(exc)})") from exc
    except BaseException:
        engine.dispose()
        raise
    store = Store(engine, label, path=path, passphrase=passphrase)
    store.checked_at = checked_at
    return store


def _is_corruption(exc: DBAPIError) -> bool:
    text_ = str(exc.orig or exc).lower()
    return "malformed" in text_ or "corrupt" in text_ or "not a database" in text_


def _quick_check(conn: Any, label: str) -> None:
    rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    problem = cipher.check_result(rows)
    if problem:
        raise _corrupt(label, problem)


def _corrupt(label: str, why: str) -> StoreCorrupt:
    return StoreCorrupt(f"{label} is damaged ({why})")


def alembic_config(engine: Engine) -> Any:
    """Alembic's configuration for the store's migrations, run on ``engine``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _stored_revisions(conn: Any) -> list[str]:
    """The revisions in the store's Alembic version table, read without loading Alembic (none for an empty
    database): the same table and the same query Alembic's own ``get_current_revision`` uses."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return []
    return [str(r[0]) for r in conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))]


def schema_revision(engine: Engine) -> str | None:
    """The store's current Alembic revision (None for an empty database)."""
    with engine.connect() as conn:
        revisions = _stored_revisions(conn)
        if len(revisions) > 1:  # several heads: Alembic's own answer (it refuses to pick one)
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()
    return revisions[0] if revisions else None


def known_revisions() -> set[str]:
    """Every schema revision this version of Frontdoor knows (a store or backup at another is newer)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    return {s.revision for s in scripts.walk_revisions()}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = alembic_config(create_engine("sqlite://"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (no-op when already there; a store at the head costs one
    query, without loading Alembic)."""
    if revision == "head" and schema_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
