"""Appending a batch of events: one transaction, one writer at a time, nothing half-written.

The batch is prepared by the engine's rules (``doseflow.ledger.batch``), then every affected
account's timeline is checked: an account whose new postings all come after its last one is
checked from its current balance alone; a back-dated posting reads only that account's
steps from the posting's moment on. Any negative balance refuses the whole batch before a
row is written. Writers are serialised (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a
transaction-scoped advisory lock), so two writers issuing from the same stock cannot both
pass the check; readers are never blocked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, select, text

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.events import EventKind, LedgerEvent, PhysicalCount, Reversal, event_nodes
from doseflow.domain.lot import Lot
from doseflow.domain.network import NodeKind
from doseflow.ledger.accounts import CHECKED_STATES, AccountKey, to_instant
from doseflow.ledger.batch import (
    Prepared,
    StoredEvent,
    count_account,
    discrepancy_adjustment,
    new_entries,
    prepare_batch,
)
from doseflow.ledger.book import AppendResult
from doseflow.ledger.postings import postings_of
from doseflow.ledger.timeline import (
    Entry,
    Violation,
    merge,
    raise_violations,
    timeline_key,
    walk,
)
from doseflow.store import ledger_tables as t
from doseflow.store.ledger_rows import COMMON_COLUMNS, KIND_COLUMNS, event_from_row, kind_values

#: Key of the PostgreSQL advisory lock that serialises ledger writers.
PG_LOCK_KEY = 0x1ED6E7
#: Rows per INSERT round trip, and ids per IN (...) lookup.
CHUNK = 20_000
LOOKUP_CHUNK = 5_000

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

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def begin_write(conn: Connection) -> None:
    """Start the write transaction holding the ledger's writer lock."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert_many(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Any],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """A plain driver-level executemany (the fastest path on both backends); ``constants``
    are the same for every row and written into the statement instead of bound per row."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    fixed = dict(constants or {})
    names = [*columns, *fixed]
    values = [mark] * len(columns) + [_literal(v) for v in fixed.values()]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})"
    conn.exec_driver_sql(sql, list(rows))


def _execute_many(conn: Connection, sql: str, rows: Sequence[Any]) -> None:
    if not rows:
        return
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))


@dataclass
class _Account:
    """An account's projection row while a batch is applied."""

    id: int
    balance: int
    last: tuple[int, int, int]  # timeline key of its last posting
    new: bool = False
    dirty: bool = False

    def row(self, key: AccountKey, lot_id: int) -> tuple[Any, ...]:
        return (
            self.id,
            key.state.value,
            key.node,
            key.product,
            lot_id,
            key.ref,
            self.balance,
            *self.last,
        )

    def touch(self, entry: Entry) -> None:
        self.dirty = True
        if timeline_key(entry) > self.last:
            self.last = timeline_key(entry)


# -- master data ---------------------------------------------------------------------------


def node_kinds(conn: Connection) -> dict[str, str]:
    return {r.code: r.kind for r in conn.execute(select(t.nodes.c.code, t.nodes.c.kind))}


def check_nodes(batch: Sequence[LedgerEvent], kinds: Mapping[str, str]) -> None:
    unknown: dict[str, str] = {}
    for event in batch:
        for code in event_nodes(event):
            if code not in kinds and code not in unknown:
                unknown[code] = event.event_id
    if unknown:
        raise DoseflowError.from_details(
            ErrorDetail(
                "LEDGER_UNKNOWN_NODE",
                f"event {event_id} names node '{code}', which is not in the ledger",
                ErrorLocation(field="node"),
                expected="a node registered with the ledger (doseflow ledger nodes)",
                value=code,
            )
            for code, event_id in unknown.items()
        )


def batch_lots(batch: Sequence[LedgerEvent]) -> dict[tuple[str, str], Lot]:
    """Every lot a batch names, by key (the one with an expiry if several); the expiries
    given for one lot must agree."""
    wanted: dict[tuple[str, str], Lot] = {}
    for event in batch:
        lot = getattr(event, "lot", None)
        if isinstance(lot, Lot):
            prev = wanted.get(lot.key)
            if prev is None or (prev.expiry is None and lot.expiry is not None):
                wanted[lot.key] = lot
            elif lot.expiry is not None and prev.expiry != lot.expiry:
                _lot_conflict(lot, prev.expiry, event.event_id)
    return wanted


