"""Where a run starts, written in a file: a hypothetical network's stock and pipeline.

The live ledger gives a run's start through ``doseflow.store.simulation_start``; a what-if
on a network that has no ledger (or a variant of the real one) gives it in a file, read
into the same :class:`StartState`. Two forms, validated by the same pydantic models:

* YAML: ``as_of``, then lists ``stock`` (node, product, lot, expiry, vvm_stage, doses) and
  ``pipeline`` (shipment, product, lot, expiry, doses, route, and either ``next_node`` with
  ``expected_arrival`` or ``held_at`` with ``held``);
* CSV (or an Excel sheet): one row per line with a ``kind`` column (``stock`` or
  ``pipeline``) and the same columns; ``route`` is one cell, nodes separated by ``;``.
  A table has no place for the start day: the caller gives ``as_of``.

Every problem is reported at once, located at file, line and field (``SIMULATION_START_*``
codes, see ``docs/errors.md``). A lot that expired before ``as_of`` is accepted (expired
stock sits in stores, and what a run does with it is the run's business) but noted: the
result carries a ``SIMULATION_START_EXPIRED`` note per such line, so a typo in a year is
not silently a write-off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doseflow.data.fields import BoundedDate, Code, Identifier, LotNumber, Quantity
from doseflow.data.tables import (
    TABLE_SUFFIXES,
    TableCodes,
    read_table,
    table_records,
)
from doseflow.data.user_files import UserFiles, expected_for, raise_all
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.simulation.start import LotStock, PipelineShipment, StartState

__all__ = ["FILES", "StartFile", "read_start_file", "start_from_yaml"]

FILES = UserFiles("SIMULATION_START")
CODES = TableCodes(
    not_found=FILES.code("FILE_NOT_FOUND"),
    unsupported=FILES.code("UNSUPPORTED_FORMAT"),
    bad_table=FILES.code("BAD_TABLE"),
    unknown_column=FILES.code("UNKNOWN_FIELD"),
)
EXPIRED = FILES.code("EXPIRED")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Line(_Doc):
    product: Code
    lot: LotNumber
    expiry: BoundedDate | None = None
    doses: Quantity = Field(ge=1)


class StockDoc(_Line):
    """Doses of one lot at one node (:class:`LotStock`)."""

    node: Code
    vvm_stage: int = Field(1, ge=1, le=4, strict=True)

    def value(self) -> LotStock:
        return LotStock(self.node, self.product, self.lot, self.expiry, self.vvm_stage, self.doses)


def _pipeline_problem(
    route: Sequence[str],
    next_node: str | None,
    held_at: str | None,
    held: bool,
    expected_arrival: date | None,
) -> str | None:
    """Why a pipeline line cannot be (None if it can): it travels to the next node on its
    route or waits at a hub on it, never both or neither."""
    if (next_node is None) == (held_at is None):
        return "a pipeline line gives either next_node (travelling) or held_at (at a hub)"
    if held and held_at is None:
        return "held: true needs held_at, the hub that holds the shipment"
    if expected_arrival is not None and next_node is None:
        return "expected_arrival is for a line travelling to next_node"
    where = next_node or held_at
    if where not in route[1:]:
        return f"{where} is not on the route after its origin ({' > '.join(route)})"
    return None


class PipelineDoc(_Line):
    """Doses of one lot of one shipment on their way (:class:`PipelineShipment`)."""

    shipment: Identifier
    route: list[Code] = Field(min_length=2)
    next_node: Code | None = None
    expected_arrival: BoundedDate | None = None
    held_at: Code | None = None
    held: bool = False

    @model_validator(mode="after")
    def _one_place(self) -> PipelineDoc:
        problem = _pipeline_problem(
            self.route, self.next_node, self.held_at, self.held, self.expected_arrival
        )
        if problem:
            raise ValueError(problem)
        return self

    def value(self) -> PipelineShipment:
        return PipelineShipment(
            self.shipment,
            self.product,
            self.lot,
            self.expiry,
            self.doses,
            tuple(self.route),
            self.next_node,
            self.expected_arrival,
            self.held_at,
            self.held,
        )


class StartDoc(_Doc):
    """A YAML start file."""

    as_of: BoundedDate
    stock: list[StockDoc] = []
    pipeline: list[PipelineDoc] = []


_STOCK_ONLY = ("node", "vvm_stage")
_PIPELINE_ONLY = ("shipment", "route", "next_node", "expected_arrival", "held_at", "held")


class RowDoc(_Doc):
    """One row of a CSV start table: a stock or a pipeline line, by ``kind``; the checks
    of :class:`StockDoc` and :class:`PipelineDoc` apply (the row is one of them)."""

    kind: Literal["stock", "pipeline"]
    product: Code
    lot: LotNumber
    expiry: BoundedDate | None = None
    doses: Quantity = Field(ge=1)
    node: Code | None = None
    vvm_stage: int | None = Field(None, ge=1, le=4)
    shipment: Identifier | None = None
    route: list[Code] | None = None
    next_node: Code | None = None
    expected_arrival: BoundedDate | None = None
    held_at: Code | None = None
    held: bool | None = None

    @model_validator(mode="after")
    def _of_its_kind(self) -> RowDoc:
        given = self.model_fields_set
        other = _PIPELINE_ONLY if self.kind == "stock" else _STOCK_ONLY
        wrong = [name for name in other if name in given]
        if wrong:
            raise ValueError(f"a {self.kind} line has no {', '.join(wrong)}")
        if self.kind == "stock" and self.node is None:
            raise ValueError("a stock line names its node")
        if self.kind == "pipeline":
            if self.shipment is None or not self.route or len(self.route) < 2:
                raise ValueError("a pipeline line names its shipment and a route of 2+ nodes")
            problem = _pipeline_problem(
                self.route, self.next_node, self.held_at, bool(self.held), self.expected_arrival
            )
            if problem:
                raise ValueError(problem)
        return self

    def value(self) -> LotStock | PipelineShipment:
        fields = self.model_dump(exclude={"kind"}, exclude_none=True)
        doc = StockDoc if self.kind == "stock" else PipelineDoc
        return doc.model_validate(fields).value()


@dataclass(frozen=True)
class StartFile:
    """A file's start state, with notes on lines accepted but worth a look (expired lots)."""

    state: StartState
    notes: tuple[ErrorDetail, ...] = ()


