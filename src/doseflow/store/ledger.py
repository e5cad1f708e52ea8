"""The stock ledger repository: the one way other areas read and write the ledger.

```python
ledger = LedgerStore(open_database(url))
ledger.register_nodes(network.nodes.values())
ledger.append_events([...])            # all-or-nothing; re-sends are no-ops
ledger.stock_on_hand(node="PRK-NS", product="AZ-SII", at=date(2021, 6, 30))
ledger.stock_card("PRK-NS", "AZ-SII")
ledger.in_transit(); ledger.held_at_hubs(); ledger.expiring(30)  # today at each node
ledger.self_check()                    # conservation and never-negative, by full replay
```

Every quantity is in doses (each view carries ``unit``). See ``docs/ledger.md``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import IntegrityError

from doseflow.data.time_zones import zone_for
from doseflow.domain.events import LedgerEvent
from doseflow.domain.network import Node, NodeKind
from doseflow.domain.temperature import TemperatureBand
from doseflow.domain.time_zone import local_date, zone_name
from doseflow.ledger.accounts import CHECKED_STATES
from doseflow.ledger.book import AppendResult, Book
from doseflow.ledger.conservation import ConservationReport, compare
from doseflow.ledger.views import (
    ExpiringLine,
    FefoSuggestion,
    HubHolding,
    ShipmentStatus,
    StockCard,
    StockLine,
    TransitLine,
    expiring_within,
    fefo,
)
from doseflow.store import ledger_query as q
from doseflow.store import ledger_tables as t
from doseflow.store.ledger_cache import AccountCache, account_cache
from doseflow.store.ledger_projection import ACCOUNT_COLUMNS, STEP_COLUMNS
from doseflow.store.ledger_sql import (
    insert_many,
    sqlite_file,
    write_transaction,
)
from doseflow.store.ledger_write import Progress, append_batch, bump_version

__all__ = ["AppendResult", "LedgerStore", "Moment"]

Moment = q.Moment

#: Batches of at least this many events into a SQLite file are written by the database's
#: writer process, on another core (smaller ones: the process's start and the hand-over
#: cost more than they save).
WRITER_PROCESS_EVENTS = 20_000


class LedgerStore:
    """Reads and writes the ledger on an engine from ``doseflow.store.database``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- master data ---------------------------------------------------------------------

    def register_nodes(self, nodes: Iterable[Node]) -> int:
        """Add nodes, or update the name, parent, region, capacity and time zone of known
        ones (a node without a zone of its own gets its country's default, stored resolved,
        so later changes to the bundled table do not move its days). Returns how many were
        new; ``TIME_ZONE_UNKNOWN`` before anything is written if a zone is not one."""
        rows = {n.code: _node_row(n) for n in nodes}
        with self.engine.begin() as conn:
            known = {code for (code,) in conn.execute(select(t.nodes.c.code))}
            new = [row for code, row in rows.items() if code not in known]
            if new:
                conn.execute(t.nodes.insert(), new)
            for code, row in rows.items():
                if code in known:
                    conn.execute(t.nodes.update().where(t.nodes.c.code == code).values(**row))
        return len(new)

    def nodes(self) -> dict[str, Node]:
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(t.nodes)))
        return {r.code: _node_of(r) for r in rows}

    # -- writing -------------------------------------------------------------------------

    def append_events(
        self,
        batch: Sequence[LedgerEvent],
        *,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> AppendResult:
        """Append ``batch`` in one transaction: all of it, or nothing (a ``DoseflowError``
        names every refused event). Events already recorded with the same content are
        skipped; ``progress(done, total)`` is called as event rows are written.

        Ids are not all looked up first: a sample is, and the unique key on event ids
        catches any other re-sent one as its row is written, whereupon the batch is rolled
        back and appended again with every id looked up (``progress`` then starts over)."""
        # A batch creates millions of short-lived objects and no reference cycles: the
        # cyclic collector would rescan every live object over and over (3-4x slower).
        cache = account_cache(self.engine)
        collecting = gc.isenabled()
        gc.disable()
        # the driver's own error too: bulk inserts go through its cursors (COPY)
        duplicate = (IntegrityError, self.engine.dialect.loaded_dbapi.IntegrityError)
        try:
            try:
                result = self._append(batch, cache, now, progress, assume_new=True)
            except duplicate:  # an id of the batch was recorded after all: check them all
                result = self._append(batch, cache, now, progress, assume_new=False)
        finally:
            if collecting:
                gc.enable()
                # the batch's surviving objects (accounts kept in memory) are examined now,
                # once, rather than by whatever the caller runs next
                gc.collect(0)
        return result

    def _append(
        self,
        batch: Sequence[LedgerEvent],
        cache: AccountCache,
        now: datetime | None,
        progress: Progress | None,
        *,
        assume_new: bool,
    ) -> AppendResult:
        """One attempt at appending ``batch`` in its own locked transaction: on the batch's
        connection, or for a large batch into a SQLite file in the database's writer process
        (``doseflow.store.sqlite_writer``), which then does the SQLite work while this
        process prepares and checks."""
        path = sqlite_file(self.engine)
        use_writer = path is not None and len(batch) >= WRITER_PROCESS_EVENTS
        with cache.lock, self.engine.connect() as conn:
            with write_transaction(conn, writer_path=path if use_writer else None) as tx:
                try:
                    result, remember = append_batch(
                        conn,
                        batch,
                        cache=cache,
                        now=now,
                        progress=progress,
                        assume_new=assume_new,
                        sink=tx.sink,
                    )
                except BaseException:
                    tx.rollback()
                    raise
                try:
                    tx.commit()
                except BaseException:
                    cache.invalidate()
                    raise
            remember()
        return result

    # -- reading -------------------------------------------------------------------------

    def stock_on_hand(
        self,
        *,
        node: str | Sequence[str] | None = None,
        product: str | None = None,
        lot: str | None = None,
        at: Moment | None = None,
        include_zero: bool = False,
        zone: tzinfo | None = None,
    ) -> list[StockLine]:
        """Doses per (node, product, lot) now or at ``at`` (a date means the end of that day
        in each node's time zone, or in ``zone`` if given)."""
        with self.engine.connect() as conn:
            return q.stock_on_hand(
                conn,
                node=node,
                product=product,
                lot=lot,
                at=at,
                include_zero=include_zero,
                zone=zone,
            )

    def stock_page(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        node: str | Sequence[str] | None = None,
        product: str | None = None,
        lot: str | None = None,
        at: Moment | None = None,
        include_zero: bool = False,
        zone: tzinfo | None = None,
        sort: str = "node",
        descending: bool = False,
    ) -> tuple[list[StockLine], int]:
        """A page of :meth:`stock_on_hand`, cut by the database (sorted by one of
        ``q.STOCK_SORTS`` first), and the number of lines."""
        with self.engine.connect() as conn:
            return q.stock_page(
                conn,
                limit=limit,
                offset=offset,
                node=node,
                product=product,
                lot=lot,
                at=at,
                include_zero=include_zero,
                zone=zone,
                sort=sort,
                descending=descending,
            )

    def stock_total(
        self, node: str, product: str, at: Moment | None = None, zone: tzinfo | None = None
    ) -> int:
        """Doses of ``product`` at ``node``, all lots (a date: the end of that day at the
        node, or in ``zone``)."""
        with self.engine.connect() as conn:
            return q.stock_total(conn, node, product, at, zone)

    def stock_summary(
        self, at: Moment | None = None, zone: tzinfo | None = None
    ) -> dict[tuple[str, str], int]:
        """Doses per (node, product) across the whole network (a date: the end of that day
        at each node, or in ``zone``)."""
        with self.engine.connect() as conn:
            return q.stock_summary(conn, at, zone)

    def stock_card(
        self,
        node: str,
        product: str,
        *,
        lot: str | None = None,
        start: Moment | None = None,
        end: Moment | None = None,
        zone: tzinfo | None = None,
    ) -> StockCard:
        """Every movement of ``product`` (or one lot) at ``node`` with running balances;
        dates are days at the node (or in ``zone``)."""
        with self.engine.connect() as conn:
            return q.stock_card(conn, node, product, lot=lot, start=start, end=end, zone=zone)

    def stock_card_page(
        self,
        node: str,
        product: str,
        *,
        limit: int,
        offset: int = 0,
        lot: str | None = None,
        start: Moment | None = None,
        end: Moment | None = None,
        zone: tzinfo | None = None,
    ) -> tuple[StockCard, int]:
        """``limit`` lines of the stock card after ``offset`` (cut by the database; the opening
        balance is the one before the page's first line), and how many lines it has."""
        with self.engine.connect() as conn:
            return q.stock_card_page(
                conn,
                node,
                product,
                lot=lot,
                start=start,
                end=end,
                limit=limit,
                offset=offset,
                zone=zone,
            )

    def in_transit(
        self,
        *,
        at: Moment | None = None,
        destination: str | None = None,
        zone: tzinfo | None = None,
    ) -> list[TransitLine]:
        """Doses in transit per shipment leg and lot, with the expected arrival."""
        with self.engine.connect() as conn:
            return q.in_transit(conn, at=at, destination=destination, zone=zone)

    def node_zones(self) -> dict[str, tzinfo]:
        """The time zone of every registered node (the one its dates are read in)."""
        with self.engine.connect() as conn:
            return q.node_zones(conn)

    def held_at_hubs(
        self, at: Moment | None = None, zone: tzinfo | None = None
    ) -> list[HubHolding]:
        """Stock at hub nodes and the shipments held there (a date ``at``: the end of that
        day at each hub, or in ``zone``)."""
        with self.engine.connect() as conn:
            hubs = [
                c
                for (c,) in conn.execute(
                    select(t.nodes.c.code).where(t.nodes.c.kind == NodeKind.HUB.value)
                )
            ]
            return q.held_at_hubs(conn, hubs, at, zone)

    def today_at(
        self, nodes: Iterable[str], *, now: datetime | None = None, zone: tzinfo | None = None
    ) -> dict[str, date]:
        """Each node's date at ``now`` (the clock if not given): its local date, in its own
        time zone or in ``zone``. A lot expiring on 31 August is usable through the end of
        31 August where it is, so expiry is judged against this date, never UTC's."""
        moment = now or datetime.now(UTC)
        zones = self.node_zones() if zone is None else {}
        return {n: local_date(moment, zone or zones.get(n, UTC)) for n in set(nodes)}

    def expiring(
        self,
        within_days: int,
        *,
        today: date | None = None,
        node: str | Sequence[str] | None = None,
        now: datetime | None = None,
        zone: tzinfo | None = None,
    ) -> list[ExpiringLine]:
        """Lots in stock expiring within ``within_days`` (expired ones included), counted
        from ``today``, else from each node's own date at ``now`` (see :meth:`today_at`), at
        ``node`` (one or several) or everywhere. The database returns only lots expiring by
        the last day any node can be at (UTC's date plus one: no zone is further ahead)."""
        moment = now or datetime.now(UTC)
        latest = today or local_date(moment, UTC) + timedelta(days=1)
        with self.engine.connect() as conn:
            stock = q.stock_on_hand(
                conn, node=node, expiring_by=latest + timedelta(days=within_days)
            )
        day = today or self.today_at({s.node for s in stock}, now=moment, zone=zone)
        return expiring_within(stock, within_days, day)

    def fefo(
        self,
        node: str,
        product: str,
        doses: int,
        *,
        today: date | None = None,
        now: datetime | None = None,
        zone: tzinfo | None = None,
    ) -> FefoSuggestion:
        """Which lots to issue ``doses`` from, first expiry first out; a lot is usable
        through its expiry date at the node (``today``, else the node's date at ``now``)."""
        day = today or self.today_at([node], now=now, zone=zone)[node]
        return fefo(self.stock_on_hand(node=node, product=product), node, product, doses, day)

    def shipments(self, shipment_ids: Sequence[str] | None = None) -> list[ShipmentStatus]:
        with self.engine.connect() as conn:
            return q.shipments(conn, shipment_ids)

    def shipments_page(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        product: str | None = None,
        nodes: Sequence[str] | None = None,
        state: str | None = None,
        sort: str = "shipment",
        descending: bool = False,
    ) -> tuple[list[ShipmentStatus], int]:
        """A page of :meth:`shipments` by shipment id (or by one of ``q.SHIPMENT_SORTS``),
        cut and filtered by the database (of ``product``; naming one of ``nodes``; in
        ``state``), and the count."""
        with self.engine.connect() as conn:
            return q.shipments_page(
                conn,
                limit=limit,
                offset=offset,
                product=product,
                nodes=nodes,
                state=state,
                sort=sort,
                descending=descending,
            )

    def shipment_events(self, shipment_id: str) -> list[LedgerEvent]:
        """Every event of one shipment, in recording order (reversed ones left out)."""
        with self.engine.connect() as conn:
            events = q.shipment_events(conn, [shipment_id]).get(shipment_id, [])
            gone = q.reversed_ids(conn, [e.event_id for e in events])
        return [e for e in events if e.event_id not in gone]

    def events(self, *, since_seq: int = 0) -> Iterator[LedgerEvent]:
        """Every event in recording order (streamed)."""
        with self.engine.connect() as conn:
            for _seq, event in q.iter_events(conn, since_seq=since_seq):
                yield event

    def events_page(
        self, *, limit: int, offset: int = 0, nodes: Sequence[str] | None = None
    ) -> tuple[list[LedgerEvent], int]:
        """A page of events in recording order (only those naming one of ``nodes`` if given),
        cut by the database, and how many match in all."""
        with self.engine.connect() as conn:
            return q.events_page(conn, limit=limit, offset=offset, nodes=nodes)

    def recorded(self, event_ids: Sequence[str]) -> dict[str, LedgerEvent]:
        """The recorded events among ``event_ids``, by id (e.g. the physical counts of one
        count sheet and the corrections they produced, to show what was recorded)."""
        with self.engine.connect() as conn:
            return q.events_by_id(conn, event_ids)

    def event_count(self) -> int:
        with self.engine.connect() as conn:
            return q.event_count(conn)

    # -- checking ------------------------------------------------------------------------

    def _replay(self, conn: Connection) -> tuple[Book, list[object], int]:
        kinds = {r.code: r.kind for r in conn.execute(select(t.nodes.c.code, t.nodes.c.kind))}
        book = Book(sources=frozenset(c for c, k in kinds.items() if k == NodeKind.SUPPLIER.value))
        events = [e for _s, e in q.iter_events(conn)]
        negatives = book.replay(events)
        return book, list(negatives), len(events)

    def self_check(self) -> ConservationReport:
        """Replay every event and compare with the stored balances (see
        ``doseflow.ledger.conservation``)."""
        with self.engine.connect() as conn:
            book, negatives, n = self._replay(conn)
            stored = q.account_balances(conn)
        replayed = {k: v for k, v in book.balances().items() if v or k in stored}
        return compare(n, replayed, stored, negatives)  # type: ignore[arg-type]

    def rebuild_projections(self) -> ConservationReport:
        """Recompute every balance and running balance from the events (the repair for
        projection differences; events are never touched). Returns the check after."""
        cache = account_cache(self.engine)
        with cache.lock, self.engine.connect() as conn, write_transaction(conn) as tx:
            try:
                _rebuild(conn)
                bump_version(tx.sink)
            except BaseException:
                tx.rollback()
                raise
            cache.invalidate()
            tx.commit()
        return self.self_check()


def _rebuild(conn: Connection) -> None:
    kinds = {r.code: r.kind for r in conn.execute(select(t.nodes.c.code, t.nodes.c.kind))}
    book = Book(sources=frozenset(c for c, k in kinds.items() if k == NodeKind.SUPPLIER.value))
    book.replay([e for _s, e in q.iter_events(conn)])
    lot_ids = {
        (p, n): i
        for i, p, n in conn.execute(select(t.lots.c.id, t.lots.c.product, t.lots.c.number))
    }
    conn.execute(delete(t.steps))
    conn.execute(delete(t.accounts))
    account_rows = []
    step_rows = []
    projected = sorted(k for k in book.balances() if k.state in CHECKED_STATES)
    for number, key in enumerate(projected, start=1):
        timeline = book.timeline(key)
        balance = 0
        for entry in timeline:
            balance += entry.delta
            step_rows.append((number, entry.at, entry.order, entry.seq, entry.delta, balance))
        last = timeline[-1] if timeline else None
        account_rows.append(
            (
                number,
                key.state.value,
                key.node,
                key.product,
                lot_ids[(key.product, key.lot)],
                key.ref,
                balance,
                last.at if last else 0,
                last.order if last else 0,
                last.seq if last else 0,
            )
        )
    insert_many(
        conn,
        "ledger_accounts",
        ACCOUNT_COLUMNS,
        account_rows,
    )
    insert_many(conn, "ledger_steps", STEP_COLUMNS, step_rows)


def _node_row(node: Node) -> dict[str, object]:
    return {
        "code": node.code,
        "name": node.name,
        "kind": node.kind.value,
        "country": node.country,
        "parent": node.parent,
        "region": node.region,
        "capacity": json.dumps({b.value: v for b, v in node.capacity_litres.items()}),
        "time_zone": zone_name(zone_for(node.time_zone, node.country)),
    }


def _node_of(row: object) -> Node:
    capacity = json.loads(getattr(row, "capacity", None) or "{}")
    return Node(
        code=getattr(row, "code"),  # noqa: B009
        name=getattr(row, "name"),  # noqa: B009
        kind=NodeKind(getattr(row, "kind")),  # noqa: B009
        country=getattr(row, "country"),  # noqa: B009
        parent=getattr(row, "parent"),  # noqa: B009
        region=getattr(row, "region"),  # noqa: B009
        capacity_litres={TemperatureBand(b): float(v) for b, v in capacity.items()},
        time_zone=getattr(row, "time_zone"),  # noqa: B009
    )