def _lot_conflict(lot: Lot, known: object, event_id: str) -> None:
    raise DoseflowError(
        "LEDGER_LOT_CONFLICT",
        f"event {event_id}: lot {lot} has expiry {lot.expiry}, but the ledger knows it with "
        f"expiry {known}",
        field="expiry",
        expected=f"{known} (the expiry of lot {lot})",
        value=str(lot.expiry),
    )


def store_lots(
    conn: Connection, wanted: Mapping[tuple[str, str], Lot]
) -> dict[tuple[str, str], tuple[int, Lot]]:
    """Ids of the lots of a batch (registering new ones) and the registered lot values.
    Expiry must agree with the registered one; a higher VVM stage is recorded (a VVM only
    ever progresses)."""
    out: dict[tuple[str, str], tuple[int, Lot]] = {}
    products = sorted({p for p, _ in wanted})
    for chunk in _chunks(products, LOOKUP_CHUNK):
        rows = conn.execute(select(t.lots).where(t.lots.c.product.in_(chunk)))
        for row in rows:
            key = (row.product, row.number)
            if key in wanted:
                out[key] = (row.id, Lot(row.product, row.number, row.expiry, row.vvm_stage))
    next_id = (conn.execute(select(func.max(t.lots.c.id))).scalar() or 0) + 1
    new_rows: list[dict[str, Any]] = []
    vvm_updates: list[dict[str, Any]] = []
    expiry_updates: list[dict[str, Any]] = []
    for key, lot in wanted.items():
        known = out.get(key)
        if known is None:
            new_rows.append(
                {
                    "id": next_id,
                    "product": lot.product,
                    "number": lot.number,
                    "expiry": lot.expiry,
                    "vvm_stage": lot.vvm_stage,
                }
            )
            out[key] = (next_id, lot)
            next_id += 1
            continue
        lot_id, stored = known
        if lot.expiry is not None and stored.expiry is not None and lot.expiry != stored.expiry:
            _lot_conflict(lot, stored.expiry, "in this batch")
        if stored.expiry is None and lot.expiry is not None:
            expiry_updates.append({"i": lot_id, "e": lot.expiry})
            stored = replace(stored, expiry=lot.expiry)
        if lot.vvm_stage > stored.vvm_stage:
            vvm_updates.append({"i": lot_id, "v": lot.vvm_stage})
            stored = replace(stored, vvm_stage=lot.vvm_stage)
        out[key] = (lot_id, stored)
    if new_rows:
        conn.execute(t.lots.insert(), new_rows)
    if vvm_updates:
        conn.execute(
            t.lots.update().where(t.lots.c.id == bindparam("i")).values(vvm_stage=bindparam("v")),
            vvm_updates,
        )
    if expiry_updates:
        conn.execute(
            t.lots.update().where(t.lots.c.id == bindparam("i")).values(expiry=bindparam("e")),
            expiry_updates,
        )
    return out


def _known_lots(conn: Connection, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Lot]:
    wanted = set(keys)
    rows = conn.execute(select(t.lots).where(t.lots.c.product.in_(sorted({p for p, _ in wanted}))))
    return {
        (r.product, r.number): Lot(r.product, r.number, r.expiry, r.vvm_stage)
        for r in rows
        if (r.product, r.number) in wanted
    }


def _with_registered_expiry(
    event: LedgerEvent, lots: Mapping[tuple[str, str], tuple[int, Lot]]
) -> LedgerEvent:
    """An event naming a lot without its expiry takes the registered expiry, so a re-send
    compares equal to what was stored."""
    lot = getattr(event, "lot", None)
    if not isinstance(lot, Lot) or lot.expiry is not None:
        return event
    registered = lots[lot.key][1]
    if registered.expiry is None:
        return event
    return replace(event, lot=Lot(lot.product, lot.number, registered.expiry, lot.vvm_stage))  # type: ignore[call-arg]


