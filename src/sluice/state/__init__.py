"""Durable state: services and the job ledger, in SQLite by default (any SQLAlchemy URL)."""
