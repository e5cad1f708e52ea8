"""Alembic environment: runs on the engine handed over by ``doseflow.store.database``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from doseflow.store.base import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through doseflow.store.database.migrate(engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