# -- stored events ---------------------------------------------------------------------------


def load_events(conn: Connection, rows: Iterable[Any]) -> list[tuple[Any, LedgerEvent]]:
    """Rebuild events from ``ledger_events`` rows (their lots read from ``ledger_lots``)."""
    rows = list(rows)
    lot_ids = sorted({r.lot_id for r in rows if r.lot_id is not None})
    lots: dict[int, Any] = {}
    for chunk in _chunks(lot_ids, LOOKUP_CHUNK):
        for row in conn.execute(select(t.lots).where(t.lots.c.id.in_(chunk))):
            lots[row.id] = row
    out: list[tuple[Any, LedgerEvent]] = []
    for r in rows:
        lot = None
        if r.lot_id is not None:
            lr = lots[r.lot_id]
            lot = Lot(lr.product, lr.number, lr.expiry, r.vvm_stage or lr.vvm_stage)
        out.append((r, event_from_row(r._mapping, lot)))
    return out


def existing_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    """Which of ``ids`` are recorded (a driver-level query per 500 ids: cheap when, as
    usual, none are)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found: set[str] = set()
    ordered = list(ids)
    for chunk in _chunks(ordered, 500):
        marks = ", ".join([mark] * len(chunk))
        sql = f"SELECT event_id FROM ledger_events WHERE event_id IN ({marks})"
        found.update(r[0] for r in conn.exec_driver_sql(sql, tuple(chunk)))
    return found


def stored_lookup(
    conn: Connection, sources: Collection[str]
) -> Callable[[Collection[str]], Mapping[str, StoredEvent]]:
    def lookup(ids: Collection[str]) -> Mapping[str, StoredEvent]:
        present = existing_ids(conn, ids)
        rows: list[Any] = []
        for chunk in _chunks(sorted(present), LOOKUP_CHUNK):
            rows.extend(conn.execute(select(t.events).where(t.events.c.event_id.in_(chunk))))
        if not rows:
            return {}
        found = load_events(conn, rows)
        reversed_by: dict[str, str] = {}
        for chunk in _chunks(sorted(r.event_id for r, _ in found), LOOKUP_CHUNK):
            q = select(t.events.c.ref, t.events.c.event_id).where(
                t.events.c.kind == "reversal", t.events.c.ref.in_(chunk)
            )
            reversed_by.update({r.ref: r.event_id for r in conn.execute(q)})
        return {
            e.event_id: StoredEvent(
                e,
                r.effective_at,
                r.seq,
                () if isinstance(e, Reversal) else postings_of(e, sources),
                reversed_by.get(e.event_id),
            )
            for r, e in found
        }

    return lookup


# -- accounts --------------------------------------------------------------------------------


def load_accounts(
    conn: Connection, keys: Collection[AccountKey], lot_ids: Mapping[tuple[str, str], int]
) -> dict[AccountKey, _Account]:
    """The accounts among ``keys`` that exist, with their balances (a driver-level query
    narrowed by lot, state and, for small batches, node; rows compared as raw tuples)."""
    if not keys:
        return {}
    wanted = {(k.state.value, k.node, lot_ids[(k.product, k.lot)], k.ref): k for k in keys}
    lots = sorted({w[2] for w in wanted})
    states = sorted({w[0] for w in wanted})
    nodes = sorted({w[1] for w in wanted})
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def marks(n: int) -> str:
        return ", ".join([mark] * n)

    sql = (
        "SELECT id, state, node, lot_id, ref, balance, last_at, last_ord, last_seq "
        f"FROM ledger_accounts WHERE lot_id IN ({marks(len(lots))}) "
        f"AND state IN ({marks(len(states))})"
    )
    params: list[Any] = [*lots, *states]
    if len(nodes) <= 500:
        sql += f" AND node IN ({marks(len(nodes))})"
        params.extend(nodes)
    out: dict[AccountKey, _Account] = {}
    cursor = conn.connection.cursor()  # plain DBAPI rows: this can be 10^5-10^6 of them
    try:
        cursor.execute(sql, tuple(params))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    for row in rows:
        key = wanted.get((row[1], row[2], row[3], row[4]))
        if key is not None:
            out[key] = _Account(row[0], row[5], (row[6], row[7], row[8]))
    return out


def _window(conn: Connection, account_id: int, since: int) -> tuple[int, list[Entry]]:
    """Balance just before second ``since`` and the account's steps from ``since`` on."""
    s = t.steps
    before = conn.execute(
        select(s.c.balance_after)
        .where(s.c.account_id == account_id, s.c.at < since)
        .order_by(s.c.at.desc(), s.c.ord.desc(), s.c.seq.desc())
        .limit(1)
    ).scalar()
    rows = conn.execute(
        select(s.c.at, s.c.ord, s.c.seq, s.c.delta)
        .where(s.c.account_id == account_id, s.c.at >= since)
        .order_by(s.c.at, s.c.ord, s.c.seq)
    )
    return int(before or 0), [Entry(r.at, r.ord, r.seq, r.delta, "") for r in rows]


