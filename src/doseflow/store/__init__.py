"""Persistence: SQLAlchemy 2 over SQLite (default, WAL) or PostgreSQL, migrated by Alembic."""
