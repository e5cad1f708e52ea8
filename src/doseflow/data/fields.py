"""Field types for every record a user sends: bounded text, whole quantities, bounded dates.

Every record model that reads users' data (ledger event rows, scenario, network,
deployment, report and impact files, the service's request bodies) declares its fields
with these types, so one rule holds wherever a value comes from and on SQLite exactly as on
PostgreSQL (whose column widths are the maxima in :mod:`doseflow.domain.limits`). A value
outside them is a pydantic error, which the readers turn into their coded ``*_BAD_FIELD``
(or ``SERVICE_BAD_REQUEST``) refusal before anything is written.

Text rules (``docs/service.md``, "Limits on input"):

* :data:`Identifier`, :data:`Code`, :data:`LotNumber`: 1 to the maximum characters, one
  line, no control characters, no leading or trailing white space (a space at the edge of
  an id is never meant and makes two ids that look the same).
* :data:`Name`: the same, but spaces at the edges are allowed (a model may strip them).
* :data:`FreeText`: up to the maximum; tabs and line breaks allowed, other control
  characters not.
* No text may hold lone surrogates (``"\\ud800"`` in JSON), which cannot be stored as UTF-8.

Numbers: :data:`Quantity` is a whole number 0..``MAX_QUANTITY`` (:data:`SignedQuantity`
also allows the negatives, for adjustments). ``true``/``false`` are never numbers, nor is
``12.0``; a number written as text (``"12"``) is refused in JSON and YAML, where a number
has its own syntax, and accepted only where every value is text: CSV cells, read with
:func:`text_cells` as the validation context. That context is the one switch between the
two behaviours. :data:`Number` (shares, rates, days, litres) follows the same rules and is
always finite.

Dates: :data:`BoundedDate` and :data:`BoundedDateTime` lie between ``EARLIEST_DATE`` and
``LATEST_DATE``; a date-time is judged by the date it names (in its own offset), so an
extreme offset such as ``0001-01-01T00:00:00+14:00`` is refused before any conversion to
UTC could overflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from doseflow.domain.limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_CODE_LENGTH,
    MAX_ID_LENGTH,
    MAX_LOT_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PERIOD_LENGTH,
    MAX_QUANTITY,
    MAX_SHIPMENT_ID_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_USER_LENGTH,
)

#: Key of the validation context that says every value is text (a CSV cell).
TEXT_CELLS: Final = "doseflow_text_cells"

#: Control characters (C0, DEL, C1), lone surrogates, and the Unicode line and paragraph
#: separators: never part of a one-line value.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
#: The same, less tab, line feed and carriage return: free text may run over lines.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: A whole number written as text (digits, optionally signed; far longer than any quantity,
#: short enough for int() to read quickly).
_WHOLE = re.compile(r"[+-]?[0-9]{1,1000}")


def text_cells() -> dict[str, bool]:
    """The validation context for records read from CSV, where numbers arrive as text."""
    return {TEXT_CELLS: True}


def _bad_character(text: str, pattern: re.Pattern[str], rule: str) -> None:
    found = pattern.search(text)
    if found is not None:
        raise PydanticCustomError(
            "text_characters",
            "text {rule}: found U+{codepoint} at character {position}",
            {"rule": rule, "codepoint": f"{ord(found.group()):04X}", "position": found.start() + 1},
        )


def _one_line(text: str) -> str:
    _bad_character(text, _NOT_ONE_LINE, "must be one line without control characters")
    return text


def _token(text: str) -> str:
    _one_line(text)
    if text != text.strip():
        raise PydanticCustomError(
            "text_edge_space", "text must not start or end with white space", {}
        )
    return text


def _free_text(text: str) -> str:
    _bad_character(text, _NOT_TEXT, "must not hold control characters other than tab or newline")
    return text


def free_text_problem(text: str) -> str | None:
    """Why ``text`` is not acceptable as :data:`FreeText`, or ``None``: for readers that
    check values one by one (a report's comments) rather than through a model."""
    if len(text) > MAX_TEXT_LENGTH:
        return f"the text has {len(text):,} characters, more than {MAX_TEXT_LENGTH}"
    found = _NOT_TEXT.search(text)
    if found is not None:
        return f"the text holds the control character U+{ord(found.group()):04X}"
    return None


Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_token)]
"""An id a user chooses (event, shipment, plan, reference): 1-200 characters, one line."""

ShipmentId = Annotated[
    str, Field(min_length=1, max_length=MAX_SHIPMENT_ID_LENGTH), AfterValidator(_token)
]
"""A shipment id: 1-100 characters, one line."""

UserName = Annotated[str, Field(min_length=1, max_length=MAX_USER_LENGTH), AfterValidator(_token)]
"""Who did something (a user name): 1-100 characters, one line."""

Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE_LENGTH), AfterValidator(_token)]
"""A code of a node, product, data element or org unit: 1-64 characters, one line."""

LotNumber = Annotated[str, Field(min_length=1, max_length=MAX_LOT_LENGTH), AfterValidator(_token)]
"""A lot (batch) number as printed on the pack: 1-100 characters, one line."""

