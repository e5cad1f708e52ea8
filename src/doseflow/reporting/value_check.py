"""One value checked against its data element: DHIS2's rule for the element's value type
(:mod:`doseflow.reporting.value_types`), then the element's own bounds.

The submission engine checks every value with :func:`check_number`, and the browser's data
entry form checks each field as one types with :func:`browser_rule`, which hands the page the
same pattern, bounds and messages (the script only fills in the number). So what the form
flags is what the import refuses, in the same words, and the two cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from doseflow.reporting.schema import DataElement
from doseflow.reporting.value_types import NUMBER_MAX_LENGTH, RULES, parse_text
from doseflow.reporting.values import format_number

#: Where :func:`range_message` puts the number in the rule handed to the browser.
VALUE_PLACEHOLDER = "{value}"
#: The highest code point ``str.isspace`` is true for (U+3000, the ideographic space).
_LAST_BLANK = 0x3000


@dataclass(frozen=True)
class ValueProblem:
    """Why a value is refused: the stable code, the message and what was expected."""

    code: str
    message: str
    expected: str


def element_bounds(element: DataElement) -> tuple[float | None, float | None]:
    """The element's bounds narrowed by its value type's (e.g. 0..100 for a percentage)."""
    rule = RULES[element.value_type]
    low, high = element.minimum, element.maximum
    if rule.low is not None:
        low = rule.low if low is None else max(low, rule.low)
    if rule.high is not None:
        high = rule.high if high is None else min(high, rule.high)
    return low, high


def type_message(element: DataElement) -> str:
    """The message for a value that breaks the element's value type."""
    rule = RULES[element.value_type]
    whole = element.value_type.whole
    return (
        f"value of '{element.code}' is not {'a whole number' if whole else 'a number'} "
        f"as its value type {element.value_type.value} (DHIS2 {rule.dhis2}) requires: "
        f"{rule.words}"
    )


def bounds_words(element: DataElement) -> str | None:
    """The element's own bounds in words (``at least 0``), or None when it has none."""
    low, high = element.minimum, element.maximum
    if low is None and high is None:
        return None
    if high is None:
        return f"at least {format_number(low or 0.0)}"
    if low is None:
        return f"at most {format_number(high)}"
    return f"between {format_number(low)} and {format_number(high)}"


def range_message(element: DataElement, shown: str) -> str:
    """The message for a value (written as ``shown``) outside the element's bounds."""
    return f"value {shown} of '{element.code}' is out of range: it must be {bounds_words(element)}"


def check_number(element: DataElement, raw: object) -> float | ValueProblem:
    """The number ``raw`` gives for ``element``, or why it is refused (``REPORT_BAD_VALUE``:
    not of the value type; ``REPORT_VALUE_OUT_OF_RANGE``: outside the element's bounds)."""
    rule = RULES[element.value_type]
    number: float
    if isinstance(raw, bool):
        number = math.nan
    elif isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        number = parse_text(raw, element.value_type)
    else:
        number = math.nan
    if (
        not math.isfinite(number)
        or (element.value_type.whole and not number.is_integer())
        or (rule.low is not None and number < rule.low)
        or (rule.high is not None and number > rule.high)
    ):
        return ValueProblem("REPORT_BAD_VALUE", type_message(element), rule.expected)
    low, high = element.minimum, element.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        return ValueProblem(
            "REPORT_VALUE_OUT_OF_RANGE",
            range_message(element, format_number(number)),
            f"a value {bounds_words(element)}",
        )
    return number


@cache
def blanks() -> str:
    """Every character ``str.strip()`` removes: the browser trims exactly these."""
    return "".join(chr(c) for c in range(_LAST_BLANK + 1) if chr(c).isspace())


def browser_rule(element: DataElement) -> dict[str, Any]:
    """What the data entry page's script needs to check a value of ``element`` as
    :func:`check_number` does: the pattern text must match after trimming :func:`blanks`
    (shorter than ``max_length``), the value type's and the element's bounds, and the two
    messages (``range_message`` with :data:`VALUE_PLACEHOLDER` for the number)."""
    rule = RULES[element.value_type]
    words = bounds_words(element)
    return {
        "value_type": element.value_type.value,
        "pattern": rule.regex.pattern,
        "max_length": NUMBER_MAX_LENGTH,
        "whole": element.value_type.whole,
        "type_low": rule.low,
        "type_high": rule.high,
        "low": element.minimum,
        "high": element.maximum,
        "type_message": type_message(element),
        "type_expected": rule.expected,
        "range_message": range_message(element, VALUE_PLACEHOLDER),
        "range_expected": None if words is None else f"a value {words}",
    }
