"""Appending a batch of events: one transaction, one writer at a time, nothing half-written.

The batch is prepared by the engine's rules (``doseflow.ledger.batch``: idempotency by
client id, reversals, sequence numbers), then every affected account's timeline is checked
in one vectorised pass (``doseflow.store.ledger_projection``). Any negative balance refuses
the whole batch before a row is written. Writers are serialised (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL a transaction-scoped advisory lock), so two writers issuing from the
same stock cannot both pass the check; readers are never blocked. Every write bumps the
ledger's write version, which tells each process whether the accounts it keeps in memory
are still current (``doseflow.store.ledger_cache``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from itertools import compress
from operator import attrgetter, is_
from typing import Any

from sqlalchemy import Connection, func, select

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.events import (
    EVENT_CLASSES,
    EventKind,
    LedgerEvent,
    PhysicalCount,
    Reversal,
    ShipmentPlanned,
    event_nodes,
)
from doseflow.domain.lot import Lot
from doseflow.domain.network import NodeKind
from doseflow.ledger.accounts import AccountState, instants, to_instant
from doseflow.ledger.batch import Prepared, StoredEvent, discrepancy_adjustment, prepare_batch
from doseflow.ledger.book import AppendResult
from doseflow.ledger.postings import raw_postings, stock_and_transit_legs
from doseflow.ledger.timeline import raise_violations
from doseflow.store import ledger_tables as t
from doseflow.store.ledger_cache import AccountCache
from doseflow.store.ledger_projection import (
    ACCOUNT_COLUMNS,
    STEP_COLUMNS,
    BatchProjection,
    Entries,
)
from doseflow.store.ledger_rows import KIND_COLUMNS, event_from_row, kind_columns
from doseflow.store.ledger_sql import ConnectionSink, Sink, chunks, mark

__all__ = [
    "ACCOUNT_COLUMNS",
    "CHUNK",
    "LOOKUP_CHUNK",
    "STEP_COLUMNS",
    "Progress",
    "append_batch",
    "load_events",
]

#: Event rows per INSERT round trip (progress is reported after each).
CHUNK = 20_000
#: Ids per IN (...) lookup of stored rows.
LOOKUP_CHUNK = 5_000
#: Client ids per existence check (SQLite allows 32,766 parameters per statement).
ID_CHUNK = 30_000

Progress = Callable[[int, int], None]


# -- master data ---------------------------------------------------------------------------


def node_kinds(conn: Connection) -> dict[str, str]:
    return {r.code: r.kind for r in conn.execute(select(t.nodes.c.code, t.nodes.c.kind))}


_NODE_FIELDS = ("origin", "destination", "hub", "node", "to_node")


def check_nodes(
    batch: Sequence[LedgerEvent],
    kinds: Mapping[str, str],
    by_class: Mapping[type, list[LedgerEvent]] | None = None,
) -> None:
    """Every node the batch names must be registered (collected per event class with one
    attribute getter per field, then checked as a set)."""
    named: set[str] = set()
    for cls, events in (by_class or _by_class(batch)).items():
        for name in _NODE_FIELDS:
            if hasattr(cls, name):
                named.update(map(attrgetter(name), events))
        if cls is ShipmentPlanned:
            for event in events:
                named.update(event.route)  # type: ignore[attr-defined]
    if named.issubset(kinds.keys()):
        return
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


def _by_class(batch: Sequence[LedgerEvent]) -> dict[type, list[LedgerEvent]]:
    """The batch's events grouped by class, in batch order (grouped by C-level passes)."""
    positions = _class_positions(batch)
    if len(positions) == 1:  # a bulk import is often of one kind of event
        return {cls: list(batch) for cls in positions}
    return {cls: list(map(batch.__getitem__, rows)) for cls, rows in positions.items()}


def _class_positions(batch: Sequence[LedgerEvent]) -> dict[type, Sequence[int]]:
    """Where the events of each class are in the batch."""
    types = list(map(type, batch))
    classes = dict.fromkeys(types)
    if len(classes) == 1:
        return {cls: range(len(batch)) for cls in classes}
    every = range(len(batch))
    return {cls: list(compress(every, map(partial(is_, cls), types))) for cls in classes}


