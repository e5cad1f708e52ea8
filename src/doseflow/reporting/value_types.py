"""DHIS2's rules for values written as text, per value type.

A value that DHIS2 would refuse must not be accepted here either, or an export would carry
it to DHIS2 and fail there. The rules follow dhis2-core (``ValidationUtils.dataValueIsValid``
and ``MathUtils``): integers are digits with an optional leading minus and no leading zeros
(``^(0|-?[1-9]\\d*)$``), fitting a 32-bit signed integer; numbers may add a decimal part
(``^(-?0|-?[1-9]\\d*)(\\.\\d+)?$``, shorter than 250 characters). So ``"1,200"``, ``"12.0"``
for an integer, ``"+5"``, ``"1e3"``, ``"007"`` and ``".5"`` are all refused. Digits are ASCII
ones, as Java's ``\\d`` means (Python's would take any script's digits, and ``float`` reads
them). Surrounding blanks are ignored (a spreadsheet cell's spaces are not part of the figure).

Numbers that arrive as numbers (an Excel cell, a JSON number in doseflow's own API) are
checked by value: an integer type takes any whole number in range, so Excel's ``12.0`` is 12.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from doseflow.reporting.schema import ValueType

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
NUMBER_MAX_LENGTH = 250  # MathUtils.NUMBER_MAX_LENGTH: a number is shorter than this

_INT = r"^(0|-?[1-9]\d*)$"
_NUMBER = r"^(-?0|-?[1-9]\d*)(\.\d+)?$"


@dataclass(frozen=True)
class ValueRule:
    """One DHIS2 value type: its pattern for text, bounds, and the rule in words."""

    value_type: ValueType
    dhis2: str
    pattern: str
    low: float | None
    high: float | None
    words: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _COMPILED[self.value_type]

    @property
    def expected(self) -> str:
        """What an error says was expected: the rule, in words and as DHIS2 states it."""
        return f"{self.words} (DHIS2 {self.dhis2}: {self.pattern})"


RULES: dict[ValueType, ValueRule] = {
    r.value_type: r
    for r in (
        ValueRule(
            ValueType.INTEGER,
            "INTEGER",
            _INT,
            INT_MIN,
            INT_MAX,
            "a whole number written with digits only, an optional leading '-', no leading "
            "zeros, no thousands separators and no decimal point",
        ),
        ValueRule(
            ValueType.INTEGER_POSITIVE,
            "INTEGER_POSITIVE",
            r"^[1-9]\d*$",
            1,
            INT_MAX,
            "a whole number from 1 up, digits only, no leading zeros or separators",
        ),
        ValueRule(
            ValueType.INTEGER_ZERO_OR_POSITIVE,
            "INTEGER_ZERO_OR_POSITIVE",
            r"(^0$)|(^[1-9]\d*$)",
            0,
            INT_MAX,
            "0 or a whole number from 1 up, digits only, no leading zeros or separators",
        ),
        ValueRule(
            ValueType.INTEGER_NEGATIVE,
            "INTEGER_NEGATIVE",
            r"^-[1-9]\d*$",
            INT_MIN,
            -1,
            "a whole number below 0: '-' then digits, no leading zeros or separators",
        ),
        ValueRule(
            ValueType.PERCENTAGE,
            "PERCENTAGE",
            _INT + " and 0..100",
            0,
            100,
            "a whole number from 0 to 100",
        ),
        ValueRule(
            ValueType.NUMBER,
            "NUMBER",
            _NUMBER + f", under {NUMBER_MAX_LENGTH} characters",
            None,
            None,
            "a number: digits, an optional leading '-' and decimal part after a '.', no "
            "leading zeros, '+', exponent or thousands separators",
        ),
        ValueRule(
            ValueType.UNIT_INTERVAL,
            "UNIT_INTERVAL",
            _NUMBER + " and 0..1",
            0,
            1,
            "a number from 0 to 1 written as for NUMBER",
        ),
    )
}

_COMPILED: dict[ValueType, re.Pattern[str]] = {
    t: re.compile(
        _INT if t is ValueType.PERCENTAGE else _NUMBER if not t.whole else r.pattern, re.ASCII
    )
    for t, r in RULES.items()
}


def parse_text(raw: str, value_type: ValueType) -> float:
    """The number ``raw`` writes under DHIS2's rule for ``value_type``; NaN if it breaks the
    rule's form (bounds are checked by the caller, with the element's own)."""
    text = raw.strip()
    if len(text) >= NUMBER_MAX_LENGTH or _COMPILED[value_type].match(text) is None:
        return math.nan
    number = float(text)
    return number if math.isfinite(number) else math.nan


def type_bounds(value_type: ValueType) -> tuple[float | None, float | None]:
    rule = RULES[value_type]
    return rule.low, rule.high