def read_start_file(path: str | Path, *, as_of: date | None = None) -> StartFile:
    """The start in a YAML file, or in a CSV/Excel table (then ``as_of`` is required; for
    YAML, a given ``as_of`` replaces the file's)."""
    file = Path(path)
    if file.suffix.lower() in TABLE_SUFFIXES:
        return _from_table(file, as_of)
    text = FILES.read_text(str(file))
    return start_from_yaml(text, str(file), as_of=as_of)


def start_from_yaml(text: str, source: str, *, as_of: date | None = None) -> StartFile:
    """The start in a YAML document's text (``source`` names it in errors)."""
    doc, lines = FILES.model_from_yaml(
        text,
        source,
        StartDoc,
        what="start file",
        shape="a start file is a mapping of as_of, stock and pipeline",
        expected="as_of: YYYY-MM-DD, stock: [...], pipeline: [...]",
    )
    day = as_of or doc.as_of
    state = StartState(
        day, tuple(s.value() for s in doc.stock), tuple(p.value() for p in doc.pipeline)
    )
    placed: list[tuple[str, int, LotStock | PipelineShipment]] = [
        *(("stock", i, s) for i, s in enumerate(state.stock)),
        *(("pipeline", i, p) for i, p in enumerate(state.pipeline)),
    ]
    notes = [
        _expired_note(line, day, source, lines.get((part, i)), f"{part}[{i}].expiry")
        for part, i, line in placed
        if line.expiry is not None and line.expiry < day
    ]
    return StartFile(state, tuple(notes))


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    kind = str(error["type"])
    if kind == "missing":
        code = FILES.code("MISSING_FIELD")
    elif kind == "extra_forbidden":
        code = FILES.code("UNKNOWN_FIELD")
    else:
        code = FILES.code("BAD_FIELD")
    return code, expected_for(error, RowDoc)


def _from_table(file: Path, as_of: date | None) -> StartFile:
    source = str(file)
    if as_of is None:
        raise DoseflowError(
            FILES.code("MISSING_FIELD"),
            "a start table has no start day: give as_of",
            source=source,
            field="as_of",
            expected="the day the run starts, YYYY-MM-DD",
        )
    table = table_records(read_table(file, CODES), RowDoc, CODES, _describe)
    raise_all(table.problems)
    stock: list[LotStock] = []
    pipeline: list[PipelineShipment] = []
    notes: list[ErrorDetail] = []
    for record, doc in table.valid:
        assert isinstance(doc, RowDoc)
        line = doc.value()
        (stock if isinstance(line, LotStock) else pipeline).append(line)  # type: ignore[arg-type]
        if line.expiry is not None and line.expiry < as_of:
            notes.append(_expired_note(line, as_of, source, record.row.number, "expiry"))
    return StartFile(StartState(as_of, tuple(stock), tuple(pipeline)), tuple(notes))


def _expired_note(
    line: LotStock | PipelineShipment, as_of: date, source: str, at: int | None, field: str
) -> ErrorDetail:
    return ErrorDetail(
        EXPIRED,
        f"lot {line.lot} of {line.product} expired on {line.expiry} before the start "
        f"({as_of}): accepted as expired stock",
        ErrorLocation(source=source, line=at, field=field),
        expected=f"an expiry on or after {as_of} for a usable lot",
        value=str(line.expiry),
    )
