"""The physical-count form: a logistics officer counts a node's stock, lot by lot, and the
ledger records the counts and the corrections they produce.

Who may count is who may write ledger events over the API (``shipments.write``), over the
nodes of their scope. The sheet lists every lot the ledger holds at the node on the count
day with its balance then, and has lines for lots found on the shelf that the ledger does
not know there. Saving records ``physical-count`` events through the same path as
``POST /api/ledger/events`` and ``doseflow ledger import`` (``doseflow.ledger.count_sheet``),
all or nothing; a refusal is shown next to the field it is about, and nothing is written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from doseflow.domain.errors import DoseflowError, ErrorDetail
from doseflow.domain.events import PhysicalCount
from doseflow.domain.limits import MAX_TEXT_LENGTH
from doseflow.domain.network import Node, NodeKind
from doseflow.domain.time_zone import local_date, zone_name
from doseflow.ledger.attribution import recorded_events
from doseflow.ledger.count_sheet import CountEntry, count_moment, count_results, count_rows
from doseflow.ledger.views import StockLine
from doseflow.service.auth import Access
from doseflow.service.context import engine_of
from doseflow.service.dashboard.render import page_access, read_form, render, request_may
from doseflow.store.ledger import LedgerStore

router = APIRouter(prefix="/dashboard", include_in_schema=False)

#: Counting writes ledger events: the API's permission for that.
ACTION = "shipments.write"
#: Where the refusals of a sheet say they come from.
SOURCE = "count sheet"
#: Lines for lots found on the shelf, offered empty (more on request, up to the most).
FOUND_LINES = 2
MOST_FOUND_LINES = 20
#: The most lines one sheet may send (a node holds far fewer lots).
MOST_LINES = 5_000

_SHEET = re.compile(r"count-[0-9a-f]{32}")
_LINE_KEY = re.compile(r"([cf])(\d{1,4})-counted")
_SHEET_FIELD = re.compile(r"[cf]\d{1,4}-(counted|lot|product|expiry)")
#: A refused row's field, as the sheet names it.
_FIELD_OF = {
    "quantity": "counted",
    "counted": "counted",
    "lot": "lot",
    "product": "product",
    "expiry": "expiry",
    "vvm_stage": "counted",
}

Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]*$")]
Day = Annotated[str | None, Query(max_length=10, pattern=r"^[0-9-]*$")]
Found = Annotated[int, Query(ge=0, le=MOST_FOUND_LINES)]


def may_count(request: Request) -> bool:
    """Whether the signed-in role may count stock (the pages offer the form only then)."""
    return request_may(request, ACTION)


@dataclass(frozen=True)
class SheetLine:
    """A line of the sheet: a listed lot (with the ledger's balance) or an empty line for a
    lot found on the shelf (``listed`` false), with what was typed into it."""

    key: str
    listed: bool
    product: str
    lot: str
    expiry: str
    vvm_stage: int | None
    ledger: int | None
    counted: str


_PARTS = {"product": "Product", "lot": "Lot", "expiry": "Expiry", "counted": "Counted doses"}


def _labels(lines: Sequence[SheetLine]) -> dict[str, str]:
    """What each field of the sheet is called, for the list of refusals at its top."""
    labels = {"node": "Node", "count_date": "Count date", "remark": "Remark"}
    found = 0
    for line in lines:
        if line.listed:
            for part in _PARTS:
                labels[f"{line.key}-{part}"] = f"Lot {line.lot} of {line.product}"
        else:
            found += 1
            for part, label in _PARTS.items():
                labels[f"{line.key}-{part}"] = f"{label} (found lot {found})"
    return labels


def _countable(ledger: LedgerStore, access: Access) -> dict[str, Node]:
    """The nodes the user may count: stores, hubs and service points of their scope
    (a supplier's stock is not the programme's to count)."""
    return {
        code: node
        for code, node in sorted(ledger.nodes().items())
        if node.kind is not NodeKind.SUPPLIER and access.may_see(node.country)
    }


def _node(
    nodes: Mapping[str, Node], code: str, access: Access, all_nodes: Mapping[str, Node]
) -> Node:
    """The counted node: another country's is ``SERVICE_OUT_OF_SCOPE``, an unknown one
    ``LEDGER_UNKNOWN_NODE`` (located at the node field)."""
    known = all_nodes.get(code)
    if known is not None:
        access.check_iso3(known.country)
    if known is None or code not in nodes:
        raise DoseflowError(
            "LEDGER_UNKNOWN_NODE",
            f"no node with code {code!r} to count in the ledger",
            field="node",
            expected="a store, hub or service point of the list",
            value=code,
        )
    return known


def _day(text: str | None, today: date) -> date:
    """The count date typed (``today`` at the node if none), or ``SERVICE_BAD_FORM``."""
    if not text:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DoseflowError(
            "SERVICE_BAD_FORM",
            f"the count date {text!r} is not a date",
            field="count_date",
            expected="a date as YYYY-MM-DD",
            value=text,
        ) from None


def _listed(stock: Sequence[StockLine], typed: Mapping[str, str]) -> list[SheetLine]:
    return [
        SheetLine(
            f"c{i}",
            True,
            s.product,
            s.lot,
            s.expiry.isoformat() if s.expiry else "",
            s.vvm_stage,
            s.doses,
            typed.get(f"c{i}-counted", ""),
        )
        for i, s in enumerate(stock)
    ]


def _found(count: int, typed: Mapping[str, str]) -> list[SheetLine]:
    return [
        SheetLine(
            f"f{i}",
            False,
            typed.get(f"f{i}-product", ""),
            typed.get(f"f{i}-lot", ""),
            typed.get(f"f{i}-expiry", ""),
            None,
            None,
            typed.get(f"f{i}-counted", ""),
        )
        for i in range(count)
    ]


def _entries(form: Mapping[str, str]) -> list[CountEntry]:
    """The sheet's lines as sent: listed ones first, then found ones, each in sheet order."""
    keys = sorted(
        (m.group(1) == "f", int(m.group(2)), m.group(0).removesuffix("-counted"))
        for name in form
        if (m := _LINE_KEY.fullmatch(name))
    )
    if len(keys) > MOST_LINES:
        raise DoseflowError(
            "SERVICE_BAD_FORM",
            f"a count sheet has at most {MOST_LINES:,} lines",
            field="lines",
            expected=f"at most {MOST_LINES:,} lines",
            value=len(keys),
        )
    return [
        CountEntry(
            key,
            not found,
            form.get(f"{key}-product", ""),
            form.get(f"{key}-lot", ""),
            form.get(f"{key}-expiry", ""),
            form.get(f"{key}-counted", ""),
        )
        for found, _n, key in keys
    ]


def _line_of(
    detail: ErrorDetail,
    keys: Mapping[int, str],
    events: Mapping[str, str],
    entries: Sequence[CountEntry],
) -> str | None:
    """The sheet line a refusal is about: by its row number, by the event id its message
    names, or (a lot's expiry refused against the ledger's) by the value typed there."""
    where = detail.location
    if where.line is not None and where.line in keys:
        return keys[where.line]
    for event_id, key in events.items():
        if re.search(rf"{re.escape(event_id)}(?![0-9])", detail.message):
            return key
    if where.field in ("expiry", "lot", "product") and detail.value is not None:
        typed = [e for e in entries if getattr(e, where.field).strip() == str(detail.value)]
        found = [e for e in typed if not e.listed] or typed
        if found:
            return found[0].key
    return None


def _located(
    error: DoseflowError,
    keys: Mapping[int, str],
    events: Mapping[str, str],
    entries: Sequence[CountEntry],
) -> dict[str, list[ErrorDetail]]:
    """Each refusal under the sheet field it is about: a row's problem under that line's
    field (see :func:`_line_of`), the moment under the count date, anything else under
    the whole form (``form``)."""
    out: dict[str, list[ErrorDetail]] = {}
    for d in error.details:
        where = d.location
        key = _line_of(d, keys, events, entries)
        if where.field is not None and _SHEET_FIELD.fullmatch(where.field):
            name = where.field
        elif where.field == "occurred_at" or where.field == "count_date":
            name = "count_date"
        elif where.field in ("node", "remark", "csrf"):
            name = where.field
        elif where.field == "reason" and key is not None:
            name = "remark"
        elif key is not None:
            name = f"{key}-{_FIELD_OF.get(where.field or '', 'counted')}"
        else:
            name = "form"
        out.setdefault(name, []).append(d)
    return out


def _sheet_page(
    request: Request,
    ledger: LedgerStore,
    nodes: Mapping[str, Node],
    *,
    node: Node | None,
    day_text: str,
    found: int,
    typed: Mapping[str, str],
    errors: Mapping[str, list[ErrorDetail]],
    sheet: str | None = None,
    status_code: int = 200,
) -> Response:
    """The chooser, and with a node the sheet: the lots held there at the count moment."""
    context: dict[str, Any] = {"lines": [], "zone": None, "moment": None, "today": None}
    if node is not None:
        zone: tzinfo = ledger.node_zones().get(node.code, UTC)
        now = datetime.now(UTC)
        today = local_date(now, zone)
        try:
            day = _day(day_text, today)
        except DoseflowError:  # said next to the date field; the sheet is of today
            day = today
        moment = count_moment(day, zone, now)
        stock = ledger.stock_on_hand(node=node.code, at=moment)
        context = {
            "lines": [*_listed(stock, typed), *_found(found, typed)],
            "zone": zone_name(zone),
            "moment": moment,
            "today": today,
            "day": day,
        }
    return render(
        request,
        "stock_count.html",
        title="Physical count" + (f": {node.code}" if node else ""),
        status_code=status_code,
        nodes=nodes,
        node=node,
        day_text=day_text,
        found=found,
        more_found=min(found + FOUND_LINES, MOST_FOUND_LINES),
        most_found=MOST_FOUND_LINES,
        sheet=sheet or f"count-{uuid.uuid4().hex}",
        remark=typed.get("remark", ""),
        remark_limit=MAX_TEXT_LENGTH,
        errors=errors,
        labels=_labels(context["lines"]),
        results=None,
        **context,
    )


@router.get("/stock/count")
def count_page(
    request: Request, node: Code = None, date: Day = None, found: Found = FOUND_LINES
) -> Response:
    """Choose a node and a count date; with both, the count sheet."""
    access = page_access(request, ACTION)
    ledger = LedgerStore(engine_of(request))
    all_nodes = ledger.nodes()
    nodes = _countable(ledger, access)
    chosen = _node(nodes, node, access, all_nodes) if node else None
    errors: dict[str, list[ErrorDetail]] = {}
    try:
        _day(date, datetime.now(UTC).date())
    except DoseflowError as bad:
        errors = {"count_date": list(bad.details)}
    return _sheet_page(
        request,
        ledger,
        nodes,
        node=chosen,
        day_text=date or "",
        found=found,
        typed={},
        errors=errors,
        status_code=422 if errors else 200,
    )


@router.post("/stock/count")
async def count_save(request: Request) -> Response:
    """Record the sheet's counts (all or nothing) and show what the ledger recorded."""
    access = page_access(request, ACTION)
    form = await read_form(request)
    ledger = LedgerStore(engine_of(request))
    all_nodes = ledger.nodes()
    nodes = _countable(ledger, access)
    code = form.get("node", "")
    day_text = form.get("count_date", "")
    found = sum(1 for name in form if re.fullmatch(r"f\d{1,4}-counted", name))
    sheet = form.get("sheet", "")
    node: Node | None = None
    keys: dict[int, str] = {}
    events: dict[str, str] = {}
    entries: list[CountEntry] = []
    try:
        node = _node(nodes, code, access, all_nodes)
        if not _SHEET.fullmatch(sheet):
            raise DoseflowError(
                "SERVICE_BAD_FORM",
                "the count sheet is not one this dashboard gave; reload the page",
                field="sheet",
                expected="count-<32 hexadecimal digits>",
                value=sheet[:40],
            )
        zone = ledger.node_zones().get(node.code, UTC)
        now = datetime.now(UTC)
        moment = count_moment(_day(day_text, local_date(now, zone)), zone, now)
        entries = _entries(form)
        rows = count_rows(
            entries, node=node.code, moment=moment, sheet=sheet, remark=form.get("remark")
        )
        counted = [e for e in entries if not e.blank]
        keys = {line: entry.key for (line, _row), entry in zip(rows, counted, strict=True)}
        events = {row["id"]: keys[line] for line, row in rows}
        if not rows:
            raise DoseflowError(
                "SERVICE_BAD_FORM",
                "no lot was counted",
                field=f"{entries[0].key}-counted" if entries else "form",
                expected="the doses counted of at least one lot",
            )
        recorded = recorded_events(rows, SOURCE, recorded_by=access.principal.user, now=now)
        result = ledger.append_events(recorded, now=now)
    except DoseflowError as refused:
        errors = _located(refused, keys, events, entries)
        return _sheet_page(
            request,
            ledger,
            nodes,
            node=node,
            day_text=day_text,
            found=max(found, FOUND_LINES),
            typed=form,
            errors=errors,
            sheet=sheet if _SHEET.fullmatch(sheet) else None,
            status_code=422,
        )
    ids = [e.event_id for e in recorded]
    access.audit(
        f"physical count at {node.code}",
        counts=len(ids),
        appended=len(result.appended),
        skipped=len(result.skipped),
        corrections=len(result.derived),
    )
    corrections = [e.discrepancy_id for e in recorded if isinstance(e, PhysicalCount)]
    stored = ledger.recorded([*ids, *corrections])
    return render(
        request,
        "stock_count.html",
        title=f"Physical count: {node.code}",
        nodes=nodes,
        node=node,
        results=count_results(ids, stored),
        moment=moment,
        zone=zone_name(zone),
        again=not result.appended,
        errors={},
    )
