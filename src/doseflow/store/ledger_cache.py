"""What one process keeps in memory of the ledger's accounts between its own writes.

A bulk import touches hundreds of thousands of accounts per batch; reading them back from
the database before every batch cost more than everything else. Every transaction that
writes the ledger bumps the one-row ``ledger_version`` counter, and a writer reads it under
the writers' lock: while it still has the value this process last committed (or read the
accounts at), the accounts kept here are exactly the stored ones and need not be read again.
Any other writer (another process, another engine, a projection rebuild) bumps the counter
and the next batch starts from the database again.

Kept per account: its key -> integer id, and per id (arrays) the balance and the timeline key
of its last posting. ``complete`` says whether every stored account is here, so an account
not found is new without asking the database. Nothing is changed here until the batch's
transaction has committed (:meth:`AccountCache.commit`).
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from doseflow.ledger.accounts import AccountState
from doseflow.ledger.running import Ints

#: (state, node, product, lot number, ref): equal (and hashing equal) to an ``AccountKey``.
Key = tuple[str, str, str, str, str]

#: Kept keys hold the state's text, not the enum member: a tuple of plain strings is one
#: the garbage collector stops tracking, so 10^5-10^6 kept keys cost it nothing (a member is
#: a tracked object, and would keep every key tuple tracked and traversed by every full
#: collection). Both hash and compare equal, so lookups with either work.
_STATE_TEXT: dict[str, str] = {s: s.value for s in AccountState}
#: Keys per row-value lookup (5 parameters each).
KEY_CHUNK = 5_000


def _interned(pairs: Iterable[tuple[Sequence[str], int]]) -> dict[Key, int]:
    """Keys -> ids, each key with its strings shared with every other key naming them (each
    event or row read brings its own string objects). One comprehension, no call per key:
    this runs once per new account of a bulk import."""
    state, intern = _STATE_TEXT, sys.intern
    return {
        (state[s], intern(n), intern(p), intern(lot), intern(ref) if ref else ""): i
        for (s, n, p, lot, ref), i in pairs
    }


class AccountCache:
    """Accounts of one database as last seen by this process (see the module docs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one writer of this process at a time uses it
        self.version: int | None = None
        self.ids: dict[Key, int] = {}
        self.complete = False
        # rows: balance, last_at, last_ord, last_seq; column = account id
        self.state: Ints = np.zeros((4, 1024), dtype=np.int64)

    def invalidate(self) -> None:
        self.version = None
        self.ids = {}
        self.complete = False

    def sync(self, conn: Connection) -> int:
        """Read the write version (inside the writer's transaction) and forget everything if
        someone else wrote since; returns the version."""
        version = int(
            conn.exec_driver_sql("SELECT version FROM ledger_version WHERE id = 1").scalar_one()
        )
        if version != self.version:
            self.invalidate()
            self.version = version
        return version

    def grow(self, size: int) -> None:
        if size > self.state.shape[1]:
            bigger = np.zeros((4, max(size, 2 * self.state.shape[1])), dtype=np.int64)
            bigger[:, : self.state.shape[1]] = self.state
            self.state = bigger

    def remember(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add stored accounts: rows of (id, state, node, product, lot number, ref, balance,
        last_at, last_ord, last_seq) read in the current version."""
        rows = list(rows)
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.grow(int(ids.max()) + 1)
        values = np.array([r[6:10] for r in rows], dtype=np.int64).T
        self.state[:, ids] = values
        self.ids.update(_interned((r[1:6], r[0]) for r in rows))

    def load_all(self, conn: Connection) -> None:
        """Every stored account (when a batch touches a large part of them)."""
        self.ids = {}
        self.remember(_fetch(conn, _SELECT))
        self.complete = True

    def load(
        self, conn: Connection, keys: Sequence[Key], lot_ids: Mapping[tuple[str, str], int]
    ) -> None:
        """The stored accounts among ``keys`` (the others do not exist yet)."""
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start : start + KEY_CHUNK]
            values = ", ".join([f"({mark}, {mark}, {mark}, {mark}, {mark})"] * len(chunk))
            params: list[Any] = []
            for s, n, p, lot, ref in chunk:
                params.extend((n, p, _STATE_TEXT[s], lot_ids[(p, lot)], ref))
            sql = (
                f"{_SELECT} WHERE (a.node, a.product, a.state, a.lot_id, a.ref) "
                f"IN (VALUES {values})"
            )
            self.remember(_fetch(conn, sql, params))

    def commit(self, version: int, new_keys: Mapping[Key, int], ids: Ints, values: Ints) -> None:
        """After a batch's transaction committed (setting the write version to ``version``):
        its new accounts, and the state (4 x len(ids)) of the accounts it touched."""
        self.ids.update(_interned(new_keys.items()))
        if len(ids):
            self.grow(int(ids.max()) + 1)
            self.state[:, ids] = values
        self.version = version


_SELECT = (
    "SELECT a.id, a.state, a.node, l.product, l.number, a.ref, a.balance, a.last_at, "
    "a.last_ord, a.last_seq FROM ledger_accounts a JOIN ledger_lots l ON l.id = a.lot_id"
)


def _fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    cursor = conn.connection.cursor()  # plain DBAPI rows: there can be 10^5-10^6 of them
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


_caches: weakref.WeakKeyDictionary[Engine, AccountCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def account_cache(engine: Engine) -> AccountCache:
    """The cache of the database ``engine`` connects to (one per engine and process)."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = AccountCache()
        return cache
