"""Alembic migrations of the history database (run through ``retrain_sentinel.store.migrate``)."""
