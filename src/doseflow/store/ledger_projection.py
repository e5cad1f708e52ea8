"""The account and running-balance changes of one batch, checked before anything is written.

Only stock and transit accounts are projected: they are the ones that may never go below
zero, and the ones queries read balances of. Doses administered, written off or entered are
totals of the events themselves (the self-check replays them; see
:mod:`doseflow.ledger.conservation`), so their postings cost nothing here. Every stock or
transit posting of the batch becomes one entry in a few parallel arrays (account as an
integer id, moment, order, sequence, delta); :func:`doseflow.ledger.running.run_balances`
then runs every touched account's balance in one pass and finds any stock or transit
balance that would go below zero. An account whose new postings all come after its last
one starts from its current balance; for a back-dated one, its stored steps from the
earliest new moment on are read (one index range per account) and run together with the
new entries, so every later balance is checked again and rewritten.

Account ids and current balances come from the process's
:class:`~doseflow.store.ledger_cache.AccountCache` when it is current, otherwise from the
database (the accounts a batch names, or all of them when it names a large part of them).
Rows are written in key order, so each index page is visited once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import repeat

import numpy as np
from sqlalchemy import Connection

from doseflow.domain.events import PhysicalCount
from doseflow.ledger.accounts import CHECKED_STATES, AccountKey, AccountState
from doseflow.ledger.batch import Prepared, count_account
from doseflow.ledger.postings import Leg, RawPosting
from doseflow.ledger.running import Bools, Ints, Runs, run_balances
from doseflow.ledger.timeline import Violation
from doseflow.store.ledger_cache import AccountCache, Key
from doseflow.store.ledger_sql import Sink, chunks, mark

ACCOUNT_COLUMNS = (
    "id",
    "state",
    "node",
    "product",
    "lot_id",
    "ref",
    "balance",
    "last_at",
    "last_ord",
    "last_seq",
)
STEP_COLUMNS = ("account_id", "at", "ord", "seq", "delta", "balance_after")
_STEP_COLUMNS_BUT_ORD = ("account_id", "at", "seq", "delta", "balance_after")
#: Rows per executemany / COPY round trip.
WRITE_CHUNK = 50_000

_STATE_TEXT: dict[str, str] = {s: s.value for s in AccountState}
_STOCK = AccountState.STOCK
_TRANSIT = AccountState.TRANSIT
_BALANCE = 0
_LAST = slice(1, 4)  # last_at, last_ord, last_seq


class Entries:
    """New timeline entries as columns (``event`` is the id of the entry's event)."""

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.at: list[int] = []
        self.order: list[int] = []
        self.seq: list[int] = []
        self.delta: list[int] = []
        self.count: list[bool] = []
        self.event: list[str] = []

    def __len__(self) -> int:
        return len(self.keys)

    def add_postings(
        self, postings: Sequence[RawPosting], at: int, order: int, seq: int, event_id: str
    ) -> None:
        """The projected (stock and transit) ones of ``postings``."""
        for state, node, product, lot, ref, delta in postings:
            if state not in CHECKED_STATES:
                continue
            self.keys.append((state, node, product, lot, ref))
            self.at.append(at)
            self.order.append(order)
            self.seq.append(seq)
            self.delta.append(delta)
            self.count.append(False)
            self.event.append(event_id)

    def add_items(self, items: Sequence[Prepared]) -> None:
        """The projected postings of many prepared events (flattened by comprehensions:
        this runs once per posting of a bulk import)."""
        pairs = [
            (item, p) for item in items for p in item.postings if p[0] is _STOCK or p[0] is _TRANSIT
        ]
        self.keys.extend([p[:5] for _, p in pairs])
        self.delta.extend([p[5] for _, p in pairs])
        self.at.extend([item.effective_at for item, _ in pairs])
        self.order.extend([item.order for item, _ in pairs])
        self.seq.extend([item.seq for item, _ in pairs])
        self.event.extend([item.event.event_id for item, _ in pairs])
        self.count.extend([False] * len(pairs))

    def add_leg(self, leg: Leg, at: Sequence[int], seq: Sequence[int], ids: Sequence[str]) -> None:
        """One posting of many events of a kind (``at``, ``seq``, ``ids``: per event of the
        list the leg was made from; the leg's rows pick from them). Timeline order is the
        sequence: these are plain movements."""
        rows = leg.rows
        if len(rows) != len(seq):  # the leg is not every event's (rows ascend)
            at = [at[i] for i in rows]
            seq = [seq[i] for i in rows]
            ids = [ids[i] for i in rows]
        self.keys.extend(
            zip(repeat(leg.state), leg.node, leg.product, leg.lot, leg.ref, strict=False)
        )
        self.delta.extend(leg.delta)
        self.at.extend(at)
        self.order.extend(seq)
        self.seq.extend(seq)
        self.event.extend(ids)
        self.count.extend([False] * len(rows))

    def add_count(self, item: Prepared) -> None:
        """A count sets the balance, at the sequence of the adjustment it may produce."""
        count = item.event
        assert isinstance(count, PhysicalCount)
        self.keys.append(count_account(count))
        self.at.append(item.effective_at)
        self.order.append(item.seq + 1)
        self.seq.append(item.seq + 1)
        self.delta.append(count.counted)
        self.count.append(True)
        self.event.append(count.event_id)


def _ints(values: Sequence[int]) -> Ints:
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _later(a: Ints, b: Ints) -> Bools:
    """Column-wise: is timeline key ``a`` (3 x n: at, order, seq) after ``b``?"""
    later: Bools = (a[0] > b[0]) | (
        (a[0] == b[0]) & ((a[1] > b[1]) | ((a[1] == b[1]) & (a[2] > b[2])))
    )
    return later


class BatchProjection:
    """Accounts and steps a batch changes (see the module docs). ``work`` holds, per account
    id, the balance and last timeline key after the batch (valid where ``touched``)."""

    def __init__(
        self, conn: Connection, cache: AccountCache, lot_ids: Mapping[tuple[str, str], int]
    ) -> None:
        self.conn = conn
        self.cache = cache
        self.lot_ids = lot_ids
        stored = conn.exec_driver_sql("SELECT max(id) FROM ledger_accounts").scalar()
        self.first_new_id = int(stored or 0) + 1
        self.next_id = self.first_new_id
        if self.first_new_id == 1:
            cache.complete = True  # nothing stored: every account named is new
        self.new_keys: dict[Key, int] = {}
        self.work: Ints = np.zeros((4, self.next_id), dtype=np.int64)
        self.touched: Bools = np.zeros(self.next_id, dtype=np.bool_)
        self.step_rows: list[tuple[int, ...]] = []
        #: While every new step's order is its sequence number (no reversal), step rows
        #: leave ``ord`` out and the insert repeats ``seq`` into it.
        self.ord_is_seq = True
        self.step_updates: list[tuple[int, ...]] = []
        self.count_deltas: dict[str, int] = {}

    # -- account ids and their state -----------------------------------------------------

    def _ids(self, keys: list[Key]) -> Ints:
        """Integer ids of ``keys``: read the stored accounts the cache does not know, give
        new accounts the next free ids."""
        cache = self.cache
        known = cache.ids
        ids = list(map(known.get, keys))
        if None in ids:
            # the distinct keys not in memory, in order of first appearance
            missing = dict.fromkeys([k for k, v in zip(keys, ids, strict=True) if v is None])
            wanted = [k for k in missing if k not in self.new_keys]
            if wanted and not cache.complete:
                if 4 * len(wanted) > self.first_new_id - 1:
                    cache.load_all(self.conn)
                else:
                    cache.load(self.conn, wanted, self.lot_ids)
                known = cache.ids
            fresh = [k for k in wanted if k not in known]  # new to the ledger: next ids
            first = self.next_id
            self.new_keys.update(zip(fresh, range(first, first + len(fresh)), strict=True))
            self.next_id += len(fresh)
            new = self.new_keys
            for key in missing:  # ids start at 1: "or" falls through only when not stored
                missing[key] = known.get(key) or new[key]
            ids = [v if v is not None else missing[k] for k, v in zip(keys, ids, strict=True)]
        return np.fromiter(ids, dtype=np.int64, count=len(ids))

    def _load_state(self, acc: Ints) -> None:
        """Make ``work`` cover every id and hold the stored state of stored accounts this
        batch has not touched yet (new accounts start at zero)."""
        size = self.next_id
        if self.work.shape[1] < size:
            grown = np.zeros((4, size), dtype=np.int64)
            grown[:, : self.work.shape[1]] = self.work
            self.work = grown
            touched = np.zeros(size, dtype=np.bool_)
            touched[: len(self.touched)] = self.touched
            self.touched = touched
        fresh = acc[(acc < self.first_new_id) & ~self.touched[acc]]
        if len(fresh):
            self.cache.grow(size)
            self.work[:, fresh] = self.cache.state[:, fresh]

    # -- checking and applying -----------------------------------------------------------

    def apply(self, entries: Entries) -> list[Violation]:
        """Check ``entries`` and apply them to ``work``; returns the violations instead
        (applying nothing) if any balance would go below zero."""
        if not len(entries):
            return []
        acc = self._ids(entries.keys)
        self._load_state(acc)
        n_new = len(acc)
        at, order, seq = _ints(entries.at), _ints(entries.order), _ints(entries.seq)
        delta = _ints(entries.delta)
        is_count = np.fromiter(entries.count, dtype=np.bool_, count=n_new)
        checked = np.ones(self.next_id, dtype=np.bool_)  # every projected account is
        start = self.work[_BALANCE].copy()
        # back-dated: a stored account getting an entry at or before its last one
        early = ~_later(np.stack([at, order, seq]), self.work[_LAST][:, acc])
        early &= acc < self.first_new_id
        is_new = np.ones(n_new, dtype=np.bool_)
        if early.any():
            w = self._windows(acc[early], at[early], start)
            acc, at, order, seq, delta = (
                np.concatenate([x, y]) for x, y in zip((acc, at, order, seq, delta), w, strict=True)
            )
            none = np.zeros(len(w[0]), dtype=np.bool_)
            is_count = np.concatenate([is_count, none])
            is_new = np.concatenate([is_new, none])
        runs = run_balances(acc, at, order, seq, delta, is_count, is_new, start, checked)
        if len(runs.violations):
            return _violations(runs, entries, self._event_id)
        self._record(runs, entries)
        return []

    def _event_id(self, seq: int) -> str:
        """The id of a stored event, by its sequence (to name it in a refusal)."""
        m = mark(self.conn)
        sql = f"SELECT event_id FROM ledger_events WHERE seq = {m}"
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, (seq,))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return str(row[0]) if row else ""

    def _windows(self, accounts: Ints, at: Ints, start: Ints) -> list[Ints]:
        """Stored steps of back-dated accounts from their earliest new moment on (columns
        account, at, order, seq, delta); sets each one's ``start`` to its balance just
        before that moment."""
        since: dict[int, int] = {}
        for a, t in zip(accounts.tolist(), at.tolist(), strict=True):
            if t < since.get(a, t + 1):
                since[a] = t
        m = mark(self.conn)
        sql = (
            "SELECT at, ord, seq, delta, balance_after FROM ledger_steps "
            f"WHERE account_id = {m} AND at >= {m} ORDER BY at, ord, seq"
        )
        rows: list[tuple[int, int, int, int, int]] = []
        cursor = self.conn.connection.cursor()
        try:
            for a, t in sorted(since.items()):
                cursor.execute(sql, (a, t))
                steps = cursor.fetchall()
                if steps:
                    start[a] = steps[0][4] - steps[0][3]
                    rows.extend((a, s[0], s[1], s[2], s[3]) for s in steps)
        finally:
            cursor.close()
        cols = np.array(rows, dtype=np.int64).reshape(-1, 5).T
        return [cols[i] for i in range(5)]

    def _record(self, runs: Runs, entries: Entries) -> None:
        """Step rows, step updates, count discrepancies, and the touched accounts' balances
        and last keys, from the runs."""
        acc = runs.account
        effect = runs.effect
        new = runs.is_new
        keep = new & ~(runs.is_count & (effect == 0))
        cols = (acc, runs.at, runs.place, runs.seq)
        if self.ord_is_seq and not np.array_equal(runs.place[keep], runs.seq[keep]):
            self.ord_is_seq = False  # a reversal's steps take the order of what they reverse
            self.step_rows = [(a, t, q, q, d, b) for a, t, q, d, b in self.step_rows]
        written = (acc, runs.at, runs.seq) if self.ord_is_seq else cols
        self.step_rows.extend(
            zip(
                *(c[keep].tolist() for c in written),
                effect[keep].tolist(),
                runs.balance[keep].tolist(),
                strict=True,
            )
        )
        old = ~new
        if old.any():
            self.step_updates.extend(
                zip(runs.balance[old].tolist(), *(c[old].tolist() for c in cols), strict=True)
            )
        for pos in np.flatnonzero(runs.is_count).tolist():
            self.count_deltas[entries.event[int(runs.order[pos])]] = int(effect[pos])
        accounts = runs.accounts
        self.work[_BALANCE, accounts] = runs.closing
        last_new = runs.last_new
        new_last = np.stack([runs.at[last_new], runs.place[last_new], runs.seq[last_new]])
        old_last = self.work[_LAST][:, accounts]
        self.work[_LAST, accounts] = np.where(_later(new_last, old_last), new_last, old_last)
        self.touched[accounts] = True

    # -- writing -------------------------------------------------------------------------

    def write(self, writes: Sink) -> None:
        """Write the account rows and steps (inside the batch's transaction)."""
        ids = np.flatnonzero(self.touched)
        work = self.work
        stored = ids[ids < self.first_new_id]
        if len(stored):
            values = (work[r, stored].tolist() for r in range(4))
            changed = list(zip(*values, stored.tolist(), strict=True))
            for chunk in chunks(changed, WRITE_CHUNK):
                writes.execute_many(
                    "UPDATE ledger_accounts SET balance = ?, last_at = ?, last_ord = ?, "
                    "last_seq = ? WHERE id = ?",
                    chunk,
                )
        keys = list(self.new_keys)  # in id order: ids were given out in this order
        new_ids = np.fromiter(self.new_keys.values(), dtype=np.int64, count=len(keys))
        lot_ids = self.lot_ids
        new_rows = [
            (i, _STATE_TEXT[s], n, p, lot_ids[(p, lot)], ref, *values)
            for (s, n, p, lot, ref), i, values in zip(
                keys, new_ids.tolist(), work[:, new_ids].T.tolist(), strict=True
            )
        ]
        for chunk in chunks(new_rows, WRITE_CHUNK):
            writes.insert_many("ledger_accounts", ACCOUNT_COLUMNS, chunk)
        for chunk in chunks(self.step_updates, WRITE_CHUNK):
            writes.execute_many(
                "UPDATE ledger_steps SET balance_after = ? "
                "WHERE account_id = ? AND at = ? AND ord = ? AND seq = ?",
                chunk,
            )
        self.step_rows.sort()
        columns = STEP_COLUMNS if not self.ord_is_seq else _STEP_COLUMNS_BUT_ORD
        repeats = {"ord": "seq"} if self.ord_is_seq else None
        for chunk in chunks(self.step_rows, WRITE_CHUNK):
            writes.insert_many("ledger_steps", columns, chunk, repeats=repeats)

    def committer(self, version: int) -> Callable[[], None]:
        """What to tell the cache once the batch's transaction (which set the write version
        to ``version``) has committed."""
        ids = np.flatnonzero(self.touched)
        values = self.work[:, ids]
        new_keys = dict(self.new_keys)
        cache = self.cache

        def commit() -> None:
            cache.commit(version, new_keys, ids, values)

        return commit


