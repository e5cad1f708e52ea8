"""Reading the ledger: stock on hand at any moment, stock cards, transit, hubs, shipments.

Current balances come straight from ``ledger_accounts``; balances at a past moment take,
per account, the last step at or before that moment (one index seek each).

A date means the end of that civil day *at the node*: the instant before the next local
midnight in the node's time zone (``ledger_nodes.time_zone``;
:func:`doseflow.domain.time_zone.day_start` is the rule), or in the ``zone`` a caller gives
instead (e.g. an org unit's). A datetime is an exact instant wherever the node is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from doseflow.data.time_zones import FALLBACK_ZONE, load_zone
from doseflow.domain.events import EventKind, LedgerEvent
from doseflow.domain.time_zone import day_start
from doseflow.ledger.accounts import AccountKey, AccountState, from_instant, to_instant
from doseflow.ledger.views import (
    STATE_AFTER,
    CardLine,
    HeldShipment,
    HubHolding,
    ReceiptDiscrepancy,
    ShipmentState,
    ShipmentStatus,
    StockCard,
    StockLine,
    TransitLine,
    shipment_status,
)
from doseflow.store import ledger_tables as t
from doseflow.store.ledger_rows import ROUTE_SEPARATOR
from doseflow.store.ledger_write import LOOKUP_CHUNK, load_events

Moment = date | datetime


def instant_of(moment: Moment, zone: tzinfo = UTC) -> int:
    """The last instant ``moment`` covers: a datetime is exact; a date means the end of that
    day in ``zone`` (the second before the next local midnight: instants are whole seconds)."""
    if isinstance(moment, datetime):
        return to_instant(moment)
    return to_instant(day_start(moment + timedelta(days=1), zone)) - 1


def node_zones(conn: Connection) -> dict[str, tzinfo]:
    """Each registered node's time zone (a node never registered: UTC)."""
    rows = conn.execute(select(t.nodes.c.code, t.nodes.c.time_zone))
    return {code: load_zone(name or FALLBACK_ZONE) for code, name in rows}


def zone_of_node(conn: Connection, node: str) -> tzinfo:
    name = conn.execute(select(t.nodes.c.time_zone).where(t.nodes.c.code == node)).scalar()
    return load_zone(name or FALLBACK_ZONE)