def distinct_lots(by_class: Mapping[type, list[LedgerEvent]]) -> list[Lot]:
    """The distinct lot values of a batch's events, grouped by class (a bulk import names a
    few lots many times)."""
    seen: dict[int, Lot] = {}
    for cls, events in by_class.items():
        if hasattr(cls, "lot"):
            lots = list(map(attrgetter("lot"), events))
            seen.update(zip(map(id, lots), lots, strict=True))
    return list(dict.fromkeys(seen.values()))


def batch_lots(
    batch: Sequence[LedgerEvent], named: Sequence[Lot] | None = None
) -> dict[tuple[str, str], Lot]:
    """Every lot a batch names (``named``: its distinct lots, if known), by key (the one
    with an expiry if several); the expiries given for one lot must agree."""
    wanted: dict[tuple[str, str], Lot] = {}
    for lot in named if named is not None else distinct_lots(_by_class(batch)):
        prev = wanted.get(lot.key)
        if prev is None or (prev.expiry is None and lot.expiry is not None):
            wanted[lot.key] = lot
        elif lot.expiry is not None and prev.expiry != lot.expiry:
            _first_lot_conflict(batch)
    return wanted


def _first_lot_conflict(batch: Sequence[LedgerEvent]) -> None:
    """Refuse the first event (in batch order) whose lot expiry disagrees with an earlier one."""
    wanted: dict[tuple[str, str], Lot] = {}
    for event in batch:
        lot = getattr(event, "lot", None)
        if isinstance(lot, Lot):
            prev = wanted.get(lot.key)
            if prev is None or (prev.expiry is None and lot.expiry is not None):
                wanted[lot.key] = lot
            elif lot.expiry is not None and prev.expiry != lot.expiry:
                _lot_conflict(lot, prev.expiry, event.event_id)


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
    conn: Connection, wanted: Mapping[tuple[str, str], Lot], sink: Sink | None = None
) -> dict[tuple[str, str], tuple[int, Lot]]:
    """Ids of the lots of a batch (registering new ones through ``sink``, by default the
    connection) and the registered lot values. Expiry must agree with the registered one; a
    higher VVM stage is recorded (a VVM only ever progresses)."""
    out: dict[tuple[str, str], tuple[int, Lot]] = {}
    products = sorted({p for p, _ in wanted})
    for chunk in chunks(products, LOOKUP_CHUNK):
        rows = conn.execute(select(t.lots).where(t.lots.c.product.in_(chunk)))
        for row in rows:
            key = (row.product, row.number)
            if key in wanted:
                out[key] = (row.id, Lot(row.product, row.number, row.expiry, row.vvm_stage))
    next_id = (conn.execute(select(func.max(t.lots.c.id))).scalar() or 0) + 1
    as_text = conn.dialect.name == "sqlite"

    def day(value: date | None) -> Any:
        return value.isoformat() if as_text and value is not None else value

    new_rows: list[tuple[Any, ...]] = []
    vvm_updates: list[tuple[int, int]] = []
    expiry_updates: list[tuple[Any, int]] = []
    for key, lot in wanted.items():
        known = out.get(key)
        if known is None:
            new_rows.append((next_id, lot.product, lot.number, day(lot.expiry), lot.vvm_stage))
            out[key] = (next_id, lot)
            next_id += 1
            continue
        lot_id, stored = known
        if lot.expiry is not None and stored.expiry is not None and lot.expiry != stored.expiry:
            _lot_conflict(lot, stored.expiry, "in this batch")
        if stored.expiry is None and lot.expiry is not None:
            expiry_updates.append((day(lot.expiry), lot_id))
            stored = replace(stored, expiry=lot.expiry)
        if lot.vvm_stage > stored.vvm_stage:
            vvm_updates.append((lot.vvm_stage, lot_id))
            stored = replace(stored, vvm_stage=lot.vvm_stage)
        out[key] = (lot_id, stored)
    writes = sink or ConnectionSink(conn)
    writes.insert_many("ledger_lots", ("id", "product", "number", "expiry", "vvm_stage"), new_rows)
    writes.execute_many("UPDATE ledger_lots SET vvm_stage = ? WHERE id = ?", vvm_updates)
    writes.execute_many("UPDATE ledger_lots SET expiry = ? WHERE id = ?", expiry_updates)
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
    for chunk in chunks(lot_ids, LOOKUP_CHUNK):
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
    """Which of ``ids`` are recorded: one driver-level query per 30,000 ids (SQLite) or one
    ``= ANY(array)`` query (PostgreSQL); cheap when, as usual, none are."""
    ordered = list(ids)
    if not ordered:
        return set()
    cursor: Any = conn.connection.cursor()
    found: set[str] = set()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute(
                "SELECT event_id FROM ledger_events WHERE event_id = ANY(%s)", (ordered,)
            )
            found.update(r[0] for r in cursor.fetchall())
            return found
        for chunk in chunks(ordered, ID_CHUNK):
            marks = ", ".join([mark(conn)] * len(chunk))
            cursor.execute(f"SELECT event_id FROM ledger_events WHERE event_id IN ({marks})", chunk)
            found.update(r[0] for r in cursor.fetchall())
    finally:
        cursor.close()
    return found


