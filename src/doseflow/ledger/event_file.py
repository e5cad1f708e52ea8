"""Ledger events as CSV or JSON files: one flat row per event, the same columns in both.

Rows are validated with pydantic, then turned into typed events; every bad row is reported
(file, line or row number, field, what was expected) and nothing is returned unless every
row is good, so an import is all-or-nothing. ``docs/ledger.md`` lists the columns each
event type uses.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from doseflow.data.fields import (
    BoundedDate,
    BoundedDateTime,
    Code,
    FreeText,
    Identifier,
    LotNumber,
    Quantity,
    ShipmentId,
    SignedQuantity,
    UserName,
    expected_text,
    text_cells,
    whole_number,
)
from doseflow.data.user_files import readable_csv
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.events import (
    DISCREPANCY_SUFFIX,
    EVENT_CLASSES,
    Adjustment,
    AdjustmentReason,
    Administration,
    ArrivedAtHub,
    DiscrepancyReason,
    DispatchedOnward,
    EventKind,
    Issue,
    LedgerEvent,
    PhysicalCount,
    ReceiptOutcome,
    Reversal,
    ShipmentDispatched,
    ShipmentHeld,
    ShipmentPlanned,
    ShipmentReceived,
    Transfer,
)
from doseflow.domain.limits import MAX_ID_LENGTH
from doseflow.domain.lot import Lot

#: Columns of an event file, in the order they are written.
COLUMNS: tuple[str, ...] = (
    "id",
    "type",
    "occurred_at",
    "recorded_by",
    "recorded_at",
    "shipment",
    "node",
    "to_node",
    "product",
    "lot",
    "expiry",
    "vvm_stage",
    "quantity",
    "discrepancy",
    "outcome",
    "reason",
    "reverses",
    "caused_by",
    "route",
    "expected_dispatch",
    "expected_arrival",
    "until",
    "allocation_ref",
)

ROUTE_SEPARATOR = ">"


class EventRow(BaseModel):
    """One row of an event file. Which columns are required depends on ``type``.

    Every column has the bounds of :mod:`doseflow.data.fields` (lengths, characters,
    quantities up to 10**12, dates from 2000 to 2099), so a row the store could not hold the
    same way on SQLite and PostgreSQL is refused here with ``LEDGER_ROW_INVALID``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Identifier
    type: EventKind
    occurred_at: BoundedDateTime
    recorded_by: UserName
    recorded_at: BoundedDateTime | None = None
    shipment: ShipmentId | None = None
    node: Code | None = None
    to_node: Code | None = None
    product: Code | None = None
    lot: LotNumber | None = None
    expiry: BoundedDate | None = None
    vvm_stage: Annotated[int, BeforeValidator(whole_number), Field(strict=True, ge=1, le=4)] = 1
    quantity: SignedQuantity | None = None
    discrepancy: Quantity = 0
    outcome: ReceiptOutcome | None = None
    reason: FreeText | None = None
    reverses: Identifier | None = None
    caused_by: Identifier | None = None
    route: FreeText | None = None
    expected_dispatch: BoundedDate | None = None
    expected_arrival: BoundedDate | None = None
    until: BoundedDate | None = None
    allocation_ref: Identifier | None = None


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


class _Missing(Exception):
    def __init__(self, field: str) -> None:
        self.field = field


def _need(row: EventRow, name: str) -> Any:
    value = getattr(row, name)
    if value is None:
        raise _Missing(name)
    return value


def _lot(row: EventRow) -> Lot:
    return Lot(_need(row, "product"), _need(row, "lot"), row.expiry, row.vvm_stage)


