"""The store's Alembic migrations, run by ``frontdoor db upgrade`` and whenever a store is opened."""