def stored_lookup(
    conn: Connection, sources: Collection[str]
) -> Callable[[Collection[str]], Mapping[str, StoredEvent]]:
    def lookup(ids: Collection[str]) -> Mapping[str, StoredEvent]:
        present = existing_ids(conn, ids)
        rows: list[Any] = []
        for chunk in chunks(sorted(present), LOOKUP_CHUNK):
            rows.extend(conn.execute(select(t.events).where(t.events.c.event_id.in_(chunk))))
        if not rows:
            return {}
        found = load_events(conn, rows)
        reversed_by: dict[str, str] = {}
        for chunk in chunks(sorted(r.event_id for r, _ in found), LOOKUP_CHUNK):
            q = select(t.events.c.ref, t.events.c.event_id).where(
                t.events.c.kind == "reversal", t.events.c.ref.in_(chunk)
            )
            reversed_by.update({r.ref: r.event_id for r in conn.execute(q)})
        return {
            e.event_id: StoredEvent(
                e,
                r.effective_at,
                r.seq,
                () if isinstance(e, Reversal) else raw_postings(e, sources),
                reversed_by.get(e.event_id),
            )
            for r, e in found
        }

    return lookup


# -- the append ------------------------------------------------------------------------------


def _entries(prepared: Sequence[Prepared]) -> Entries:
    entries = Entries()
    entries.add_items([item for item in prepared if item.postings])
    for item in prepared:
        if isinstance(item.event, PhysicalCount):
            entries.add_count(item)
    return entries


_REVERSAL = EventKind.REVERSAL
#: Kinds whose events name a lot.
_LOT_KINDS = frozenset(k for k, cls in EVENT_CLASSES.items() if hasattr(cls, "lot"))


def _event_rows(
    items: Sequence[Prepared],
    lot_ids: Mapping[tuple[str, str], int],
    dates_as_text: bool,
) -> list[EventRows]:
    """Event rows grouped by (kind, whether the client gave the recording time)."""
    groups: dict[tuple[EventKind, bool], list[Prepared]] = {}
    for item in items:
        key = (item.event.kind, item.event.recorded_at is not None)
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
        group.append(item)
    return [
        event_rows(
            kind,
            own,
            [item.event for item in group],
            [item.seq for item in group],
            [item.effective_at for item in group],
            lot_ids,
            dates_as_text,
        )
        for (kind, own), group in groups.items()
    ]


