"""The settings of doseflow's SQLite connections, in one place.

Every connection (``doseflow.store.database``) gets :data:`CONNECTION_PRAGMAS`; a ledger
write transaction adds :data:`WRITER_PRAGMAS` for its length, whether it runs on the
batch's connection (``doseflow.store.ledger_sql``) or in the database's writer process
(``doseflow.store.sqlite_writer``, which reads this module without SQLAlchemy), and the
pooled connection gets :data:`RESTORE_PRAGMAS` back after it.
"""

from __future__ import annotations

CONNECTION_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)

#: Page cache of a SQLite ledger writer, in KiB. A batch dirties pages all over the account
#: and step indexes; with the default 2 MiB they are evicted and read again many times
#: within one batch.
WRITER_CACHE_KIB = 262_144

#: A ledger writer's page cache, and no automatic checkpoint: the log is copied into the
#: database on the checkpointer's thread (``doseflow.store.wal_checkpoint``).
WRITER_PRAGMAS: tuple[str, ...] = (
    f"PRAGMA cache_size=-{WRITER_CACHE_KIB}",
    "PRAGMA wal_autocheckpoint=0",
)

#: SQLite's own defaults for those two (a 2,000 KiB cache; checkpoint past 1,000 pages), given
#: back to a pooled connection once its ledger write has ended.
RESTORE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA cache_size=-2000",
    "PRAGMA wal_autocheckpoint=1000",
)
