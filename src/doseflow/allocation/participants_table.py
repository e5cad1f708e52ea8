"""Participants from a table: a CSV file or an Excel sheet with one row per participant.

Analysts keep the participants of a round in a spreadsheet. A table is read with the model
of a scenario file's participant entries (``ParticipantDoc``) through
:mod:`doseflow.data.tables`, so its columns are that model's fields (``iso3``,
``financing``, ``requests:AZ-SII``, ``threat:deaths_per_million``, ``cold_chain`` as
``2-8;ambient``...) and a cell is refused exactly where the same value in a YAML file would
be, with the same code. The rows then replace the participants of a scenario file and the
whole scenario is checked as one document (ISO3 codes, duplicates, products named), every
problem located at the table's row and column or at the scenario file's line.

Only a path the user typed is read here (the command line): documents sent to the service
never name files, so the service takes participants in its JSON document.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doseflow.allocation.scenario import Scenario
from doseflow.allocation.scenario_file import (
    ParticipantDoc,
    _code_for,
    read_scenario_file,
    scenario_from_document,
)
from doseflow.data.tables import (
    Record,
    TableCodes,
    locate,
    mapping_fields,
    read_table,
    table_columns,
    table_records,
    table_rows,
    write_table,
)
from doseflow.data.user_files import expected_for
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation

CODES = TableCodes(
    not_found="ALLOC_FILE_NOT_FOUND",
    unsupported="ALLOC_UNSUPPORTED_FORMAT",
    bad_table="ALLOC_BAD_TABLE",
    unknown_column="ALLOC_UNKNOWN_FIELD",
)

#: The name of the sheet :func:`write_participants_table` writes.
SHEET = "participants"


@dataclass(frozen=True)
class ParticipantsTable:
    """The rows of a participants table that are valid, and the problems of the others."""

    source: str
    header: Mapping[int, str]
    records: tuple[Record, ...]
    failed: tuple[Record, ...]
    problems: tuple[ErrorDetail, ...]

    @property
    def documents(self) -> list[dict[str, Any]]:
        """The participant entries, as a scenario document holds them (JSON-ready)."""
        return [r.document for r in self.records]


def read_participants_table(path: str | Path, *, sheet: str | None = None) -> ParticipantsTable:
    """The participants of a CSV file or of one sheet of a workbook (``sheet`` or the first).

    Raises :class:`DoseflowError` when the file cannot be read as a table; problems of
    single rows and columns are kept in ``problems`` (:func:`load_scenario_with_participants`
    reports them with the scenario's)."""
    table = read_table(Path(path), CODES, sheet=sheet)
    read = table_records(table, ParticipantDoc, CODES, _describe)
    records = tuple(
        Record(r.row, doc.model_dump(mode="json", exclude_unset=True), r.columns)
        for r, doc in read.valid
    )
    return ParticipantsTable(
        table.source, table.header, records, tuple(read.failed), tuple(read.problems)
    )


def load_scenario_with_participants(
    scenario: str | Path, participants: str | Path, *, sheet: str | None = None
) -> Scenario:
    """The scenario of a YAML or TOML file with its participants replaced by a table's.

    Every problem of both files is reported at once (one :class:`DoseflowError`), before
    anything is built: the rows' own problems, then the scenario's checks, which see every
    row (one with problems as written, so its ISO3 code and the products it names are
    checked too and a decline naming it is not refused as naming no participant)."""
    data, locator = read_scenario_file(Path(scenario))
    table = read_participants_table(participants, sheet=sheet)
    rows = sorted([*table.records, *table.failed], key=lambda r: r.row.number)
    problems = list(table.problems)
    result: Scenario | None = None
    if isinstance(data, Mapping):
        document = {**data, "participants": [r.document for r in rows]}
    else:
        document = data  # not a mapping: the scenario reader says so
    try:
        result = scenario_from_document(document, source=str(scenario), locator=locator)
    except DoseflowError as err:
        problems.extend(_relocated(err.details, table, rows))
    if problems or result is None:
        raise DoseflowError.from_details(
            sorted(problems, key=lambda d: (d.location.source != table.source, _at(d)))
        )
    return result


def _at(detail: ErrorDetail) -> tuple[int, int]:
    column = detail.location.column
    return (detail.location.line or 0, column if isinstance(column, int) else 0)


_PARTICIPANT = re.compile(r"participants\[(\d+)\](.*)")
#: What the scenario's checks find in a row that has problems of its own and is checked
#: as written (its cells' types are reported by the table's reading instead).
_CROSS_CHECKS = frozenset({"ALLOC_UNKNOWN_ISO3", "ALLOC_UNKNOWN_PRODUCT", "ALLOC_DUPLICATE"})


def _relocated(
    details: Iterable[ErrorDetail], table: ParticipantsTable, rows: Sequence[Record]
) -> list[ErrorDetail]:
    """The scenario's problems, those of a participant entry located in the table."""
    failed = {id(r) for r in table.failed}
    out = []
    for d in details:
        m = _PARTICIPANT.fullmatch(d.location.field or "")
        if m is None or int(m.group(1)) >= len(rows):
            out.append(d)
            continue
        record = rows[int(m.group(1))]
        if id(record) in failed and d.code not in _CROSS_CHECKS:
            continue
        path = [p for p in re.split(r"[.\[\]]", m.group(2)) if p and not p.isdigit()]
        column = locate(record, path)
        where = ErrorLocation(
            source=table.source,
            line=record.row.number,
            column=column,
            field=None if column is None else table.header[column],
        )
        out.append(ErrorDetail(d.code, d.message, where, expected=d.expected, value=d.value))
    return out


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """A scenario file's code for a cell's problem; what was expected in words."""
    value = error.get("input")
    if isinstance(value, str):  # a cell's text: a number as the scenario file has it
        with contextlib.suppress(ValueError):
            error = {**error, "input": float(value)}
    code, expected = _code_for(error)
    if expected == str(error.get("msg")):
        expected = expected_for(error, ParticipantDoc)
    return code, expected


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def participant_documents(scenario: Scenario) -> list[dict[str, Any]]:
    """The participant entries of a scenario read from a file (as given, JSON-ready)."""
    entries = scenario.document.get("participants")
    return [
        ParticipantDoc.model_validate(e).model_dump(mode="json", exclude_unset=True)
        for e in (entries if isinstance(entries, list) else [])
    ]


def write_participants_table(path: str | Path, scenario: Scenario) -> int:
    """Write a scenario's participants as a table (CSV or .xlsx by the file's suffix), with
    every column the participant model knows (a ``field:PRODUCT`` column per product for
    the per-product fields); returns the number of rows. Blank cells are fields the file
    does not give, so reading the table back gives the same participants."""
    documents = participant_documents(scenario)
    per_product = {name: sorted(scenario.products) for name in mapping_fields(ParticipantDoc)}
    columns = table_columns(ParticipantDoc, documents, per_product)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DoseflowError(
            "ALLOC_UNSUPPORTED_FORMAT",
            "a participants table is written as CSV or as an Excel workbook",
            source=str(p),
            expected="a file ending in .csv or .xlsx",
            value=p.suffix or p.name,
        )
    write_table(p, columns, table_rows(columns, documents), sheet=SHEET)
    return len(documents)
