"""Reading CSV rows into pydantic models, with the line number of every row.

Empty cells mean "not given" (the model's default applies). The header is checked first:
a missing required column or an unknown column is reported with the header line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from doseflow.data.fields import text_cells
from doseflow.data.user_files import readable_csv
from doseflow.domain.errors import ErrorDetail, ErrorLocation
from doseflow.logistics.file_errors import raise_all, validation_details

M = TypeVar("M", bound=BaseModel)


def csv_records(
    text: str,
    source: str,
    model: type[M],
    problems: list[ErrorDetail],
    *,
    what: str = "row",
    to_record: Callable[[dict[str, str]], dict[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
    field_names: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, M]]:
    """Yield ``(line, record)`` for every valid row; add problems for the bad ones.

    ``to_record`` reshapes a row (column -> text) into the model's input; ``columns`` lists
    the allowed columns (default: the model's fields, by alias); ``field_names`` maps a model
    field path back to the column shown in errors. Header problems stop reading.
    """
    reader = csv.DictReader(io.StringIO(text))
    with readable_csv("LOGISTICS_BAD_FORMAT", source, lambda: reader.line_num):
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        numbered = [(reader.line_num, raw) for raw in reader]
    names = {name: info.alias or name for name, info in model.model_fields.items()}
    known = set(columns) if columns else set(names.values())
    required = {
        (field_names or {}).get(names[name], names[name])
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    header_problems = [
        ErrorDetail(
            "LOGISTICS_BAD_CSV_HEADER",
            f"required column '{name}' is missing",
            ErrorLocation(source=source, line=1, field=name),
            expected="columns " + ", ".join(sorted(required)),
            value=",".join(header),
        )
        for name in sorted(required - set(header))
    ] + [
        ErrorDetail(
            "LOGISTICS_BAD_CSV_HEADER",
            f"unknown column '{name}'",
            ErrorLocation(source=source, line=1, field=name),
            expected="columns among " + ", ".join(sorted(known)),
            value=name,
        )
        for name in header
        if name not in known
    ]
    if header_problems:
        raise_all([*problems, *header_problems])
    for line, raw in numbered:
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue
        data: dict[str, Any] = (
            to_record(cells) if to_record else {k: v for k, v in cells.items() if v != ""}
        )
        try:
            yield line, model.model_validate(data, context=text_cells())
        except ValidationError as err:
            problems.extend(
                validation_details(
                    err,
                    model=model,
                    source=source,
                    what=f"{what} at line {line}",
                    line=line,
                    field_names=field_names,
                )
            )
