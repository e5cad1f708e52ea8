"""Participants from a table: a CSV file or an Excel sheet with one row per participant.

Analysts keep the participants of a round in a spreadsheet. A table is read with the model
of a scenario file's participant entries (:class:`~doseflow.allocation.scenario_file.ParticipantDoc`)
through :mod:`doseflow.data.tables`, so its columns are that model's fields (``iso3``,
``financing``, ``requests:AZ-SII``, ``threat:deaths_per_million``, ``cold_chain`` as
``2-8;ambient``...) and a cell is refused exactly where the same value in a YAML file would
be, with the same code. The rows then replace the participants of a scenario file and the
whole scenario is checked as one document (ISO3 codes, duplicates, products named), every
problem located at the table's row and column or at the scenario file's line.

Only a path the user typed is read here (the command line): documents sent to the service
never name files, so the service takes participants in its JSON document.
"""

from __future__ import annotations

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
    read = table_records(table, ParticipantDoc, CODES, _code_for)
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
    anything is built."""
    data, locator = read_scenario_file(Path(scenario))
    table = read_participants_table(participants, sheet=sheet)
    problems = list(table.problems)
    scenario_problems: list[ErrorDetail] = []
    result: Scenario | None = None
    if table.records:
        document = dict(data) if isinstance(data, Mapping) else data
        if isinstance(document, dict):
            document["participants"] = table.documents
        try:
            result = scenario_from_document(document, source=str(scenario), locator=locator)
        except DoseflowError as err:
            scenario_problems = list(err.details)
    problems.extend(_relocated(scenario_problems, table, _failed_codes(table)))
    if problems or result is None:
        raise DoseflowError.from_details(
            sorted(problems, key=lambda d: (d.location.source != table.source, d.location.line or 0))
        )
    return result


_PARTICIPANT = re.compile(r"participants\[(\d+)\](.*)")


def _relocated(
    details: Iterable[ErrorDetail], table: ParticipantsTable, failed: set[str]
) -> list[ErrorDetail]:
    """The scenario's problems, those of a participant entry located in the table instead.

    While some rows have problems of their own (and so are not in the scenario), a
    reference to one of their codes is not reported as unknown."""
    out = []
    for d in details:
        if d.code == "ALLOC_UNKNOWN_PARTICIPANT" and str(d.value).upper() in failed:
            continue
        m = _PARTICIPANT.fullmatch(d.location.field or "")
        if m is None or int(m.group(1)) >= len(table.records):
            out.append(d)
            continue
        record = table.records[int(m.group(1))]
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


def _failed_codes(table: ParticipantsTable) -> set[str]:
    """The ISO3 codes written in rows that have problems of their own."""
    return {
        str(r.document["iso3"]).upper() for r in table.failed if isinstance(r.document.get("iso3"), str)
    }


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def participant_documents(scenario: Scenario) -> list[dict[str, Any]]:
    """The participant entries of a scenario read from a file (as given, JSON-ready)."""
    entries: Sequence[Any] = scenario.document.get("participants") or []
    return [
        ParticipantDoc.model_validate(e).model_dump(mode="json", exclude_unset=True)
        for e in entries
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