def _violations(runs: Runs, entries: Entries, stored_id: Callable[[int], str]) -> list[Violation]:
    """The first violation of each account, named by account, moment, balance and the new
    event that caused it (built one by one: this is the refusal path); ``stored_id`` names
    an event already in the ledger by its sequence, when a back-dated event leaves too
    little for it."""
    out = []
    for pos, culprit in zip(runs.violations.tolist(), runs.culprits.tolist(), strict=True):
        group = int(np.searchsorted(runs.first, pos, side="right")) - 1
        lo, hi = int(runs.first[group]), int(runs.last[group]) + 1
        some_new = lo + int(np.argmax(runs.is_new[lo:hi]))  # every account here has one
        key = entries.keys[int(runs.order[some_new])]
        event_id = entries.event[int(runs.order[culprit])] if culprit >= 0 else ""
        account = AccountKey(AccountState(key[0]), *key[1:])
        start = pos  # the first entry of the (moment, order) place that went below zero
        while (
            start > lo
            and runs.at[start - 1] == runs.at[pos]
            and runs.place[start - 1] == runs.place[pos]
        ):
            start -= 1
        held = int(runs.before[start])
        if runs.is_new[pos]:
            taker = entries.event[int(runs.order[pos])]
        else:
            taker = stored_id(int(runs.seq[pos]))
        out.append(
            Violation(account, int(runs.at[pos]), int(runs.balance[pos]), event_id, held, taker)
        )
    return out
