"""Values written as text follow DHIS2's value-type rules (dhis2-core ValidationUtils /
MathUtils), on the fast path and the slow one alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from doseflow.reporting import (
    DEFAULT_SCHEMA,
    Outcome,
    SubmissionContext,
    ValueType,
    load_schema,
    validate_submission,
)
from doseflow.reporting.schema import build_schema

from .conftest import sv
from .test_files import write


def typed_ctx(
    ctx: SubmissionContext, value_type: ValueType, minimum: float | None
) -> SubmissionContext:
    """The built-in schema with ``people_tested`` of ``value_type`` and ``minimum``."""
    elements = [
        replace(e, value_type=value_type, minimum=minimum) if e.code == "people_tested" else e
        for e in DEFAULT_SCHEMA.elements.values()
    ]
    schema = build_schema(
        DEFAULT_SCHEMA.report_types.values(), DEFAULT_SCHEMA.categories.values(), elements
    )
    return replace(ctx, schema=schema)


def outcome(ctx: SubmissionContext, raw: object) -> tuple[Outcome, str | None, str | None]:
    summary = validate_submission([sv("people_tested", "2021W38", "PRK", raw)], ctx)
    if not summary.conflicts:
        return summary.outcomes[0], None, None
    error = summary.conflicts[0].error
    return summary.outcomes[0], error.code, error.expected


@pytest.mark.parametrize(
    ("value_type", "raw", "ok"),
    [
        (ValueType.INTEGER, "1200", True),
        (ValueType.INTEGER, "1,200", False),
        (ValueType.INTEGER, "12.0", False),
        (ValueType.INTEGER, "+12", False),
        (ValueType.INTEGER, "012", False),
        (ValueType.INTEGER, "1e3", False),
        (ValueType.INTEGER, " 12 ", True),
        (ValueType.INTEGER, "-0", False),
        (ValueType.INTEGER, "2147483647", True),
        (ValueType.INTEGER, "2147483648", False),
        (ValueType.INTEGER, 12.0, True),  # an Excel number: whole
        (ValueType.INTEGER, 2**31, False),
        (ValueType.INTEGER_POSITIVE, "0", False),
        (ValueType.INTEGER_POSITIVE, "7", True),
        (ValueType.INTEGER_POSITIVE, 0, False),
        (ValueType.INTEGER_ZERO_OR_POSITIVE, "0", True),
        (ValueType.INTEGER_ZERO_OR_POSITIVE, "-1", False),
        (ValueType.INTEGER_NEGATIVE, "-3", True),
        (ValueType.INTEGER_NEGATIVE, "0", False),
        (ValueType.PERCENTAGE, "100", True),
        (ValueType.PERCENTAGE, "101", False),
        (ValueType.PERCENTAGE, "50.5", False),
        (ValueType.NUMBER, "12.5", True),
        (ValueType.NUMBER, "12.0", True),
        (ValueType.NUMBER, "-0.5", True),
        (ValueType.NUMBER, "1,200.5", False),
        (ValueType.NUMBER, "+1.5", False),
        (ValueType.NUMBER, ".5", False),
        (ValueType.NUMBER, "5.", False),
        (ValueType.NUMBER, "1e3", False),
        (ValueType.NUMBER, "inf", False),
        (ValueType.NUMBER, "1" * 249, True),
        (ValueType.NUMBER, "1" * 250, False),
        (ValueType.UNIT_INTERVAL, "0.25", True),
        (ValueType.UNIT_INTERVAL, "1.5", False),
        # Java's \\d (dhis2-core) is ASCII: digits of other scripts are refused, as in DHIS2
        (ValueType.INTEGER, "1\u0662", False),  # 1 and an Arabic-Indic 2
        (ValueType.NUMBER, "0.\u096b", False),  # 0. and a Devanagari 5
        (ValueType.INTEGER_ZERO_OR_POSITIVE, "7\uff17", False),  # 7 and a fullwidth 7
    ],
)
def test_dhis2_value_type_rules(
    ctx: SubmissionContext, value_type: ValueType, raw: object, ok: bool
) -> None:
    typed = typed_ctx(ctx, value_type, None)
    got, code, expected = outcome(typed, raw)
    if ok:
        assert got is Outcome.ACCEPTED, (code, expected)
    else:
        assert got is Outcome.CONFLICT
        assert code == "REPORT_BAD_VALUE"
        assert expected is not None
        assert f"DHIS2 {value_type.name}" in expected


def test_integer_message_quotes_dhis2_rule(ctx: SubmissionContext) -> None:
    summary = validate_submission([sv("people_tested", "2021W38", "PRK", "1,200")], ctx)
    error = summary.conflicts[0].error
    assert error.code == "REPORT_BAD_VALUE"
    assert "is not a whole number" in error.message
    assert "no thousands separators" in error.message
    assert error.expected is not None
    assert r"^(0|-?[1-9]\d*)$" in error.expected
    assert error.value == "1,200"


def test_fast_path_cache_is_per_value_type(ctx: SubmissionContext) -> None:
    """'12.5' is a good NUMBER and a bad INTEGER in the same submission."""
    numbers = [
        replace(e, value_type=ValueType.NUMBER) if e.code == "positives" else e
        for e in DEFAULT_SCHEMA.elements.values()
    ]
    schema = build_schema(
        DEFAULT_SCHEMA.report_types.values(), DEFAULT_SCHEMA.categories.values(), numbers
    )
    values = [
        sv("positives", "2021W38", "PRK", "12.5"),
        sv("people_tested", "2021W38", "PRK", "12.5"),
        sv("positives", "2021W37", "PRK", "12.5"),
        sv("people_tested", "2021W37", "PRK", "12.5"),
    ]
    summary = validate_submission(values, replace(ctx, schema=schema))
    assert summary.outcomes == (
        Outcome.ACCEPTED,
        Outcome.CONFLICT,
        Outcome.ACCEPTED,
        Outcome.CONFLICT,
    )


def test_schema_file_takes_dhis2_value_types(tmp_path: Path, ctx: SubmissionContext) -> None:
    path = write(
        tmp_path,
        "data_elements:\n"
        "  - {code: share_vaccinated, name: Share vaccinated, report: administration,\n"
        "     value_type: percentage}\n",
    )
    schema = load_schema(path)
    assert schema.elements["share_vaccinated"].value_type is ValueType.PERCENTAGE
    values = [
        sv("share_vaccinated", "202109", "PRK", "100"),
        sv("share_vaccinated", "202108", "PRK", "100.0"),
    ]
    summary = validate_submission(values, replace(ctx, schema=schema))
    assert summary.outcomes == (Outcome.ACCEPTED, Outcome.CONFLICT)