Period = Annotated[str, Field(min_length=1, max_length=MAX_PERIOD_LENGTH), AfterValidator(_token)]
"""A reporting period as written (2021W23, 202106, 2021Q2, 2021-09-01/P1M): 1-16 characters."""

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_one_line)]
"""A person's or thing's name: 1-200 characters, one line."""

Label = Annotated[str, Field(max_length=MAX_NAME_LENGTH), AfterValidator(_one_line)]
"""A short, optional caption (a label, a presentation, a reference, a source): up to 200
characters, one line, may be empty."""

FreeText = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(_free_text)]
"""Reasons, notes, comments: up to 500 characters; tabs and line breaks allowed."""


def whole_number(value: Any, info: ValidationInfo) -> Any:
    """Let only real whole numbers through (strict validation refuses the rest); text too
    when the record comes from text cells. The before-validator of every whole-number
    field: ``Annotated[int, BeforeValidator(whole_number), Field(strict=True, ...)]``."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "quantity_bool", "a quantity must be a whole number, not true or false", {}
        )
    if isinstance(value, str) and info.context and info.context.get(TEXT_CELLS):
        text = value.strip()
        if _WHOLE.fullmatch(text) is None:
            raise PydanticCustomError(
                "int_parsing", "Input should be a valid integer, unable to parse string", {}
            )
        return int(text)
    return value


Quantity = Annotated[
    int,
    BeforeValidator(whole_number),
    Field(strict=True, ge=0, le=MAX_QUANTITY),
]
"""A number of doses (or vials, packs, people): a whole number from 0 to 10**12."""

SignedQuantity = Annotated[
    int,
    BeforeValidator(whole_number),
    Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY),
]
"""A change in a number of doses: a whole number from -10**12 to 10**12."""


def real_number(value: Any, info: ValidationInfo) -> Any:
    """The before-validator of :data:`Number`: never true/false; text only from text cells."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "number_bool", "a number must be written as a number, not true or false", {}
        )
    if isinstance(value, str) and info.context and info.context.get(TEXT_CELLS):
        try:
            if "_" in value:  # float() would read "1_0" as 10
                raise ValueError(value)
            return float(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "float_parsing", "Input should be a valid number, unable to parse string", {}
            ) from None
    return value


Number = Annotated[float, BeforeValidator(real_number), Field(strict=True, allow_inf_nan=False)]
"""A finite number (shares, days, litres, rates); whole numbers are numbers too."""

Litres = Annotated[Number, Field(ge=0, le=MAX_QUANTITY)]
"""A volume of cold-chain space in litres: 0..``MAX_QUANTITY`` (a trillion litres is a cubic
kilometre, beyond any store), so a capacity cannot overflow the sums made of it."""


def _within_dates(day: date) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "the date {day} is outside {earliest} .. {latest}",
            {"day": day.isoformat(), "earliest": str(EARLIEST_DATE), "latest": str(LATEST_DATE)},
        )


def _bounded_date(day: date) -> date:
    _within_dates(day)
    return day


def _bounded_datetime(moment: datetime) -> datetime:
    # the date as written, in its own offset: a date inside the range is at most a day away
    # from its UTC date, so converting it later cannot overflow
    _within_dates(moment.date())
    return moment


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("not_true_false", "true or false is not accepted here", {})
    return value


BoundedDate = Annotated[date, BeforeValidator(_no_bool), AfterValidator(_bounded_date)]
"""A calendar date from 2000-01-01 to 2099-12-31."""

BoundedDateTime = Annotated[datetime, BeforeValidator(_no_bool), AfterValidator(_bounded_datetime)]
"""A moment whose date (as written, in its own offset) is from 2000-01-01 to 2099-12-31."""

ReportedValue = Annotated[
    Annotated[str, Field(max_length=MAX_TEXT_LENGTH), AfterValidator(_free_text)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | int,
    BeforeValidator(_no_bool),
]
"""A reported value: a finite number, or text of up to 500 characters (checked later
against its data element's type); never true or false."""

#: What each field type's own pydantic errors mean, in words (for ``expected``).
EXPECTED_BY_ERROR: Final[dict[str, str]] = {
    "text_characters": "one line of text without control characters",
    "text_edge_space": "text without white space at its start or end",
    "quantity_bool": "a whole number, not true or false",
    "number_bool": "a number, not true or false",
    "float_type": "a number (not text or true/false)",
    "not_true_false": "a value other than true or false",
    "int_type": "a whole number (not text, true/false or a fraction)",
    "date_out_of_range": f"a date from {EARLIEST_DATE} to {LATEST_DATE}",
}


def expected_text(error: Mapping[str, Any]) -> str | None:
    """What a user should have written for one of these types' errors, or ``None`` when the
    error is not one of theirs (the caller's own wording applies)."""
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return f"text of at most {ctx.get('max_length')} characters"
    if kind == "less_than_equal" and ctx.get("le") == MAX_QUANTITY:
        return f"a whole number of at most {MAX_QUANTITY:,}"
    if kind == "greater_than_equal" and ctx.get("ge") == -MAX_QUANTITY:
        return f"a whole number of at least {-MAX_QUANTITY:,}"
    return EXPECTED_BY_ERROR.get(kind)