def event_of(row: EventRow) -> LedgerEvent:
    """The typed event a validated row describes."""
    common: dict[str, Any] = {
        "event_id": row.id,
        "occurred_at": row.occurred_at,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at,
    }
    k = row.type
    if k is EventKind.SHIPMENT_PLANNED:
        return ShipmentPlanned(
            **common,
            shipment_id=_need(row, "shipment"),
            origin=_need(row, "node"),
            destination=_need(row, "to_node"),
            product=_need(row, "product"),
            quantity=_need(row, "quantity"),
            route=tuple(p.strip() for p in row.route.split(ROUTE_SEPARATOR)) if row.route else (),
            expected_dispatch=row.expected_dispatch,
            expected_arrival=row.expected_arrival,
            allocation_ref=row.allocation_ref,
        )
    if k is EventKind.HELD:
        return ShipmentHeld(
            **common,
            shipment_id=_need(row, "shipment"),
            hub=_need(row, "node"),
            reason=_need(row, "reason"),
            until=row.until,
        )
    if k is EventKind.REVERSAL:
        return Reversal(**common, reverses=_need(row, "reverses"), reason=_need(row, "reason"))
    lot = _lot(row)
    quantity = _need(row, "quantity")
    if k is EventKind.DISPATCHED:
        return ShipmentDispatched(
            **common,
            shipment_id=_need(row, "shipment"),
            origin=_need(row, "node"),
            destination=_need(row, "to_node"),
            lot=lot,
            quantity=quantity,
            expected_arrival=row.expected_arrival,
        )
    if k is EventKind.ARRIVED_AT_HUB:
        return ArrivedAtHub(
            **common,
            shipment_id=_need(row, "shipment"),
            hub=_need(row, "node"),
            lot=lot,
            quantity=quantity,
        )
    if k is EventKind.DISPATCHED_ONWARD:
        return DispatchedOnward(
            **common,
            shipment_id=_need(row, "shipment"),
            hub=_need(row, "node"),
            destination=_need(row, "to_node"),
            lot=lot,
            quantity=quantity,
            expected_arrival=row.expected_arrival,
        )
    if k is EventKind.RECEIVED:
        return ShipmentReceived(
            **common,
            shipment_id=_need(row, "shipment"),
            node=_need(row, "node"),
            lot=lot,
            quantity=quantity,
            outcome=row.outcome or ReceiptOutcome.CONFIRMED,
            discrepancy=row.discrepancy,
            reason=_enum(DiscrepancyReason, row.reason, "reason"),
        )
    if k in (EventKind.TRANSFER, EventKind.ISSUE):
        cls = Issue if k is EventKind.ISSUE else Transfer
        return cls(
            **common,
            node=_need(row, "node"),
            to_node=_need(row, "to_node"),
            lot=lot,
            quantity=quantity,
        )
    if k is EventKind.ADMINISTRATION:
        return Administration(**common, node=_need(row, "node"), lot=lot, quantity=quantity)
    if k is EventKind.ADJUSTMENT:
        reason = _enum(AdjustmentReason, _need(row, "reason"), "reason")
        assert reason is not None
        return Adjustment(
            **common,
            node=_need(row, "node"),
            lot=lot,
            quantity=quantity,
            reason=reason,
            caused_by=row.caused_by,
        )
    # its discrepancy is recorded as "<id>/discrepancy", which must fit an event id too
    room = MAX_ID_LENGTH - len(DISCREPANCY_SUFFIX)
    if len(row.id) > room:
        raise DoseflowError(
            "LEDGER_ROW_INVALID",
            f"a physical count's id may have at most {room} characters (its discrepancy is "
            f"recorded as <id>{DISCREPANCY_SUFFIX})",
            field="id",
            expected=f"text of at most {room} characters",
            value=row.id,
        )
    return PhysicalCount(
        **common, node=_need(row, "node"), lot=lot, counted=quantity, remark=row.reason
    )


def _enum(cls: Any, value: str | None, field: str) -> Any:
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        raise DoseflowError(
            "LEDGER_ROW_INVALID",
            f"'{value}' is not a valid {field}",
            field=field,
            expected=", ".join(m.value for m in cls),
            value=value,
        ) from None


def row_of(event: LedgerEvent) -> dict[str, Any]:
    """The file row of ``event`` (absent columns are ``None``)."""
    e: Any = event
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        id=event.event_id,
        type=event.kind.value,
        occurred_at=event.occurred_at.isoformat(),
        recorded_by=event.recorded_by,
        recorded_at=event.recorded_at.isoformat() if event.recorded_at else None,
    )
    lot = getattr(e, "lot", None)
    if isinstance(lot, Lot):
        row.update(
            product=lot.product,
            lot=lot.number,
            expiry=lot.expiry.isoformat() if lot.expiry else None,
            vvm_stage=lot.vvm_stage,
        )
    if hasattr(e, "shipment_id"):
        row["shipment"] = e.shipment_id
    for attr, column in (
        ("origin", "node"),
        ("hub", "node"),
        ("node", "node"),
        ("destination", "to_node"),
        ("to_node", "to_node"),
        ("quantity", "quantity"),
        ("counted", "quantity"),
        ("reverses", "reverses"),
        ("caused_by", "caused_by"),
        ("allocation_ref", "allocation_ref"),
    ):
        if hasattr(e, attr):
            row[column] = getattr(e, attr)
    if isinstance(e, ShipmentPlanned):
        row.update(product=e.product, route=ROUTE_SEPARATOR.join(e.route))
    if isinstance(e, ShipmentReceived):
        row.update(discrepancy=e.discrepancy, outcome=e.outcome.value)
    reason = getattr(e, "reason", getattr(e, "remark", None))
    row["reason"] = getattr(reason, "value", reason)
    for name in ("expected_dispatch", "expected_arrival", "until"):
        value = getattr(e, name, None)
        row[name] = value.isoformat() if isinstance(value, date) else None
    return row


def _detail(
    source: str, line: int, field: str | None, message: str, expected: str | None, value: Any
) -> ErrorDetail:
    return ErrorDetail(
        "LEDGER_ROW_INVALID",
        message,
        ErrorLocation(source=source, line=line, field=field),
        expected=expected,
        value=value,
    )


