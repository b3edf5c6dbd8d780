"""Opening the annotation store: engine, connection settings, migrations, and units of work.

SQLite (the default, one file per user) runs in WAL mode with foreign keys on and a busy timeout, so the
app, the CLI and a consent station on the same machine can use it at once. PostgreSQL serves a team on a
shared server; the schema is the same. Opening a store brings its schema to the newest Alembic revision.

Service functions take a :class:`Store` and open a unit of work with ``with store.session() as s:``;
it commits when the block ends and rolls back on any error, so each edit is saved as it is made and a
failed import leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from annotation.errors import ConflictError, StoreUnavailable

ENV_DB = "FRONTDOOR_DB"
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


def _describe(url: URL) -> str:
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
    """An open annotation store. Create it with :func:`open_store`."""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits at the end of the block, rolls back on error.

        Raises:
            ConflictError: another writer changed a row this unit of work updates.
            StoreUnavailable: the connection to the database was lost.
        """
        s = self._sessions()
        try:
            yield s
            s.commit()
        except StaleDataError as exc:
            s.rollback()
            raise ConflictError(f"{self.label}: the row was changed by someone else; reload and try again") from exc
        except OperationalError as exc:
            s.rollback()
            raise StoreUnavailable(f"{self.label}: {_short(exc)}") from exc
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def close(self) -> None:
        self.engine.dispose()


def _short(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc).splitlines()[0]


def create_store_engine(url: str) -> tuple[Engine, str]:
    """Create an engine with Frontdoor's connection settings; returns it with a printable label.

    Raises:
        StoreUnavailable: the URL is malformed or names a folder that does not exist.
    """
    try:
        u = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"{url}: not a database URL") from exc
    label = _describe(u)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            folder = Path(u.database).expanduser().parent
            if not folder.is_dir():
                raise StoreUnavailable(f"{label}: folder {folder} does not exist")
        engine = create_engine(u, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        engine = create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    return engine, label


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the store at ``url`` (default: :func:`default_db_url`) and bring its schema
    up to date.

    Raises:
        StoreUnavailable: the database cannot be reached, opened or migrated.
    """
    if not url:
        url = default_db_url()
        if not os.environ.get(ENV_DB):  # the per-user store: its folder is ours to create
            user_data_dir().mkdir(parents=True, exist_ok=True)
    engine, label = create_store_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate:
            upgrade_schema(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise StoreUnavailable(f"{label}: cannot open database ({_short(exc)})") from exc
    return Store(engine, label)


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def schema_revision(engine: Engine) -> str | None:
    """The store's current Alembic revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(create_engine("sqlite://"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (no-op when already there)."""
    from alembic import command

    if revision == "head" and schema_revision(engine) == head_revision():
        return
    command.upgrade(_alembic_config(engine), revision)