class _Projection:
    """The account and step changes a batch makes, computed before anything is written."""

    def __init__(self, conn: Connection, lot_ids: Mapping[tuple[str, str], int]) -> None:
        self.conn = conn
        self.lot_ids = lot_ids
        self.accounts: dict[AccountKey, _Account] = {}
        self.next_id = (conn.execute(select(func.max(t.accounts.c.id))).scalar() or 0) + 1
        self.step_rows: list[tuple[int, int, int, int, int, int]] = []
        self.step_updates: list[tuple[int, int, int, int, int]] = []
        self.count_deltas: dict[str, int] = {}
        self.violations: list[Violation] = []

    def load(self, keys: Collection[AccountKey]) -> None:
        missing = [k for k in keys if k not in self.accounts]
        self.accounts.update(load_accounts(self.conn, missing, self.lot_ids))

    def account(self, key: AccountKey, first: Entry) -> _Account:
        acc = self.accounts.get(key)
        if acc is None:
            acc = self.accounts[key] = _Account(self.next_id, 0, (first.at, 0, 0), new=True)
            self.next_id += 1
        return acc

    def apply(self, key: AccountKey, new: list[Entry]) -> None:
        """Check and apply one account's new entries (in timeline order)."""
        acc = self.account(key, new[0])
        if key.state not in CHECKED_STATES:
            acc.balance += sum(e.delta for e in new)
        else:
            if acc.new or timeline_key(new[0]) > acc.last:
                start, merged = acc.balance, new
            else:  # back-dated: this account, from that moment on
                start, existing = _window(self.conn, acc.id, new[0].at)
                merged = merge(existing, new)
            result = walk(key, start, merged)
            if result.violation is not None:
                self.violations.append(result.violation)
                return
            self.count_deltas.update(result.count_deltas)
            for entry, balance in zip(merged, result.balances, strict=True):
                if not entry.new:
                    if merged is not new:
                        self.step_updates.append((balance, acc.id, *timeline_key(entry)))
                    continue
                delta = entry.delta
                if entry.is_count:
                    delta = result.count_deltas[entry.event_id]
                    if delta == 0:
                        continue
                self.step_rows.append((acc.id, *timeline_key(entry), delta, balance))
            if result.balances:
                acc.balance = result.balances[-1]
        for entry in new:
            acc.touch(entry)

    def write(self) -> None:
        conn = self.conn
        accounts = self.accounts.items()
        new_rows = [
            a.row(k, self.lot_ids[(k.product, k.lot)]) for k, a in accounts if a.new and a.dirty
        ]
        for chunk in _chunks(new_rows, CHUNK):
            insert_many(conn, "ledger_accounts", ACCOUNT_COLUMNS, chunk)
        changed = [(a.balance, *a.last, a.id) for _k, a in accounts if a.dirty and not a.new]
        for chunk in _chunks(changed, CHUNK):
            _execute_many(
                conn,
                "UPDATE ledger_accounts SET balance = ?, last_at = ?, last_ord = ?, last_seq = ? "
                "WHERE id = ?",
                chunk,
            )
        for chunk in _chunks(self.step_updates, CHUNK):
            _execute_many(
                conn,
                "UPDATE ledger_steps SET balance_after = ? "
                "WHERE account_id = ? AND at = ? AND ord = ? AND seq = ?",
                chunk,
            )
        for chunk in _chunks(self.step_rows, CHUNK):
            insert_many(conn, "ledger_steps", STEP_COLUMNS, chunk)


