"""Record the schema of a new SQLite store (``annotation/store/schema_sqlite.sql``) after a new migration.

    .venv/bin/python scripts/record-sqlite-schema.py

Runs every migration on a new SQLite file in a temporary folder and writes its dump where
:mod:`annotation.store.fresh` reads it; ``tests/annotation/test_store_fresh.py`` fails until this is run.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from annotation.store.engine import create_store_engine, sqlite_url, upgrade_schema
from annotation.store.fresh import RECORDING, dump


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="frontdoor-schema-") as tmp:
        engine, _ = create_store_engine(sqlite_url(Path(tmp) / "migrated.sqlite"))
        try:
            upgrade_schema(engine)
            text = dump(engine)
        finally:
            engine.dispose()
    RECORDING.write_text(text, encoding="utf-8")
    print(f"recorded {text.splitlines()[0]} in {RECORDING}", file=sys.stderr)


if __name__ == "__main__":
    main()
