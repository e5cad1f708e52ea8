"""Where the database is when none is named: constants without SQLAlchemy.

The command line shows them in ``--help`` (``--db`` defaults), which must not import
SQLAlchemy or Alembic; :mod:`doseflow.store.database` uses the same values.
"""

from __future__ import annotations

DEFAULT_SQLITE_FILE = "doseflow.sqlite"
ENV_VAR = "DOSEFLOW_DB"
