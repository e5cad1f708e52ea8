"""Copying a SQLite write-ahead log back into the database on a thread of its own.

In WAL mode every commit appends the pages it changed to the log; by default the
committing connection then *checkpoints* (copies the log into the database file and syncs
it) as soon as the log passes 1,000 pages. A bulk ledger import changes pages all over the
account and running-balance indexes in every batch, so that copy ran after every batch, on
the writer's own time, and re-copied pages each batch had changed again.

Ledger writers turn automatic checkpoints off for their transaction and instead ask the
database's :class:`Checkpointer` for one after committing. It runs ``PRAGMA
wal_checkpoint(PASSIVE)`` on its own connection and thread: a passive checkpoint never
blocks readers or writers, and the whole copy runs inside one SQLite call, outside
Python's global lock, so it proceeds on another core while the next batch is prepared.
Should the log still grow past :data:`WAL_LIMIT_BYTES` (checkpoints not keeping up, or
held back by a long reader), the writer checkpoints itself before returning, so the log
stays bounded. A checkpoint interrupted by the process ending is harmless: SQLite replays
or discards the log on next open.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

#: Log size past which a writer checkpoints synchronously after its commit.
WAL_LIMIT_BYTES = 512 * 1024 * 1024
#: A checkpointer thread with nothing to do for this long ends (a new one starts on demand).
IDLE_SECONDS = 30.0

log = logging.getLogger(__name__)


class Checkpointer:
    """Runs passive checkpoints of one SQLite database file when asked (see module docs)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self.completed = 0  # checkpoints run (for tests and diagnostics)

    def request(self) -> None:
        """Ask for a checkpoint soon (several requests while one runs make one more)."""
        with self._lock:
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"wal-checkpoint {os.path.basename(self.path)}"
                )
                self._thread.daemon = True
                self._thread.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no checkpoint is wanted or running; False if that took too long."""
        deadline = time.monotonic() + timeout
        while self._wanted.is_set() or self._running:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        while True:
            if not self._wanted.wait(IDLE_SECONDS):
                with self._lock:
                    if not self._wanted.is_set():
                        self._thread = None
                        return
            self._wanted.clear()
            self._running = True
            try:
                checkpoint(self.path)
                self.completed += 1
            except sqlite3.Error as exc:  # e.g. the file was removed; the next write retries
                log.debug("checkpoint of %s failed: %s", self.path, exc)
            finally:
                self._running = False


def checkpoint(path: str) -> None:
    """One passive checkpoint of the database file at ``path``, on a connection of its own."""
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        con.close()


def wal_bytes(path: str) -> int:
    try:
        return os.path.getsize(path + "-wal")
    except OSError:
        return 0


_checkpointers: dict[str, Checkpointer] = {}
_registry_lock = threading.Lock()


def checkpointer_for(path: str) -> Checkpointer:
    """The one checkpointer of the database file at ``path`` in this process (a few bytes
    each; its thread ends when idle)."""
    key = os.path.realpath(path)
    with _registry_lock:
        found = _checkpointers.get(key)
        if found is None:
            found = _checkpointers[key] = Checkpointer(key)
        return found
