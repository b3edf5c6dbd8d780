"""Alembic environment: migrations run on the engine Frontdoor opened (``config.attributes["engine"]``)."""

from __future__ import annotations

from alembic import context

from annotation.schema import metadata  # every table of annotation, registered on the one Base

config = context.config
engine = config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