def _balance_at(at: Any) -> Any:
    s = t.steps
    return (
        select(s.c.balance_after)
        .where(s.c.account_id == t.accounts.c.id, s.c.at <= at)
        .order_by(s.c.at.desc(), s.c.ord.desc(), s.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


def _cutoff(conn: Connection, at: Moment, zone: tzinfo | None) -> Any:
    """The instant ``at`` means for each account row: one value for a datetime or a given
    zone; for a date without one, the end of that day in the zone of the account's node
    (one ``CASE`` arm per zone in use)."""
    if zone is not None or isinstance(at, datetime):
        return literal(instant_of(at, zone or UTC))
    names = sorted(
        {name for (name,) in conn.execute(select(t.nodes.c.time_zone).distinct()) if name}
    )
    fallback = instant_of(at, UTC)
    if not names:
        return literal(fallback)
    node_zone = (
        select(t.nodes.c.time_zone)
        .where(t.nodes.c.code == t.accounts.c.node)
        .correlate(t.accounts)
        .scalar_subquery()
    )
    return case(
        {name: literal(instant_of(at, load_zone(name))) for name in names},
        value=node_zone,
        else_=literal(fallback),
    )


def _balance_column(conn: Connection, at: Moment | None, zone: tzinfo | None = None) -> Any:
    if at is None:
        return t.accounts.c.balance
    return func.coalesce(_balance_at(_cutoff(conn, at, zone)), 0)


def _accounts_query(
    conn: Connection,
    state: AccountState,
    at: Moment | None,
    node: str | Sequence[str] | None,
    product: str | None,
    lot: str | None,
    zone: tzinfo | None = None,
) -> Select[Any]:
    a, lots = t.accounts, t.lots
    q = (
        select(
            a.c.id,
            a.c.node,
            a.c.product,
            a.c.ref,
            lots.c.number,
            lots.c.expiry,
            lots.c.vvm_stage,
            _balance_column(conn, at, zone).label("doses"),
        )
        .join(lots, lots.c.id == a.c.lot_id)
        .where(a.c.state == state.value)
    )
    if isinstance(node, str):
        q = q.where(a.c.node == node)
    elif node is not None:
        q = q.where(a.c.node.in_(list(node)))
    if product is not None:
        q = q.where(a.c.product == product)
    if lot is not None:
        q = q.where(lots.c.number == lot)
    return q


def stock_on_hand(
    conn: Connection,
    *,
    node: str | Sequence[str] | None = None,
    product: str | None = None,
    lot: str | None = None,
    at: Moment | None = None,
    include_zero: bool = False,
    zone: tzinfo | None = None,
    expiring_by: date | None = None,
) -> list[StockLine]:
    """Stock lines; ``expiring_by``: only lots with an expiry date on or before it (the
    database picks them, so a question about expiry does not read every line)."""
    query = _accounts_query(conn, AccountState.STOCK, at, node, product, lot, zone)
    if expiring_by is not None:
        query = query.where(t.lots.c.expiry.isnot(None), t.lots.c.expiry <= expiring_by)
    if at is None and not include_zero:
        query = query.where(t.accounts.c.balance != 0)
    rows = conn.execute(query)
    out = [
        StockLine(r.node, r.product, r.number, r.expiry, r.vvm_stage, int(r.doses))
        for r in rows
        if include_zero or r.doses
    ]
    return sorted(out, key=lambda s: (s.node, s.product, s.expiry or date.max, s.lot))


#: Columns a page of stock can be sorted by (then by the usual order).
STOCK_SORTS = ("node", "product", "lot", "expiry", "vvm_stage", "doses")


def stock_page(
    conn: Connection,
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
    """One page of :func:`stock_on_hand` (by default the same order: node, product, expiry
    with none last, lot; else by ``sort`` first), cut by the database (every line when
    ``limit`` is None), and how many lines match in all."""
    query = _accounts_query(conn, AccountState.STOCK, at, node, product, lot, zone)
    if not include_zero:
        query = query.where(_balance_column(conn, at, zone) != 0)
    lots = t.lots
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    first = {
        "node": t.accounts.c.node,
        "product": t.accounts.c.product,
        "lot": lots.c.number,
        "expiry": lots.c.expiry,
        "vvm_stage": lots.c.vvm_stage,
        "doses": _balance_column(conn, at, zone),
    }[sort]
    leading = [first.is_(None), first.desc()] if descending else [first.is_(None), first]
    ordered = query.order_by(
        *leading,
        t.accounts.c.node,
        t.accounts.c.product,
        lots.c.expiry.is_(None),
        lots.c.expiry,
        lots.c.number,
        t.accounts.c.id,
    )
    rows = conn.execute(ordered.limit(limit).offset(offset))
    lines = [
        StockLine(r.node, r.product, r.number, r.expiry, r.vvm_stage, int(r.doses)) for r in rows
    ]
    return lines, int(total)


def stock_total(
    conn: Connection,
    node: str,
    product: str,
    at: Moment | None = None,
    zone: tzinfo | None = None,
) -> int:
    """Doses of ``product`` in stock at ``node`` (all lots)."""
    a = t.accounts
    if at is None:
        q = select(func.coalesce(func.sum(a.c.balance), 0)).where(
            a.c.node == node, a.c.product == product, a.c.state == AccountState.STOCK.value
        )
        return int(conn.execute(q).scalar_one())
    sub = (
        select(_balance_column(conn, at, zone).label("b"))
        .where(a.c.node == node, a.c.product == product, a.c.state == AccountState.STOCK.value)
        .subquery()
    )
    return int(conn.execute(select(func.coalesce(func.sum(sub.c.b), 0))).scalar_one())


def stock_summary(
    conn: Connection, at: Moment | None = None, zone: tzinfo | None = None
) -> dict[tuple[str, str], int]:
    """Doses in stock per (node, product), every node and product with stock."""
    a = t.accounts
    if at is None:  # one grouped scan; plain DBAPI rows (165,000 of them for 3,300 x 50)
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cursor = conn.connection.cursor()
        try:
            cursor.execute(
                "SELECT node, product, SUM(balance) FROM ledger_accounts "
                f"WHERE state = {mark} GROUP BY node, product",
                (AccountState.STOCK.value,),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return {(n, p): int(s) for n, p, s in rows if s}
    sub = (
        select(a.c.node, a.c.product, _balance_column(conn, at, zone).label("b"))
        .where(a.c.state == AccountState.STOCK.value)
        .subquery()
    )
    q2 = select(sub.c.node, sub.c.product, func.sum(sub.c.b)).group_by(sub.c.node, sub.c.product)
    return {(n, p): int(s) for n, p, s in conn.execute(q2) if s}


def account_balances(conn: Connection) -> dict[AccountKey, int]:
    """Every stored account balance (the projection), for the self-check."""
    a, lots = t.accounts, t.lots
    q = select(a.c.state, a.c.node, lots.c.product, lots.c.number, a.c.ref, a.c.balance).join(
        lots, lots.c.id == a.c.lot_id
    )
    return {
        AccountKey(AccountState(s), n, p, num, ref): int(b)
        for s, n, p, num, ref, b in conn.execute(q)
    }


def _counterpart(row: Any, node: str) -> str | None:
    kind = EventKind(row.kind)
    if kind in (EventKind.TRANSFER, EventKind.ISSUE):
        return str(row.to_node if row.node == node else row.node)
    if kind in (
        EventKind.DISPATCHED,
        EventKind.DISPATCHED_ONWARD,
        EventKind.ARRIVED_AT_HUB,
        EventKind.RECEIVED,
    ):
        return f"shipment {row.shipment_id}"
    if kind is EventKind.ADJUSTMENT:
        return str(row.reason)
    if kind is EventKind.REVERSAL:
        return f"reverses {row.ref}"
    return None


def _discrepancy(row: Any) -> ReceiptDiscrepancy | None:
    """The doses a receipt did not accept, against what was dispatched on its shipment."""
    if row.kind != EventKind.RECEIVED.value or not row.discrepancy:
        return None
    return ReceiptDiscrepancy.of(
        int(row.discrepancy), int(row.quantity or 0), row.reason, f"shipment {row.shipment_id}"
    )


def stock_card(
    conn: Connection,
    node: str,
    product: str,
    *,
    lot: str | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    zone: tzinfo | None = None,
) -> StockCard:
    return stock_card_page(conn, node, product, lot=lot, start=start, end=end, zone=zone)[0]


def stock_card_page(
    conn: Connection,
    node: str,
    product: str,
    *,
    lot: str | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    limit: int | None = None,
    offset: int = 0,
    zone: tzinfo | None = None,
) -> tuple[StockCard, int]:
    """The stock card, or ``limit`` of its lines after ``offset`` (cut by the database, the
    opening balance then being the one before the page's first line), and its line count.
    Dates are days at the node (in ``zone`` if given): ``start`` from its local midnight,
    ``end`` to the end of its local day."""
    accounts = list(
        conn.execute(_accounts_query(conn, AccountState.STOCK, None, node, product, lot))
    )
    ids = {r.id: r.number for r in accounts}
    # a receipt rejected whole moves no stock: it is found by its step out of transit to
    # the node (transit accounts are kept by destination)
    transit = {
        r.id: r.number
        for r in conn.execute(_accounts_query(conn, AccountState.TRANSIT, None, node, product, lot))
    }
    here = zone or zone_of_node(conn, node)
    lot_balances: dict[str, int] = {}
    before = 0
    if start is not None:
        before = (
            to_instant(start)
            if isinstance(start, datetime)
            else to_instant(day_start(start, here)) - 1
        )
        opening_rows = conn.execute(
            _accounts_query(conn, AccountState.STOCK, from_instant(before), node, product, lot)
        )
        lot_balances = {r.number: int(r.doses) for r in opening_rows}
    opening = sum(lot_balances.values())
    if not ids and not transit:
        return StockCard(node, product, lot, opening, ()), 0
    lines_q = _card_lines(ids, transit)
    q = select(lines_q).order_by(lines_q.c.at, lines_q.c.ord, lines_q.c.seq, lines_q.c.account_id)
    if start is not None:
        q = q.where(lines_q.c.at > before)
    if end is not None:
        q = q.where(lines_q.c.at <= instant_of(end, here))
    # counted only for a page: unpaged, the count is the number of lines read (below)
    count = (
        None
        if limit is None
        else int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
    )
    if offset:
        skipped = q.limit(offset).subquery()
        opening += int(
            conn.execute(select(func.coalesce(func.sum(skipped.c.delta), 0))).scalar_one()
        )
    stock_of_lot = {number: account for account, number in ids.items()}
    lines: list[CardLine] = []
    lot_now: dict[str, int] = {}
    total = opening
    for r in conn.execute(q.offset(offset).limit(limit)):
        total += r.delta
        if r.balance_after is None:  # a rejection: the lot's balance is unchanged
            number = transit[r.transit_id]
            if number not in lot_now:
                lot_now[number] = _lot_balance_before(conn, stock_of_lot.get(number), r)
        else:
            number = ids[r.account_id]
            lot_now[number] = int(r.balance_after)
        lines.append(
            CardLine(
                at=from_instant(r.at),
                event_id=r.event_id,
                kind=EventKind(r.kind),
                lot=number,
                counterpart=_counterpart(r, node),
                doses_in=max(r.delta, 0),
                doses_out=max(-r.delta, 0),
                lot_balance=lot_now[number],
                balance=total,
                recorded_by=r.recorded_by,
                recorded_at=from_instant(r.recorded_at),
                discrepancy=_discrepancy(r),
            )
        )
    card = StockCard(node, product, lot, opening, tuple(lines))
    return card, len(lines) + offset if count is None else count


def _card_lines(stock: Collection[int], transit: Collection[int]) -> Any:
    """The card's lines as one subquery: every step of the node's stock accounts (the
    movements), and the receipts rejected whole (no stock step; found by their step out of
    the node's transit accounts, with a delta of 0 and no balance), unless reversed."""
    s, e = t.steps, t.events
    event_columns = (
        e.c.event_id,
        e.c.kind,
        e.c.node,
        e.c.to_node,
        e.c.shipment_id,
        e.c.reason,
        e.c.ref,
        e.c.quantity,
        e.c.discrepancy,
        e.c.recorded_by,
        e.c.recorded_at,
    )
    movements = (
        select(
            s.c.account_id,
            null().label("transit_id"),
            s.c.at,
            s.c.ord,
            s.c.seq,
            s.c.delta,
            s.c.balance_after,
            *event_columns,
        )
        .join(e, e.c.seq == s.c.seq)
        .where(s.c.account_id.in_(list(stock)))
    )
    undone = e.alias("undone")
    rejections = (
        select(
            null().label("account_id"),
            s.c.account_id.label("transit_id"),
            s.c.at,
            s.c.ord,
            s.c.seq,
            literal(0).label("delta"),
            null().label("balance_after"),
            *event_columns,
        )
        .join(e, e.c.seq == s.c.seq)
        .where(
            s.c.account_id.in_(list(transit)),
            e.c.kind == EventKind.RECEIVED.value,
            e.c.quantity == 0,
            ~exists().where(
                undone.c.kind == EventKind.REVERSAL.value, undone.c.ref == e.c.event_id
            ),
        )
    )
    return union_all(movements, rejections).subquery()


def _lot_balance_before(conn: Connection, account: int | None, row: Any) -> int:
    """The balance of a lot's stock account just before ``row``'s place on the card."""
    if account is None:
        return 0
    s = t.steps
    earlier = or_(
        s.c.at < row.at,
        and_(s.c.at == row.at, or_(s.c.ord < row.ord, and_(s.c.ord == row.ord, s.c.seq < row.seq))),
    )
    found = conn.execute(
        select(s.c.balance_after)
        .where(s.c.account_id == account, earlier)
        .order_by(s.c.at.desc(), s.c.ord.desc(), s.c.seq.desc())
        .limit(1)
    ).scalar()
    return int(found or 0)


def events_by_id(conn: Connection, event_ids: Sequence[str]) -> dict[str, LedgerEvent]:
    """The recorded events among ``event_ids``, by id."""
    e = t.events
    rows: list[Any] = []
    wanted = sorted(set(event_ids))
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        rows.extend(conn.execute(select(e).where(e.c.event_id.in_(wanted[i : i + LOOKUP_CHUNK]))))
    return {event.event_id: event for _row, event in load_events(conn, rows)}


def shipment_events(
    conn: Connection, shipment_ids: Sequence[str] | None
) -> dict[str, list[LedgerEvent]]:
    e = t.events
    rows: list[Any] = []
    if shipment_ids is None:
        rows = list(conn.execute(select(e).where(e.c.shipment_id.isnot(None)).order_by(e.c.seq)))
    else:
        ordered = sorted(set(shipment_ids))
        for i in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[i : i + LOOKUP_CHUNK]
            rows.extend(conn.execute(select(e).where(e.c.shipment_id.in_(chunk)).order_by(e.c.seq)))
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row, event in load_events(conn, rows):
        grouped[row.shipment_id].append(event)
    return grouped


def reversed_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    e = t.events
    out: set[str] = set()
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        q = select(e.c.ref).where(
            e.c.kind == "reversal", e.c.ref.in_(ordered[i : i + LOOKUP_CHUNK])
        )
        out.update(r for (r,) in conn.execute(q))
    return out


def shipments(conn: Connection, shipment_ids: Sequence[str] | None = None) -> list[ShipmentStatus]:
    grouped = shipment_events(conn, shipment_ids)
    gone = reversed_ids(conn, [ev.event_id for evs in grouped.values() for ev in evs])
    return [shipment_status(sid, evs, gone) for sid, evs in sorted(grouped.items())]


#: Columns a page of shipments can be sorted by in the database: the id, the state, and the
#: doses a shipment's live (not reversed) events add up to, as :func:`shipment_status` adds
#: them.
SHIPMENT_SORTS = ("shipment", "state", "planned", "dispatched", "received", "written_off")


def _dose_sums(ids: Any) -> Any:
    """Per shipment in ``ids``: planned, dispatched, received and written-off doses of its
    events that were not reversed."""
    e = t.events
    undone = select(e.c.ref).where(e.c.kind == "reversal", e.c.ref.isnot(None))

    def total(kind: str, column: Any) -> Any:
        return func.coalesce(func.sum(case((e.c.kind == kind, column), else_=0)), 0)

    return (
        select(
            e.c.shipment_id,
            total("shipment-planned", e.c.quantity).label("planned"),
            total("dispatched", e.c.quantity).label("dispatched"),
            total("received", e.c.quantity).label("received"),
            total("received", func.coalesce(e.c.discrepancy, 0)).label("written_off"),
        )
        .where(e.c.shipment_id.in_(select(ids.c.shipment_id)), e.c.event_id.notin_(undone))
        .group_by(e.c.shipment_id)
        .subquery()
    )


def _states(ids: Any) -> Any:
    """Every shipment in ``ids`` with its state as :func:`shipment_status` folds it: the state
    after its last live event that sets one (by time, then recording order), or cancelled if
    none is left. One row per shipment, so a page filters and sorts on it without a join."""
    e = t.events
    undone = select(e.c.ref).where(e.c.kind == "reversal", e.c.ref.isnot(None))
    sets = case(
        (e.c.event_id.in_(undone), null()),
        *[(e.c.kind == kind.value, literal(state)) for kind, state in STATE_AFTER.items()],
        else_=null(),
    )
    last_first = (case((sets.is_(None), 1), else_=0), e.c.occurred_at.desc(), e.c.seq.desc())
    ranked = (
        select(
            e.c.shipment_id,
            sets.label("state"),
            func.row_number().over(partition_by=e.c.shipment_id, order_by=last_first).label("n"),
        )
        .where(e.c.shipment_id.in_(select(ids.c.shipment_id)))
        .subquery()
    )
    state = func.coalesce(ranked.c.state, literal(ShipmentState.CANCELLED)).label("state")
    return select(ranked.c.shipment_id, state).where(ranked.c.n == 1).subquery()


def shipments_page(
    conn: Connection,
    *,
    limit: int | None,
    offset: int = 0,
    product: str | None = None,
    nodes: Sequence[str] | None = None,
    state: str | None = None,
    sort: str = "shipment",
    descending: bool = False,
) -> tuple[list[ShipmentStatus], int]:
    """One page of :func:`shipments` by shipment id, or by one of ``SHIPMENT_SORTS`` then id
    (``descending``: from the last): the page's ids are cut by the database and only their
    events are read; and how many shipments match. ``product`` and ``nodes`` keep the
    shipments with an event of that product, or naming one of those nodes (as origin,
    destination, hub or receiving node); ``state`` those in that state (worked out by the
    database, so no shipment outside the page is folded)."""
    e = t.events
    matching = select(e.c.shipment_id).where(e.c.shipment_id.isnot(None))
    if product is not None:
        matching = matching.where(e.c.product == product)
    if nodes is not None:
        codes = list(nodes)
        matching = matching.where(or_(e.c.node.in_(codes), e.c.to_node.in_(codes)))
    ids = matching.distinct().subquery()
    shipment_id = ids.c.shipment_id
    kept = select(shipment_id)
    if state is not None or sort == "state":
        states = _states(ids)  # one row per shipment of ``ids``
        if sort == "state":  # read the states as the list itself: no join to make
            shipment_id = states.c.shipment_id
            kept = select(shipment_id)
            if state is not None:
                kept = kept.where(states.c.state == state)
        elif state is not None:  # a list the database makes once (a join would scan per row)
            wanted = select(states.c.shipment_id).where(states.c.state == state)
            kept = kept.where(shipment_id.in_(wanted))
    total = conn.execute(select(func.count()).select_from(kept.subquery())).scalar_one()
    by_id = shipment_id.desc() if descending else shipment_id
    if sort == "shipment":
        chosen = kept.order_by(by_id)
    elif sort == "state":
        chosen = kept.order_by(states.c.state.desc() if descending else states.c.state, by_id)
    else:
        sums = _dose_sums(ids)
        key = func.coalesce(sums.c[sort], 0)
        chosen = kept.outerjoin(sums, sums.c.shipment_id == shipment_id)
        chosen = chosen.order_by(key.desc() if descending else key, by_id)
    page = [sid for (sid,) in conn.execute(chosen.limit(limit).offset(offset))]
    if not page:
        return [], int(total)
    found = {s.shipment_id: s for s in shipments(conn, page)}
    return [found[sid] for sid in page if sid in found], int(total)


def in_transit(
    conn: Connection,
    *,
    at: Moment | None = None,
    destination: str | None = None,
    zone: tzinfo | None = None,
) -> list[TransitLine]:
    rows = [
        r
        for r in conn.execute(
            _accounts_query(conn, AccountState.TRANSIT, at, destination, None, None, zone)
        )
        if r.doses > 0
    ]
    zones = node_zones(conn) if at is not None and zone is None else {}
    grouped = shipment_events(conn, [r.ref for r in rows])
    out: list[TransitLine] = []
    for r in rows:
        legs = [
            ev
            for ev in grouped.get(r.ref, [])
            if ev.kind in (EventKind.DISPATCHED, EventKind.DISPATCHED_ONWARD)
            and getattr(ev, "destination", None) == r.node
            and (
                at is None
                or to_instant(ev.occurred_at) <= instant_of(at, zone or zones.get(r.node, UTC))
            )
        ]
        leg = max(legs, key=lambda ev: ev.occurred_at) if legs else None
        out.append(
            TransitLine(
                shipment_id=r.ref,
                origin=getattr(leg, "origin", None) or getattr(leg, "hub", None) or "?",
                destination=r.node,
                product=r.product,
                lot=r.number,
                doses=int(r.doses),
                dispatched_at=leg.occurred_at if leg else None,
                expected_arrival=getattr(leg, "expected_arrival", None),
            )
        )
    return sorted(out, key=lambda x: (x.expected_arrival or date.max, x.shipment_id, x.lot))


def ever_held(conn: Connection) -> list[str]:
    """Shipments with a ``held`` event (reversed or not): a superset of those held now, read
    through the partial index on held events rather than by folding every shipment."""
    e = t.events
    query = (
        select(e.c.shipment_id)
        .where(e.c.kind == EventKind.HELD.value, e.c.shipment_id.isnot(None))
        .distinct()
    )
    return sorted(str(sid) for (sid,) in conn.execute(query))


def held_at_hubs(
    conn: Connection,
    hub_codes: Sequence[str],
    at: Moment | None = None,
    zone: tzinfo | None = None,
) -> list[HubHolding]:
    """Stock at hub nodes, with the shipments whose latest event holds them there."""
    if not hub_codes:
        return []
    stock = stock_on_hand(conn, node=list(hub_codes), at=at, zone=zone)
    # Only a shipment with a ``held`` event can be held: fold those, not the whole ledger.
    grouped = shipment_events(conn, ever_held(conn))
    gone = reversed_ids(conn, [ev.event_id for evs in grouped.values() for ev in evs])
    statuses = [shipment_status(sid, evs, gone) for sid, evs in sorted(grouped.items())]
    held: dict[tuple[str, str], list[HeldShipment]] = defaultdict(list)
    for status in statuses:
        if status.state != ShipmentState.HELD:
            continue
        holds = [ev for ev in grouped.get(status.shipment_id, []) if ev.kind is EventKind.HELD]
        last = max(holds, key=lambda ev: ev.occurred_at)
        hub = getattr(last, "hub", "")
        held[(hub, status.product or "")].append(
            HeldShipment(
                status.shipment_id,
                getattr(last, "reason", ""),
                last.occurred_at,
                getattr(last, "until", None),
            )
        )
    return [
        HubHolding(
            s.node, s.product, s.lot, s.expiry, s.doses, tuple(held.get((s.node, s.product), ()))
        )
        for s in stock
    ]


def iter_events(
    conn: Connection, *, since_seq: int = 0, batch: int = 10_000
) -> Iterator[tuple[int, LedgerEvent]]:
    """Every event in recording order, as (seq, event), read in pages."""
    e = t.events
    last = since_seq
    while True:
        rows = list(conn.execute(select(e).where(e.c.seq > last).order_by(e.c.seq).limit(batch)))
        if not rows:
            return
        for row, event in load_events(conn, rows):
            yield row.seq, event
        last = rows[-1].seq


def _touching(nodes: Sequence[str]) -> Any:
    """Events naming any of ``nodes`` (as :func:`doseflow.domain.events.event_nodes` does:
    the node and to_node columns, or a stop on a planned route)."""
    e = t.events
    route = ROUTE_SEPARATOR + func.coalesce(e.c.route, "") + ROUTE_SEPARATOR
    stops = [
        route.contains(ROUTE_SEPARATOR + code + ROUTE_SEPARATOR, autoescape=True) for code in nodes
    ]
    return or_(e.c.node.in_(list(nodes)), e.c.to_node.in_(list(nodes)), *stops)


def events_page(
    conn: Connection, *, limit: int, offset: int = 0, nodes: Sequence[str] | None = None
) -> tuple[list[LedgerEvent], int]:
    """One page of events in recording order (only those naming one of ``nodes`` if given),
    cut by the database, and how many there are in all."""
    e = t.events
    query = select(e)
    if nodes is not None:
        if not nodes:
            return [], 0
        query = query.where(_touching(nodes))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = list(conn.execute(query.order_by(e.c.seq).limit(limit).offset(offset)))
    return [event for _row, event in load_events(conn, rows)], int(total)


def event_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.seq), 0))).scalar_one())