def events_from_rows(
    rows: Iterable[tuple[int, dict[str, Any]]], source: str, *, text: bool = False
) -> list[LedgerEvent]:
    """Validate numbered raw rows; every problem is reported together.

    ``text``: every value is text (CSV cells), so numbers written as text are numbers; in
    JSON rows a number must be a JSON number.
    """
    context = text_cells() if text else None
    problems: list[ErrorDetail] = []
    events: list[LedgerEvent] = []
    for line, given in rows:
        raw = {k: v for k, v in given.items() if v is not None and not _blank(v)}
        try:
            row = EventRow.model_validate(raw, context=context)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or None
                problems.append(
                    _detail(
                        source,
                        line,
                        field,
                        err["msg"],
                        expected_text(err) or _expected(err["type"], field),
                        raw.get(field) if field else None,
                    )
                )
            continue
        try:
            events.append(event_of(row))
        except _Missing as missing:
            problems.append(
                ErrorDetail(
                    "LEDGER_MISSING_FIELD",
                    f"a '{row.type.value}' event needs '{missing.field}'",
                    ErrorLocation(source=source, line=line, field=missing.field),
                    expected=f"a value in column '{missing.field}'",
                    value=None,
                )
            )
        except DoseflowError as err:
            problems.extend(
                ErrorDetail(
                    d.code,
                    d.message,
                    ErrorLocation(source=source, line=line, field=d.location.field),
                    d.expected,
                    d.value,
                )
                for d in err.details
            )
    if problems:
        raise DoseflowError.from_details(problems)
    return events


def _expected(kind: str, field: str | None) -> str | None:
    if field == "type":
        return ", ".join(k.value for k in EVENT_CLASSES)
    if "datetime" in kind:
        return "an ISO 8601 date-time, e.g. 2021-06-30T09:00:00Z"
    if "date" in kind:
        return "an ISO date, e.g. 2021-06-30"
    if "int" in kind:
        return "a whole number"
    if kind == "extra_forbidden":
        return "one of the columns: " + ", ".join(COLUMNS)
    if kind == "missing":
        return f"a value in column '{field}'"
    return None


def read_csv_text(text: str, source: str) -> list[LedgerEvent]:
    reader = csv.DictReader(io.StringIO(text))
    with readable_csv("LEDGER_BAD_FILE", source, lambda: reader.line_num):
        numbered = [
            (reader.line_num, {k: v for k, v in raw.items() if k is not None}) for raw in reader
        ]
    return events_from_rows(numbered, source, text=True)


def read_json_text(text: str, source: str) -> list[LedgerEvent]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DoseflowError(
            "LEDGER_BAD_FILE",
            f"not valid JSON: {exc.msg}",
            source=source,
            line=exc.lineno,
            column=exc.colno,
            expected='a JSON list of event objects, or {"events": [...]}',
        ) from None
    except RecursionError:  # an event file is rows: no real one nests beyond a few levels
        raise DoseflowError(
            "LEDGER_BAD_FILE",
            "the JSON is nested too deep",
            source=source,
            expected='a JSON list of event objects, or {"events": [...]}',
        ) from None
    if isinstance(data, dict):
        data = data.get("events")
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DoseflowError(
            "LEDGER_BAD_FILE",
            "the JSON file does not hold a list of event objects",
            source=source,
            expected='a JSON list of event objects, or {"events": [...]}',
        )
    return events_from_rows(list(enumerate(data, start=1)), source)


def read_events(path: Path) -> list[LedgerEvent]:
    """Events from a ``.csv`` or ``.json`` file (all-or-nothing)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DoseflowError(
            "LEDGER_BAD_FILE",
            f"cannot read the file: {exc.strerror}",
            source=str(path),
            expected="a readable .csv or .json file",
        ) from None
    if path.suffix.lower() == ".json":
        return read_json_text(text, str(path))
    if path.suffix.lower() == ".csv":
        return read_csv_text(text, str(path))
    raise DoseflowError(
        "LEDGER_BAD_FILE",
        "unknown event file type",
        source=str(path),
        expected="a file ending in .csv or .json",
        value=path.suffix,
    )


def write_csv_text(events: Iterable[LedgerEvent]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for event in events:
        writer.writerow({k: ("" if v is None else v) for k, v in row_of(event).items()})
    return out.getvalue()


def write_json_text(events: Iterable[LedgerEvent]) -> str:
    rows = [{k: v for k, v in row_of(e).items() if v is not None} for e in events]
    return json.dumps({"unit": "dose", "events": rows}, indent=1, ensure_ascii=False)


def write_events(path: Path, events: Sequence[LedgerEvent] | Iterable[LedgerEvent]) -> None:
    """Write ``events`` as CSV or JSON (by ``path``'s suffix)."""
    if path.suffix.lower() == ".json":
        path.write_text(write_json_text(events), encoding="utf-8")
    else:
        path.write_text(write_csv_text(events), encoding="utf-8")