# -- the append ------------------------------------------------------------------------------


def append_batch(
    conn: Connection,
    batch: Sequence[LedgerEvent],
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> AppendResult:
    """Append ``batch`` inside the caller's (just begun, locked) transaction. Raises a
    ``DoseflowError`` before writing anything if any event is refused."""
    sqlite = conn.dialect.name == "sqlite"
    kinds = node_kinds(conn)
    check_nodes(batch, kinds)
    sources = frozenset(code for code, kind in kinds.items() if kind == NodeKind.SUPPLIER.value)
    lots = store_lots(conn, batch_lots(batch))
    batch = [_with_registered_expiry(e, lots) for e in batch]
    lot_ids = {k: v[0] for k, v in lots.items()}
    first_seq = (conn.execute(select(func.max(t.events.c.seq))).scalar() or 0) + 1
    prepared = prepare_batch(
        batch, stored=stored_lookup(conn, sources), sources=sources, first_seq=first_seq
    )
    entries = new_entries(prepared)
    missing = {(k.product, k.lot) for k in entries} - lot_ids.keys()
    if missing:  # lots named only by reversed events
        for key, (lot_id, _lot) in store_lots(conn, _known_lots(conn, missing)).items():
            lot_ids[key] = lot_id
    projection = _Projection(conn, lot_ids)
    projection.load(list(entries))
    for account, new in entries.items():
        projection.apply(account, new)
    raise_violations(projection.violations)
    # physical counts become count-correction adjustments (or nothing, if they agree)
    derived: list[Prepared] = []
    extra: dict[AccountKey, list[Entry]] = {}
    for item in prepared.new:
        if not isinstance(item.event, PhysicalCount):
            continue
        delta = projection.count_deltas[item.event.event_id]
        if delta == 0:
            continue
        adjustment = discrepancy_adjustment(item, delta, sources)
        derived.append(adjustment)
        for posting in adjustment.postings:
            if posting.account != count_account(item.event):
                extra.setdefault(posting.account, []).append(
                    Entry(
                        adjustment.effective_at,
                        adjustment.order,
                        adjustment.seq,
                        posting.delta,
                        adjustment.event.event_id,
                        True,
                    )
                )
    projection.load(list(extra))
    for account, new in extra.items():
        projection.apply(account, new)
    # write: events, then the projections
    recorded = to_instant(now or datetime.now(UTC))
    batch_id = str(uuid.uuid4())
    groups: dict[tuple[EventKind, bool], list[tuple[Any, ...]]] = {}
    for item in (*prepared.new, *derived):
        ev = item.event
        lot = getattr(ev, "lot", None)
        own = ev.recorded_at is not None
        common: tuple[Any, ...] = (
            item.seq,
            ev.event_id,
            int(ev.occurred_at.timestamp()),
            item.effective_at,
            ev.recorded_by,
        )
        if own:
            common += (to_instant(ev.recorded_at),)  # type: ignore[arg-type]
        event_lot_id = lot_ids[lot.key] if isinstance(lot, Lot) else None
        groups.setdefault((ev.kind, own), []).append(common + kind_values(ev, event_lot_id, sqlite))
    total = len(prepared.new) + len(derived)
    done = 0
    for (kind, own), rows in groups.items():
        columns = COMMON_COLUMNS + (("recorded_at",) if own else ()) + KIND_COLUMNS[kind]
        constants: dict[str, Any] = {"kind": kind.value, "batch_id": batch_id}
        if not own:
            constants["recorded_at"] = recorded
        for chunk in _chunks(rows, CHUNK):
            insert_many(conn, "ledger_events", columns, chunk, constants)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    projection.write()
    return AppendResult(
        tuple(p.event.event_id for p in prepared.new),
        prepared.skipped,
        tuple(p.event.event_id for p in derived),
    )
