"""``doseflow ledger ...`` and ``doseflow ship ...``: the stock ledger from the command line.

Commands parse options, call :mod:`doseflow.ledger` and :mod:`doseflow.store.ledger` (and,
for ``ship plan``, the allocation store and the logistics network loader), and render.
Every table says its unit (doses, or packs where asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from doseflow.cli.console import console, err_console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import (
    as_of_option,
    db_option,
    from_option,
    node_option,
    old_positional,
    old_positional_product,
    option_or_position,
    participant_option,
    product_option,
    round_option,
    to_option,
)
from doseflow.cli.output import OutputFormat, Shown, col, emit, format_option, note, print_table
from doseflow.cli.vocabulary import OLD_SPELLINGS, VocabularyTyper
from doseflow.domain.errors import DoseflowError
from doseflow.domain.events import DiscrepancyReason, EventKind, LedgerEvent
from doseflow.domain.lot import Lot
from doseflow.domain.product import Product
from doseflow.ledger.sources import StockSource
from doseflow.ledger.unicef import UNSPECIFIED, UnknownVaccine

if TYPE_CHECKING:
    from doseflow.ledger.unicef import UnicefImport
    from doseflow.store.ledger import LedgerStore

ledger_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="The stock ledger: import, stock, cards, transit, checks.",
    no_args_is_help=True,
)
ship_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Shipments: plan from an allocation round, record their progress.",
    no_args_is_help=True,
)

DB = db_option()
BY = typer.Option("cli", "--by", help="Who records the events (audit).")
FORMAT = format_option()
EVENT_TIME = as_of_option(
    None,
    "When it happened: a date (noon at the node, in its time zone) or a date-time (default: now).",
)


def _store(db: str | None) -> LedgerStore:
    from doseflow.store.database import open_database
    from doseflow.store.ledger import LedgerStore

    return LedgerStore(open_database(db))


def _moment(text: str | None, name: str = "--as-of", zone: tzinfo = UTC) -> datetime:
    """Now, an exact date-time (UTC without an offset), or noon of a date in ``zone`` (the
    zone of the node where the event happens, so the event falls on that day there)."""
    if text is None:
        return datetime.now(UTC)
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return datetime.combine(date.fromisoformat(text), time(12, 0), tzinfo=zone).astimezone(UTC)
    except ValueError:
        raise DoseflowError(
            "LEDGER_BAD_DATE",
            "not a date or date-time",
            field=name,
            expected="YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+zone]",
            value=text,
        ) from None


def _day(text: str | None, name: str) -> date | None:
    return None if text is None else _moment(text, name).date()


def _at(text: str | None, name: str = "--as-of") -> date | datetime | None:
    """A date (the end of that day at each node, in the node's time zone) or, with a time,
    an exact instant."""
    if text is None:
        return None
    moment = _moment(text, name)
    return moment if "T" in text or " " in text else moment.date()


_LEG_ENDS = (EventKind.SHIPMENT_PLANNED, EventKind.DISPATCHED, EventKind.DISPATCHED_ONWARD)


def _zone_where(store: LedgerStore, events: Sequence[LedgerEvent], origin: bool) -> tzinfo:
    """The zone of the node a shipment's next event happens at: its origin (dispatch) or
    the end of its latest leg (arrival at the hub, hold, onward dispatch, receipt)."""
    code: str | None = None
    for e in events:
        if origin and e.kind is EventKind.SHIPMENT_PLANNED:
            code = getattr(e, "origin", None)
        elif not origin and e.kind in _LEG_ENDS:
            code = getattr(e, "destination", None) or code
    return store.node_zones().get(code or "", UTC)


def _zone_option(name: str | None) -> tzinfo | None:
    from doseflow.data.time_zones import load_zone

    return None if name is None else load_zone(name, field="--zone")


def _zone_caption(store: LedgerStore, at: date | datetime | None, nodes: set[str]) -> str:
    """Which zone's midnight ended the day asked, per node shown (for a date only)."""
    if at is None or isinstance(at, datetime) or not nodes:
        return ""
    from doseflow.domain.time_zone import zones_by_node

    return "Day ends at local midnight: " + zones_by_node(store.node_zones(), nodes)


ZONE = typer.Option(
    None,
    "--zone",
    help="Read dates in this IANA time zone instead of each node's own (e.g. UTC).",
)


# -- ledger ----------------------------------------------------------------------------------


@ledger_app.command("nodes")
def nodes(
    network: Path = typer.Argument(..., help="Network file (YAML or CSV) whose nodes to register."),
    db: str | None = DB,
) -> None:
    """Register (or update) the nodes of a network file in the ledger."""
    from doseflow.logistics.network_file import load_network

    net = load_network(network)
    added = _store(db).register_nodes(net.nodes.values())
    console.print(f"{len(net.nodes)} nodes registered ({added} new).")


@ledger_app.command("import")
def import_events(
    file: Path = typer.Argument(..., help="Events as .csv or .json (see docs/ledger.md)."),
    db: str | None = DB,
) -> None:
    """Append the events of a file, all or nothing; events already recorded are skipped."""
    from doseflow.ledger.event_file import read_events

    events = read_events(file)
    result = _store(db).append_events(events)
    console.print(
        f"{len(result.appended):,} events recorded, {len(result.skipped):,} already recorded "
        f"(skipped), {len(result.derived):,} count adjustments produced."
    )


@ledger_app.command("export")
def export_events(
    file: Path = typer.Argument(..., help="Output .csv or .json."),
    db: str | None = DB,
) -> None:
    """Write every event, in recording order."""
    from doseflow.ledger.event_file import write_events

    events = list(_store(db).events())
    write_events(file, events)
    console.print(f"{len(events):,} events written to {file}.")


@ledger_app.command("stock")
def stock(
    node: list[str] = node_option(None, "Node code (repeatable)."),
    product: str | None = product_option(None, "Product code or alias."),
    lot: str | None = typer.Option(None, "--lot"),
    at: str | None = as_of_option(
        None,
        "As of the end of this date at each node (local midnight in the node's time "
        "zone), or of an exact date-time (YYYY-MM-DDTHH:MM+zone).",
    ),
    source: StockSource = typer.Option(
        StockSource.ALL,
        "--source",
        help="network: the network's stores; unicef: the UNICEF deliveries data "
        "(<ISO3>-NS-UNICEF); all: both, totalled apart.",
    ),
    zone: str | None = ZONE,
    fmt: OutputFormat = FORMAT,
    db: str | None = DB,
) -> None:
    """Stock on hand by node, product and lot, now or at a date (doses), from one source."""
    from doseflow.ledger.sources import describe, select, source_of

    store = _store(db)
    moment = _at(at)
    given = _zone_option(zone)
    nodes = (
        None if source is StockSource.ALL and not node else select(node or store.nodes(), source)
    )
    lines = (
        store.stock_on_hand(node=nodes, product=product, lot=lot, at=moment, zone=given)
        if nodes is None or nodes
        else []
    )
    when = f" on {at}" if at else ""
    caption = (
        f"Day ends at local midnight: {zone}"
        if given is not None and isinstance(moment, date) and not isinstance(moment, datetime)
        else _zone_caption(store, moment, {s.node for s in lines} | set(node or ()))
    )
    emit(
        [
            col("node"),
            col("product"),
            col("lot"),
            col("expiry"),
            col("VVM", True),
            col("doses", True),
        ],
        [(s.node, s.product, s.lot, s.expiry, s.vvm_stage, s.doses) for s in lines],
        fmt,
        title=f"Stock on hand{when} (doses)",
    )
    note(f"Source: {describe(source)}.", fmt)
    total = f"Total: {sum(s.doses for s in lines):,} doses"
    if source is StockSource.ALL:
        network = sum(s.doses for s in lines if source_of(s.node) is StockSource.NETWORK)
        unicef = sum(s.doses for s in lines if source_of(s.node) is StockSource.UNICEF)
        total += f" (network stores {network:,}; UNICEF deliveries data {unicef:,})"
    note(total, fmt)
    if caption:
        note(caption, fmt)


@ledger_app.command("card")
def card(
    node_given: str | None = old_positional("NODE"),
    product_given: str | None = old_positional_product(),
    node: str | None = node_option(None, "The node (store, hub) whose card this is."),
    product: str | None = product_option(None, "Product code or alias."),
    lot: str | None = typer.Option(None, "--lot"),
    start: str | None = from_option(None, "From the start of this day at the node."),
    end: str | None = to_option(None, "To the end of this day at the node."),
    zone: str | None = ZONE,
    fmt: OutputFormat = FORMAT,
    db: str | None = DB,
) -> None:
    """A stock card: every movement with running balances (doses); times in UTC, days
    (``--from``, ``--to``) at the node, in its time zone."""
    node = option_or_position(node, node_given, "--node")
    product = option_or_position(product, product_given, "--product")
    store = _store(db)
    given = _zone_option(zone)
    c = store.stock_card(
        node, product, lot=lot, start=_at(start, "--from"), end=_at(end, "--to"), zone=given
    )
    from doseflow.domain.time_zone import zone_name

    here = zone_name(given or store.node_zones().get(node, UTC))
    rows: list[tuple[object, ...]] = [
        (None, "opening", None, None, None, None, None, None, c.opening, None)
    ]
    for x in c.lines:
        rows.append(
            (
                Shown(x.at.isoformat(), x.at.strftime("%Y-%m-%d %H:%M UTC")),
                x.event_id,
                x.kind.value,
                x.lot,
                x.counterpart,
                x.doses_in or None,
                x.doses_out or None,
                x.lot_balance,
                x.balance,
                x.recorded_by,
            )
        )
        if x.discrepancy is not None:  # the doses that never entered stock, on their own line
            gap = x.discrepancy.text
            rows.append((None, x.event_id, "discrepancy", x.lot, gap, *([None] * 5)))
    empty = lambda v: "" if v is None else f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731
    emit(
        [
            col("date", text=empty),
            col("event"),
            col("type", text=empty),
            col("lot", text=empty),
            col("from/to/reason", text=empty),
            col("in", True, text=empty),
            col("out", True, text=empty),
            col("lot balance", True, text=empty),
            col("balance", True, text=empty),
            col("by", text=empty),
        ],
        rows,
        fmt,
        title=f"Stock card {node} {product}{' lot ' + lot if lot else ''} (doses)",
        caption=f"Times in UTC; --from/--to are days in {here}" if start or end else None,
    )


@ledger_app.command("transit")
def transit(
    at: str | None = as_of_option(
        None, "As of the end of this day at each destination (its time zone)."
    ),
    destination: str | None = typer.Option(
        None, "--destination", *OLD_SPELLINGS["--destination"], help="Only legs to this node."
    ),
    zone: str | None = ZONE,
    fmt: OutputFormat = FORMAT,
    db: str | None = DB,
) -> None:
    """Doses in transit per shipment leg, with the expected arrival."""
    lines = _store(db).in_transit(at=_at(at), destination=destination, zone=_zone_option(zone))
    emit(
        [
            col("shipment"),
            col("from"),
            col("to"),
            col("product"),
            col("lot"),
            col("doses", True),
            col("dispatched"),
            col("expected"),
        ],
        [
            (
                t.shipment_id,
                t.origin,
                t.destination,
                t.product,
                t.lot,
                t.doses,
                t.dispatched_at.date() if t.dispatched_at else None,
                t.expected_arrival,
            )
            for t in lines
        ],
        fmt,
        title="In transit (doses)",
    )


@ledger_app.command("hubs")
def hubs(
    at: str | None = as_of_option(None, "As of the end of this day at each hub (its time zone)."),
    zone: str | None = ZONE,
    fmt: OutputFormat = FORMAT,
    db: str | None = DB,
) -> None:
    """Stock held at hubs and the shipments held there."""
    rows = []
    for h in _store(db).held_at_hubs(_at(at), _zone_option(zone)):
        held = "; ".join(
            f"{s.shipment_id} ({s.reason}{', until ' + str(s.until) if s.until else ''})"
            for s in h.held
        )
        rows.append((h.hub, h.product, h.lot, h.expiry, h.doses, held))
    emit(
        [
            col("hub"),
            col("product"),
            col("lot"),
            col("expiry"),
            col("doses", True),
            col("held shipments"),
        ],
        rows,
        fmt,
        title="Held at hubs (doses)",
    )


@ledger_app.command("expiring")
def expiring(
    days: int = typer.Option(30, "--days", help="Expiring within this many days."),
    today: str | None = as_of_option(
        None, "Count from this date (default: today at each node, its zone)."
    ),
    node: str | None = node_option(None, "Only this node."),
    zone: str | None = ZONE,
    fmt: OutputFormat = FORMAT,
    db: str | None = DB,
) -> None:
    """Lots expiring within N days, with a first-expiry-first-out suggestion per node. A lot
    is usable through its expiry date at its node: "today" is the node's local date."""
    store = _store(db)
    given = _zone_option(zone)
    day = _day(today, "--as-of")
    now = datetime.now(UTC)
    lines = store.expiring(days, today=day, node=node, now=now, zone=given)
    when = str(day) if day else "today at each node"
    rows = []
    for x in lines:
        suggestion = store.fefo(x.node, x.product, x.doses, today=day, now=now, zone=given)
        first = ", ".join(f"{p.lot} {p.doses:,}" for p in suggestion.picks[:3])
        raw = "; ".join(f"{p.lot} {p.doses}" for p in suggestion.picks[:3])
        rows.append((x.node, x.product, x.lot, x.expiry, x.days_left, x.doses, Shown(raw, first)))
    emit(
        [
            col("node"),
            col("product"),
            col("lot"),
            col("expiry"),
            col("days left", True),
            col("doses", True),
            col("FEFO: issue first"),
        ],
        rows,
        fmt,
        title=f"Expiring within {days} days of {when} (doses)",
    )
    if day is None and lines:
        from doseflow.domain.time_zone import zone_name, zones_by_node

        shown = {x.node for x in lines}
        where = zone_name(given) if given else zones_by_node(store.node_zones(), shown)
        note(f"Today is the local date in: {where}", fmt)


@ledger_app.command("check")
def check(
    repair: bool = typer.Option(False, "--repair", help="Rebuild the balances from the events."),
    db: str | None = DB,
) -> None:
    """Replay every event: conservation, never-negative, stored balances; exit 1 if wrong."""
    store = _store(db)
    report = store.rebuild_projections() if repair else store.self_check()
    console.print(
        f"{report.events:,} events; doses entered {report.entered:,} = in stock, in transit, "
        f"administered or written off {report.accounted:,}.",
        highlight=False,
    )
    for state, amount in report.totals.items():
        console.print(f"  {state.value}: {amount:,}", highlight=False)
    if report.ok:
        console.print("[green]The ledger is consistent.[/]")
        return
    for line in report.repairs:
        console.print(line, highlight=False, markup=False)
    raise typer.Exit(1)


def render_unicef(result: UnicefImport) -> None:
    console.print(
        f"UNICEF deliveries: {result.rows_read:,} rows, {result.rows_imported:,} imported as "
        f"{len(result.events) // 2:,} received shipments ({result.doses_imported:,} doses), "
        f"{result.rows_empty:,} rows without doses.",
        highlight=False,
    )
    if result.unmapped:
        table = Table(
            title=f"Not imported: names that could not be mapped ({result.doses_skipped:,} doses)"
        )
        for col in ("kind", "name", "why", "rows", "doses", "lines"):
            table.add_column(col, justify="right" if col in ("rows", "doses") else "left")
        for u in result.unmapped:
            lines = ", ".join(str(x) for x in u.lines[:8]) + (" ..." if len(u.lines) > 8 else "")
            table.add_row(u.kind, u.name, u.reason, f"{len(u.lines):,}", f"{u.doses:,}", lines)
        print_table(table)
    console.print(
        f"Doses: {result.doses_imported:,} imported + {result.doses_skipped:,} not imported = "
        f"{result.doses_imported + result.doses_skipped:,} in the file's rows.",
        highlight=False,
    )
    console.print(unknown_vaccine_text(result), highlight=False, markup=False)


def unknown_vaccine_text(result: UnicefImport) -> str:
    """What became of the rows whose vaccine UNICEF does not name (the option's effect)."""
    from doseflow.ledger.unicef import NOT_PRODUCTS, UNKNOWN_VACCINE

    option = f"--unknown-vaccine {result.unknown_vaccine.value}"
    if result.unknown_vaccine is UnknownVaccine.UNSPECIFIED:
        return (
            f"Vaccine '{UNKNOWN_VACCINE}': {result.unspecified_rows:,} rows "
            f"({result.unspecified_doses:,} doses) imported under {UNSPECIFIED} ({option})."
        )
    left = [u for u in result.unmapped if u.kind == "vaccine" and u.name == UNKNOWN_VACCINE]
    rows = sum(len(u.lines) for u in left)
    doses = sum(u.doses for u in left)
    return (
        f"Vaccine '{UNKNOWN_VACCINE}': {rows:,} rows ({doses:,} doses) excluded ({option}): "
        f"{NOT_PRODUCTS[UNKNOWN_VACCINE]}."
    )


def import_unicef(
    store: LedgerStore, unknown_vaccine: UnknownVaccine = UnknownVaccine.EXCLUDE
) -> tuple[UnicefImport, int]:
    """Map the bundled UNICEF file and record it; returns the plan and events recorded."""
    from doseflow.cli.progress import phase
    from doseflow.data.deliveries import delivery_rows
    from doseflow.data.population import countries
    from doseflow.ledger.unicef import plan_import

    with phase(err_console, "Reading and mapping the UNICEF deliveries"):
        result = plan_import(delivery_rows(), countries(), unknown_vaccine=unknown_vaccine)
    with phase(err_console, f"Recording {len(result.events):,} events in the ledger"):
        store.register_nodes(result.nodes)
        appended = store.append_events(list(result.events))
    return result, len(appended.appended)


@ledger_app.command("unicef")
def unicef(
    unknown_vaccine: UnknownVaccine = typer.Option(
        UnknownVaccine.EXCLUDE,
        "--unknown-vaccine",
        help=f"Rows whose vaccine is 'Unknown' (40.7% of the doses): exclude (reported) or "
        f"import them under the product {UNSPECIFIED}.",
    ),
    db: str | None = DB,
) -> None:
    """Import the bundled UNICEF COVID-19 vaccine deliveries as received shipments."""
    result, appended = import_unicef(_store(db), unknown_vaccine)
    render_unicef(result)
    console.print(f"{appended:,} events recorded (re-running records nothing new).")


# -- ship ------------------------------------------------------------------------------------


def _status_table(
    store: LedgerStore,
    ids: Sequence[str] | None,
    products: dict[str, Product],
    fmt: OutputFormat = OutputFormat.TABLE,
) -> None:
    """The shipments; the table shows quantities in packs where the product is known, CSV
    and JSON in doses (``planned_doses``: planned, else dispatched)."""
    from doseflow.ledger.shipments import packs_text

    rows = []
    for s in store.shipments(ids):
        doses = s.planned_doses or s.dispatched_doses
        rows.append(
            (
                s.shipment_id,
                s.product,
                " > ".join(s.route) if s.route else f"{s.origin} > {s.destination}",
                Shown(doses, packs_text(products.get(s.product or ""), doses)),
                s.state,
                s.location,
                s.expected_arrival,
            )
        )
    emit(
        [
            col("shipment"),
            col("product"),
            col("route"),
            col("planned", True, key="planned_doses"),
            col("state"),
            col("at / to", key="at"),
            col("expected"),
        ],
        rows,
        fmt,
        title="Shipments (quantities in packs where the product is known, else doses)",
    )


@ship_app.command("plan")
def ship_plan(
    scenario: str = typer.Argument(..., help="Allocation scenario name (as stored)."),
    round_given: int | None = old_positional("ROUND"),
    round_option_value: int | None = round_option(None, "The round whose lines to ship."),
    network: Path | None = typer.Option(
        None, "--network", help="Network file (default: the bundled example)."
    ),
    country: list[str] = participant_option(None, "Only these participants (repeatable)."),
    by: str = BY,
    db: str | None = DB,
) -> None:
    """Plan shipments (whole packs) for an allocation round along routes from the network."""
    from doseflow.ledger.shipments import plan_shipment, shipment_id_for
    from doseflow.logistics.network_file import example_network_path, load_network_file
    from doseflow.logistics.routing import plan_route
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.database import open_database
    from doseflow.store.ledger import LedgerStore

    round_number = option_or_position(round_option_value, round_given, "--round")
    engine = open_database(db)
    alloc = AllocationStore(engine)
    spec = alloc.scenario(scenario)
    rnd = spec.round(round_number)
    nf = load_network_file(network or example_network_path())
    net = nf.network
    store = LedgerStore(engine)
    store.register_nodes(net.nodes.values())
    stores = {
        n.country: n.code for n in net.nodes.values() if n.kind.value == "national" and n.country
    }
    wanted = set(country) if country else None
    available = alloc.pool_availability(scenario, round_number)
    latest = max(available.values(), default=rnd.date)  # a pool not found: never early
    events: list[LedgerEvent] = []
    skipped: list[str] = []
    no_store: list[str] = []
    for line in alloc.lines(scenario, round_number):
        if line.doses <= 0 or (wanted is not None and line.iso3 not in wanted):
            continue
        product = spec.products[line.product]
        destination = stores.get(line.iso3)
        if destination is None:
            no_store.append(line.iso3)
            continue
        try:
            route = plan_route(
                net, product, nf.origins_for(product), destination, profiles=nf.profile_table()
            )
        except DoseflowError as err:
            skipped.append(f"{line.iso3} {line.product}: {err.detail.message}")
            continue
        planned = plan_shipment(
            shipment_id=shipment_id_for(scenario, round_number, line.pool, line.iso3),
            product=product,
            doses=line.doses,
            route=route.nodes,
            decided=rnd.date,
            available=available.get(line.pool, latest),
            transit_days=route.transit_days,
            allocation_ref=f"{scenario} round {round_number} pool {line.pool}",
            recorded_by=by,
        )
        if planned is not None:
            events.append(planned)
    result = store.append_events(events)
    console.print(
        f"{len(result.appended)} shipments planned, {len(result.skipped)} already planned.",
        highlight=False,
    )
    _status_table(
        store, [e.shipment_id for e in events if hasattr(e, "shipment_id")], dict(spec.products)
    )
    for text in skipped:
        console.print(f"not planned: {text}", highlight=False, markup=False)
    if no_store:
        codes = ", ".join(sorted(set(no_store)))
        console.print(
            f"not planned ({len(no_store)} lines): no national store in the network for {codes}",
            highlight=False,
        )


@ship_app.command("list")
def ship_list(fmt: OutputFormat = FORMAT, db: str | None = DB) -> None:
    """Every shipment and where it stands."""
    _status_table(_store(db), None, {}, fmt)


def _record(store: LedgerStore, events: Sequence[LedgerEvent]) -> None:
    result = store.append_events(list(events))
    console.print(
        f"{len(result.appended)} events recorded, {len(result.skipped)} already recorded.",
        highlight=False,
    )
    ids = sorted({getattr(e, "shipment_id", "") for e in events} - {""})
    _status_table(store, ids, {})


@ship_app.command("dispatch")
def ship_dispatch(
    shipment: str = typer.Argument(...),
    lot: str = typer.Option(..., "--lot", help="Lot number shipped."),
    expiry: str | None = typer.Option(None, "--expiry", help="Lot expiry (YYYY-MM-DD)."),
    doses: int | None = typer.Option(None, "--doses", help="Doses shipped (default: as planned)."),
    at: str | None = EVENT_TIME,
    by: str = BY,
    db: str | None = DB,
) -> None:
    """The planned shipment leaves its origin (now in transit to the next node)."""
    from doseflow.ledger.shipments import dispatch

    store = _store(db)
    events = store.shipment_events(shipment)
    product = next(
        (getattr(e, "product", None) for e in events if e.kind.value == "shipment-planned"), None
    )
    the_lot = Lot(product or "?", lot, _day(expiry, "--expiry"))
    when = _moment(at, zone=_zone_where(store, events, origin=True))
    _record(store, [dispatch(events, shipment, the_lot, doses, when, by)])


@ship_app.command("arrive")
def ship_arrive(
    shipment: str = typer.Argument(...),
    at: str | None = EVENT_TIME,
    by: str = BY,
    db: str | None = DB,
) -> None:
    """The shipment arrived at the hub it was travelling to."""
    from doseflow.ledger.shipments import arrive

    store = _store(db)
    events = store.shipment_events(shipment)
    when = _moment(at, zone=_zone_where(store, events, origin=False))
    _record(store, arrive(events, shipment, when, by))


@ship_app.command("hold")
def ship_hold(
    shipment: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    until: str | None = typer.Option(None, "--until"),
    at: str | None = EVENT_TIME,
    by: str = BY,
    db: str | None = DB,
) -> None:
    """The shipment is held (stockpiled) at the hub."""
    from doseflow.ledger.shipments import hold

    store = _store(db)
    events = store.shipment_events(shipment)
    when = _moment(at, zone=_zone_where(store, events, origin=False))
    _record(store, [hold(events, shipment, reason, _day(until, "--until"), when, by)])


@ship_app.command("onward")
def ship_onward(
    shipment: str = typer.Argument(...),
    at: str | None = EVENT_TIME,
    by: str = BY,
    db: str | None = DB,
) -> None:
    """The shipment leaves the hub for the next node on its route."""
    from doseflow.ledger.shipments import onward

    store = _store(db)
    events = store.shipment_events(shipment)
    when = _moment(at, zone=_zone_where(store, events, origin=False))
    _record(store, onward(events, shipment, when, by))


@ship_app.command("receive")
def ship_receive(
    shipment: str = typer.Argument(...),
    missing: int = typer.Option(0, "--missing", help="Doses not accepted (damaged, short, ...)."),
    reason: DiscrepancyReason | None = typer.Option(None, "--reason"),
    reject: bool = typer.Option(False, "--reject", help="Reject the whole delivery."),
    at: str | None = EVENT_TIME,
    by: str = BY,
    db: str | None = DB,
) -> None:
    """The shipment reached its destination: confirmed, with a discrepancy, or rejected."""
    from doseflow.ledger.shipments import receive

    if (missing or reject) and reason is None:
        raise DoseflowError(
            "LEDGER_BAD_RECEIPT",
            "a discrepancy or rejection needs a reason",
            field="--reason",
            expected=", ".join(r.value for r in DiscrepancyReason),
        )
    store = _store(db)
    events = store.shipment_events(shipment)
    _record(
        store,
        receive(
            events,
            shipment,
            _moment(at, zone=_zone_where(store, events, origin=False)),
            by,
            missing=missing,
            reason=reason,
            reject=reject,
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(ship_app, name="ship")


# -- demo ------------------------------------------------------------------------------------


def demo_ledger(engine: object, out_console: object, scenario: str | None) -> None:
    """The demo's ledger step: round 1's shipments via the Dalian hub (one held there, one
    received with damaged doses), then the UNICEF deliveries import (at ``<ISO3>-NS-UNICEF``,
    apart from the modelled stock). Idempotent: every event id is derived from the shipment
    and step, so a re-run records nothing new."""
    from datetime import timedelta

    from rich.console import Console

    from doseflow.ledger import shipments as steps
    from doseflow.ledger.shipments import plan_shipment, shipment_id_for
    from doseflow.logistics.network_file import example_network_path, load_network_file
    from doseflow.logistics.routing import plan_route
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.ledger import LedgerStore

    con = out_console if isinstance(out_console, Console) else console
    store = LedgerStore(engine)  # type: ignore[arg-type]
    nf = load_network_file(example_network_path())
    store.register_nodes(nf.network.nodes.values())
    name = scenario or "covax-2021"
    alloc = AllocationStore(engine)  # type: ignore[arg-type]
    spec = alloc.scenario(name)
    first = spec.rounds[0]
    stores = {
        n.country: n.code
        for n in nf.network.nodes.values()
        if n.kind.value == "national" and n.country
    }
    available = alloc.pool_availability(name, first.number)
    latest = max(available.values(), default=first.date)
    events: list[LedgerEvent] = []
    via_dalian: list[str] = []
    damaged_one = False
    for line in alloc.lines(name, first.number):
        destination = stores.get(line.iso3)
        if destination is None or line.doses <= 0:
            continue
        product = spec.products[line.product]
        try:
            route = plan_route(
                nf.network,
                product,
                nf.origins_for(product),
                destination,
                profiles=nf.profile_table(),
            )
        except DoseflowError:
            continue
        sid = shipment_id_for(name, first.number, line.pool, line.iso3)
        planned = plan_shipment(
            shipment_id=sid,
            product=product,
            doses=line.doses,
            route=route.nodes,
            decided=first.date,
            available=available.get(line.pool, latest),
            transit_days=route.transit_days,
            allocation_ref=f"{name} round {first.number} pool {line.pool}",
            recorded_by="demo",
        )
        if planned is None:
            continue
        history: list[LedgerEvent] = [planned]
        if "DALIAN" in route.nodes[1:-1]:
            via_dalian.append(sid)
            leaves = planned.expected_dispatch or first.date  # never before the tranche
            start = datetime.combine(leaves, time(8, 0), tzinfo=UTC)
            lot = Lot(
                product.code,
                f"{product.code}-{first.date:%y%m}",
                first.date + timedelta(days=product.shelf_life_days),
            )
            history.append(steps.dispatch(history, sid, lot, None, start, "demo"))
            history.extend(steps.arrive(history, sid, start + timedelta(days=4), "demo"))
            if product.code == "PFIZER":  # stockpiled at Dalian, the last ultra-cold store
                history.append(
                    steps.hold(
                        history,
                        sid,
                        "awaiting ultra-cold capacity at destination",
                        None,
                        start + timedelta(days=5),
                        "demo",
                    )
                )
            else:
                history.extend(steps.onward(history, sid, start + timedelta(days=6), "demo"))
                # the first shipment received through the hub loses a pack on the way, so the
                # demo shows a receipt shortfall (on the stock card, the Overview's "wasted")
                damaged = 0 if damaged_one else product.pack_doses
                damaged_one = True
                history.extend(
                    steps.receive(
                        history,
                        sid,
                        start + timedelta(days=12),
                        "demo",
                        missing=damaged,
                        reason=DiscrepancyReason.DAMAGED if damaged else None,
                    )
                )
        events.extend(history)
    result = store.append_events(events)
    con.print(
        f"Round {first.number}: {sum(1 for e in events if e.kind.value == 'shipment-planned')} "
        f"shipments planned for the network's national stores, {len(via_dalian)} via the Dalian "
        f"hub; {len(result.appended)} events recorded, {len(result.skipped)} already recorded.",
        highlight=False,
    )
    table = Table(title="Shipments via Dalian (doses)")
    for name in ("shipment", "route", "state", "dispatched", "received", "written off"):
        table.add_column(
            name, justify="right" if name in ("dispatched", "received", "written off") else "left"
        )
    for s in store.shipments(via_dalian):
        table.add_row(
            s.shipment_id,
            " > ".join(s.route),
            s.state,
            f"{s.dispatched_doses:,}",
            f"{s.received_doses:,}",
            f"{s.written_off_doses:,}",
        )
    print_table(table, con)
    unicef_result, _appended = import_unicef(store)
    render_unicef(unicef_result)
    con.print(
        "The modelled shipments above arrive at the network's stores (<ISO3>-NS); UNICEF's "
        "reported deliveries at stores of their own (<ISO3>-NS-UNICEF, e.g. MNG-NS-UNICEF), "
        "so no stock mixes the two. `doseflow ledger stock --source network|unicef` shows one.",
        highlight=False,
        markup=False,
    )
    report = store.self_check()
    con.print(
        f"Ledger check: {report.events:,} events; {report.entered:,} doses entered = "
        f"{report.accounted:,} in stock, in transit, administered or written off "
        f"({'consistent' if report.ok else 'INCONSISTENT'}). Try `doseflow ledger hubs`, "
        "`doseflow ledger card --node MNG-NS --product AZ-SII`, "
        "`doseflow ledger card --node MNG-NS-UNICEF --product AZ-SII`, "
        "`doseflow ship list`.",
        highlight=False,
    )