@dataclass(frozen=True)
class EventRows:
    """Rows of events of one kind, ready for :func:`insert_many`: bound ``columns``, values
    the same for every row (``constants``: kind, and the recorder when there is one), and
    columns repeating another one (``repeats``: a plain event takes effect when it occurred)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    constants: dict[str, Any]
    repeats: dict[str, str]


def event_rows(
    kind: EventKind,
    own: bool,
    events: Sequence[LedgerEvent],
    seqs: Sequence[int],
    effective: Sequence[int],
    lot_ids: Mapping[tuple[str, str], int],
    dates_as_text: bool,
) -> EventRows:
    """The rows of many events of one kind (``own``: each carries its recording time),
    built column by column. Columns that would repeat a value on every row, or repeat
    another column, are not bound per row (binding is most of a bulk insert's cost)."""
    e: Any = events
    columns: list[str] = ["seq", "event_id", "occurred_at"]
    values: list[Sequence[Any]] = [seqs, list(map(attrgetter("event_id"), e))]
    constants: dict[str, Any] = {"kind": kind.value}
    repeats: dict[str, str] = {}
    if kind is _REVERSAL:  # takes effect when the reversed event did, not when recorded
        values.append([to_instant(moment) for moment in map(attrgetter("occurred_at"), e)])
        columns.append("effective_at")
        values.append(effective)
    else:
        values.append(effective)
        repeats["effective_at"] = "occurred_at"
    recorders = list(map(attrgetter("recorded_by"), e))
    if len(set(recorders)) == 1 and "\x00" not in recorders[0]:  # a literal of the statement
        constants["recorded_by"] = recorders[0]
    else:
        columns.append("recorded_by")
        values.append(recorders)
    if own:
        columns.append("recorded_at")
        values.append([to_instant(ev.recorded_at) for ev in e])
    column_lots: list[int | None] = (
        _lot_id_column(list(map(attrgetter("lot"), e)), lot_ids)
        if kind in _LOT_KINDS
        else [None] * len(events)
    )
    for name, column in zip(
        KIND_COLUMNS[kind], kind_columns(kind, events, column_lots, dates_as_text), strict=True
    ):
        if name in _OFTEN_UNIFORM and len(set(column)) == 1 and isinstance(column[0], int):
            constants[name] = column[0]  # e.g. every dose of an import at VVM stage 1
        else:
            columns.append(name)
            values.append(column)
    return EventRows(tuple(columns), list(zip(*values, strict=True)), constants, repeats)


#: Columns whose value is often the same for a whole batch of one kind (then written into
#: the statement instead of bound per row).
_OFTEN_UNIFORM = frozenset({"vvm_stage", "lot_id"})


def _lot_id_column(lots: Sequence[Lot], lot_ids: Mapping[tuple[str, str], int]) -> list[int | None]:
    """Each lot's id. A bulk batch names a few lot objects many times: their ids are looked
    up once, then mapped by object identity (no Python-level loop per event)."""
    distinct = dict(zip(map(id, lots), lots, strict=True))
    by_object = {key: lot_ids[(lot.product, lot.number)] for key, lot in distinct.items()}
    return list(map(by_object.__getitem__, map(id, lots)))


def append_batch(
    conn: Connection,
    batch: Sequence[LedgerEvent],
    *,
    cache: AccountCache,
    now: datetime | None = None,
    progress: Progress | None = None,
    assume_new: bool = False,
    sink: Sink | None = None,
) -> tuple[AppendResult, Callable[[], None]]:
    """Append ``batch`` inside the caller's (just begun, locked) transaction. Raises a
    ``DoseflowError`` before writing anything if any event is refused. Returns the result
    and what to run once the transaction has committed (it brings ``cache`` up to date).

    ``assume_new``: unless a sample of the batch's ids is already recorded, skip looking up
    every id (a million index probes for a million events) and let the unique key on event
    ids catch a re-send: the insert then raises ``IntegrityError`` and the caller must roll
    back and append again with ``assume_new=False``.

    ``sink``: where the writes go (default: ``conn`` itself). With a SQLite writer process
    (:class:`~doseflow.store.ledger_sql.ProcessSink`), ``conn`` only reads: the writer holds
    the lock, so what it reads is what the writer's transaction started from."""
    sqlite = conn.dialect.name == "sqlite"
    writes = sink or ConnectionSink(conn)
    version = cache.sync(conn)
    kinds = node_kinds(conn)
    by_class = _by_class(batch)
    check_nodes(batch, kinds, by_class)
    sources = frozenset(code for code, kind in kinds.items() if kind == NodeKind.SUPPLIER.value)
    named_lots = distinct_lots(by_class)
    lots = store_lots(conn, batch_lots(batch, named_lots), writes)
    if any(lot.expiry is None for lot in named_lots):  # take the registered expiry
        batch = [_with_registered_expiry(e, lots) for e in batch]
        by_class = _by_class(batch)
    lot_ids = {k: v[0] for k, v in lots.items()}
    first_seq = (conn.execute(select(func.max(t.events.c.seq))).scalar() or 0) + 1
    lookup = stored_lookup(conn, sources)
    optimistic = assume_new and not existing_ids(conn, _sample_ids(batch))
    if optimistic:
        # only reversal targets are looked up; were any id of the batch stored after all,
        # its insert violates the event id's unique key (the caller then runs the batch
        # again with assume_new=False)
        targets = {e.reverses for e in by_class.get(Reversal, ())}  # type: ignore[attr-defined]
        full = lookup

        def lookup(ids: Collection[str]) -> Mapping[str, StoredEvent]:
            return full([i for i in ids if i in targets]) if targets else {}

    ids = [e.event_id for e in batch]
    # event rows are handed to ``writes`` as soon as they are built: a writer process
    # inserts them while this process still checks the batch (a refusal rolls back)
    out = _EventOutput(
        writes, next_batch_number(conn), to_instant(now or datetime.now(UTC)), progress
    )
    plan: _Plan | AppendResult
    if optimistic and _plain(batch, by_class, ids):
        plan = _plan_plain(
            conn, cache, batch, by_class, ids, sources, first_seq, lot_ids, sqlite, out
        )
    else:
        plan = _plan_general(
            conn, cache, batch, lookup, sources, first_seq, lot_ids, sqlite, writes, out
        )
    if isinstance(plan, AppendResult):  # nothing new
        return plan, lambda: None
    out.finish()
    # then the batch, the projections and the write version
    writes.execute(
        "INSERT INTO ledger_batches (id, uuid, recorded_at, events) VALUES (?, ?, ?, ?)",
        (out.batch, str(uuid.uuid4()), out.recorded, out.done),
    )
    plan.projection.write(writes)
    bump_version(writes)
    return plan.result, plan.projection.committer(version + 1)


class _EventOutput:
    """Writes event rows for one append (its batch number and recording time), counting
    them for ``progress``."""

    def __init__(self, writes: Sink, batch: int, recorded: int, progress: Progress | None):
        self.writes = writes
        self.batch = batch
        self.recorded = recorded
        self.progress = progress
        self.done = 0
        self.total = 0

    def emit(self, group: EventRows, total: int) -> None:
        """Write ``group`` (``total``: the events the append will write in all)."""
        constants = {**group.constants, "batch": self.batch}
        if "recorded_at" not in group.columns:
            constants["recorded_at"] = self.recorded
        for chunk in chunks(group.rows, CHUNK):
            self.writes.insert_many(
                "ledger_events", group.columns, chunk, constants, repeats=group.repeats
            )
            self.done += len(chunk)
            self.total = total
            if self.progress is not None:
                self.progress(self.done, total)

    def finish(self) -> None:
        """The last progress report says everything was written (the total announced may
        have counted adjustments that agreeing physical counts did not produce)."""
        if self.progress is not None and self.done and self.total != self.done:
            self.progress(self.done, self.done)


@dataclass(frozen=True)
class _Plan:
    """A checked batch whose event rows are written: the projection changes, and what to
    report."""

    projection: BatchProjection
    result: AppendResult


_RECORDED_AT = attrgetter("recorded_at")


def _plain(
    batch: Sequence[LedgerEvent], by_class: Mapping[type, list[LedgerEvent]], ids: list[str]
) -> bool:
    """Whether the bulk path applies: only movements, plans and holds (no reversal or count,
    whose effect depends on other events), no recording times given, no id twice."""
    return (
        Reversal not in by_class
        and PhysicalCount not in by_class
        and set(map(_RECORDED_AT, batch)) == {None}
        and len(set(ids)) == len(ids)
    )


def _plan_plain(
    conn: Connection,
    cache: AccountCache,
    batch: Sequence[LedgerEvent],
    by_class: Mapping[type, list[LedgerEvent]],
    ids: list[str],
    sources: frozenset[str],
    first_seq: int,
    lot_ids: Mapping[tuple[str, str], int],
    sqlite: bool,
    out: _EventOutput,
) -> _Plan:
    """The bulk path (see :func:`_plain`): the same sequence numbers, postings and rows as
    :func:`_plan_general` would give a batch of new events, computed kind by kind over
    columns instead of event by event. Event ``i`` of the batch gets ``first_seq + i``."""
    positions = _class_positions(batch)
    entries = Entries()
    for cls, events in by_class.items():
        kind: EventKind = cls.kind  # type: ignore[attr-defined]
        seqs = [first_seq + i for i in positions[cls]]
        at = instants(map(attrgetter("occurred_at"), events))
        out.emit(event_rows(kind, False, events, seqs, at, lot_ids, sqlite), len(batch))
        class_ids = [ids[i] for i in positions[cls]]
        for leg in stock_and_transit_legs(kind, events, sources):
            entries.add_leg(leg, at, seqs, class_ids)
    projection = BatchProjection(conn, cache, lot_ids)
    raise_violations(projection.apply(entries))
    return _Plan(projection, AppendResult(tuple(ids), (), ()))


def _plan_general(
    conn: Connection,
    cache: AccountCache,
    batch: Sequence[LedgerEvent],
    lookup: Callable[[Collection[str]], Mapping[str, StoredEvent]],
    sources: frozenset[str],
    first_seq: int,
    lot_ids: dict[tuple[str, str], int],
    sqlite: bool,
    writes: Sink,
    out: _EventOutput,
) -> _Plan | AppendResult:
    """Any batch, event by event by the engine's rules (:func:`prepare_batch`): re-sends,
    reversals and physical counts included. Returns only the result if nothing is new."""
    prepared = prepare_batch(batch, stored=lookup, sources=sources, first_seq=first_seq)
    if not prepared.new:
        return AppendResult((), prepared.skipped, ())
    counts = sum(isinstance(item.event, PhysicalCount) for item in prepared.new)
    expected = len(prepared.new) + counts  # at most: a count may produce an adjustment
    for group in _event_rows(prepared.new, lot_ids, sqlite):
        out.emit(group, expected)
    entries = _entries(prepared.new)
    reversed_lots = {
        (p[2], p[3]) for item in prepared.new if item.event.kind is _REVERSAL for p in item.postings
    }
    missing = reversed_lots - lot_ids.keys()
    if missing:  # lots named only by reversed events
        for key, (lot_id, _lot) in store_lots(conn, _known_lots(conn, missing), writes).items():
            lot_ids[key] = lot_id
    projection = BatchProjection(conn, cache, lot_ids)
    raise_violations(projection.apply(entries))
    # physical counts become count-correction adjustments (or nothing, if they agree)
    derived: list[Prepared] = []
    extra = Entries()
    for item in prepared.new:
        if not isinstance(item.event, PhysicalCount):
            continue
        delta = projection.count_deltas[item.event.event_id]
        if delta == 0:
            continue
        adjustment = discrepancy_adjustment(item, delta, sources)
        derived.append(adjustment)
        stock = item.event.lot.product, item.event.lot.number
        others = [
            p
            for p in adjustment.postings
            if not (p[0] is AccountState.STOCK and p[1] == item.event.node and p[2:4] == stock)
        ]
        extra.add_postings(
            others,
            adjustment.effective_at,
            adjustment.order,
            adjustment.seq,
            adjustment.event.event_id,
        )
    raise_violations(projection.apply(extra))
    result = AppendResult(
        tuple(p.event.event_id for p in prepared.new),
        prepared.skipped,
        tuple(p.event.event_id for p in derived),
    )
    for group in _event_rows(derived, lot_ids, sqlite):
        out.emit(group, len(prepared.new) + len(derived))
    return _Plan(projection, result)


def next_batch_number(conn: Connection) -> int:
    """The number the next append takes in ``ledger_batches`` (read under the writers'
    lock); every event row of the append carries it."""
    return int(conn.execute(select(func.coalesce(func.max(t.batches.c.id), 0))).scalar_one()) + 1


#: Ids of a batch probed before it is appended on the optimistic path.
ID_SAMPLE = 1_000


def _sample_ids(batch: Sequence[LedgerEvent]) -> list[str]:
    """Up to :data:`ID_SAMPLE` ids spread evenly over the batch (a re-sent file, or a sync
    overlapping the last one, shows up in any such sample)."""
    step = max(1, len(batch) // ID_SAMPLE)
    return [e.event_id for e in batch[::step]]


def bump_version(writes: Sink) -> None:
    """Every transaction that writes the ledger's events or projections calls this."""
    writes.execute("UPDATE ledger_version SET version = version + 1 WHERE id = 1")
