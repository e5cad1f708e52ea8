"""A SQLite write transaction run by a process of its own, so a bulk append's SQLite work
proceeds on another core while this process prepares and checks the rest of the batch.

Why a process: inserting a row costs SQLite a few microseconds of B-tree work, done outside
Python's global lock, but Python's ``sqlite3`` binds every row's parameters holding it. A
writer *thread* therefore waits for the lock after every row while the preparing thread
holds it, and the two hardly overlap (measured: no gain). A writer process has a lock of its
own.

The protocol is a stream of pickled tuples on the child's standard input; it answers on its
standard output only when asked to (``begin``, ``commit``, ``rollback``):

========================  =========================================================
``("begin",)``            ``BEGIN IMMEDIATE`` (the writers' lock), then answer
``("many", sql, rows)``   ``executemany``; no answer (a failure is kept and reported
                          at ``commit``, and later statements are skipped)
``("one", sql, params)``  ``execute``; no answer
``("commit",)``           commit, or roll back if a statement failed; answer
``("rollback",)``         roll back; answer
========================  =========================================================

The answer is ``("ok",)`` or ``("error", exception class name, message)``; the caller raises
the same ``sqlite3`` exception, so an ``IntegrityError`` (a re-sent event id) is handled as
it would be in-process. If this process dies, the child reads the end of its input, rolls
back what it had not committed and exits: a batch stays all or nothing. The child runs
``python -m doseflow.store.sqlite_writer <database path>`` and imports nothing of doseflow
beyond this module, its errors and ``doseflow.store.sqlite_settings``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from doseflow.domain.errors import DoseflowError
from doseflow.store.sqlite_settings import CONNECTION_PRAGMAS, WRITER_PRAGMAS

#: SQLite settings of the writer's connection: every connection's, with a ledger writer's.
PRAGMAS = CONNECTION_PRAGMAS + WRITER_PRAGMAS
_ERRORS: dict[str, type[Exception]] = {
    "IntegrityError": sqlite3.IntegrityError,
    "OperationalError": sqlite3.OperationalError,
    "DatabaseError": sqlite3.DatabaseError,
}


class WriterGone(DoseflowError):
    """The writer process ended before answering (nothing it had not committed is kept)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            "STORE_WRITER_GONE",
            f"the SQLite writer process for {path} ended before the batch was committed; "
            "nothing of the batch was written",
            source=path,
            expected="the batch appended again (a new writer process starts)",
        )


# -- the child -------------------------------------------------------------------------------


def serve(path: str, inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """Run the protocol on one connection to ``path`` until the input ends."""
    con = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    for pragma in PRAGMAS:
        con.execute(pragma)
    failure: BaseException | None = None

    def answer(message: tuple[Any, ...]) -> None:
        pickle.dump(message, outbox, protocol=pickle.HIGHEST_PROTOCOL)
        outbox.flush()

    try:
        while True:
            try:
                message = pickle.load(inbox)
            except EOFError:
                return
            op = message[0]
            if op == "many" or op == "one":
                if failure is None:
                    try:
                        if op == "many":
                            con.executemany(message[1], message[2])
                        else:
                            con.execute(message[1], message[2])
                    except sqlite3.Error as exc:
                        failure = exc
                continue
            try:
                if op == "begin":
                    failure = None
                    con.execute("BEGIN IMMEDIATE")
                elif op == "commit":
                    if failure is not None:
                        raise failure
                    con.execute("COMMIT")
                elif op == "rollback":
                    failure = None
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                answer(("ok",))
            except sqlite3.Error as exc:
                failure = None
                if con.in_transaction:
                    con.execute("ROLLBACK")
                answer(("error", type(exc).__name__, str(exc)))
    finally:
        con.close()  # an open transaction is rolled back


# -- the parent ------------------------------------------------------------------------------


class WriterProcess:
    """The parent's end: sends statements without waiting (a sender thread writes them to
    the pipe, so preparing the next rows never waits for SQLite), and waits at ``begin``,
    ``commit`` and ``rollback``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "doseflow.store.sqlite_writer", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._stdin = self.process.stdin
        self._stdout = self.process.stdout
        self._outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._send_error: BaseException | None = None
        self._sender = threading.Thread(target=self._send, name="sqlite-writer-send", daemon=True)
        self._sender.start()
        self.lock = threading.Lock()  # one transaction at a time

    def _send(self) -> None:
        while True:
            data = self._outgoing.get()
            if data is None:
                return
            try:
                self._stdin.write(data)
                self._stdin.flush()
            except (OSError, ValueError) as exc:
                self._send_error = exc
                return

    def alive(self) -> bool:
        return self.process.poll() is None and self._send_error is None

    def send(self, message: tuple[Any, ...]) -> None:
        self._outgoing.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def execute_many(self, sql: str, rows: Sequence[Any]) -> None:
        self.send(("many", sql, list(rows)))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.send(("one", sql, tuple(params)))

    def call(self, op: str) -> None:
        """Send ``op`` and wait for its answer; raise what the writer raised."""
        self.send((op,))
        try:
            reply = pickle.load(self._stdout)
        except (EOFError, pickle.UnpicklingError, OSError) as exc:
            raise WriterGone(self.path) from exc
        except BaseException:  # interrupted mid-answer: the stream can no longer be trusted
            self.process.kill()  # (its transaction is rolled back; a new writer starts)
            raise
        if reply[0] == "ok":
            return
        raise _ERRORS.get(reply[1], sqlite3.DatabaseError)(reply[2])

    def cpu_seconds(self) -> float:
        """CPU time the writer process has used so far (Linux; 0.0 where not known)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self._outgoing.put(None)
        self._sender.join(5)
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_writers: dict[str, WriterProcess] = {}
_writers_lock = threading.Lock()


def writer_for(path: str) -> WriterProcess:
    """This process's writer for the database file at ``path`` (started on first use,
    started again if it has ended)."""
    key = os.path.realpath(path)
    with _writers_lock:
        found = _writers.get(key)
        if found is None or not found.alive():
            if found is not None:
                found.close()
            found = _writers[key] = WriterProcess(key)
        return found


def existing_writer(path: str) -> WriterProcess | None:
    """This process's writer for ``path`` if one has been started."""
    with _writers_lock:
        return _writers.get(os.path.realpath(path))


@atexit.register
def _close_all() -> None:
    with _writers_lock:
        for writer in _writers.values():
            writer.close()
        _writers.clear()


if __name__ == "__main__":  # the child
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
