"""Reporting requirements: which report each participant owes, how often, and when it is due.

File format (``data/examples/reporting_requirements.yaml``)::

    requirements:
      - {participant: PRK, report: surveillance, due_days: 3, from: 2021W27}
      - {participant: PRK, report: administration, frequency: monthly, due_days: 15,
         from: "202105"}

``frequency`` defaults to the report type's first period type; ``to`` (a last period) is
optional. Every problem is ``REPORT_REQUIREMENT_INVALID`` naming the line and field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from doseflow.data.fields import Code, Quantity
from doseflow.data.fields import Period as ReportPeriod
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.reporting.compliance import Requirement
from doseflow.reporting.periods import Period, PeriodType, parse_period
from doseflow.reporting.schema import Schema
from doseflow.reporting.yaml_source import YamlDocument

CODE = "REPORT_REQUIREMENT_INVALID"


class _RequirementModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    participant: Code
    report: Code
    frequency: PeriodType | None = None
    due_days: Quantity = Field(ge=0, le=366)
    first: ReportPeriod = Field(alias="from")
    last: ReportPeriod | None = Field(default=None, alias="to")


class _RequirementsFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: list[_RequirementModel] = Field(min_length=1)


def make_requirement(
    participant: str,
    report: str,
    due_days: int,
    first: str,
    schema: Schema,
    *,
    frequency: PeriodType | None = None,
    last: str | None = None,
    location: ErrorLocation | None = None,
) -> Requirement:
    """A checked :class:`Requirement` (one ``REPORT_REQUIREMENT_INVALID`` per problem)."""
    where = location or ErrorLocation()
    problems: list[ErrorDetail] = []

    def bad(fld: str, message: str, expected: str, value: object) -> None:
        problems.append(
            ErrorDetail(
                CODE,
                message,
                ErrorLocation(where.source, where.line, where.column, fld),
                expected,
                value,
            )
        )

    report_type = schema.report_types.get(report)
    if report_type is None:
        bad(
            "report",
            f"'{report}' is not a report type",
            "one of " + ", ".join(sorted(schema.report_types)),
            report,
        )
        raise DoseflowError.from_details(problems)
    freq = frequency or report_type.default_period_type
    if freq not in report_type.period_types:
        bad(
            "frequency",
            f"report '{report}' is not kept per {freq.value} period",
            " or ".join(t.value for t in report_type.period_types),
            freq.value,
        )
    if due_days < 0:
        bad("due_days", "due days cannot be negative", "0 or more days", due_days)
    periods: list[Period | None] = []
    for fld, text in (("from", first), ("to", last)):
        if text is None:
            periods.append(None)
            continue
        try:
            p = parse_period(str(text))
        except DoseflowError:
            bad(fld, f"'{text}' is not a period", "a period like 2021W38 or 202109", text)
            periods.append(None)
            continue
        if p.type is not freq:
            bad(fld, f"period {p.code} is not {freq.value}", f"a {freq.value} period", text)
        periods.append(p)
    if problems:
        raise DoseflowError.from_details(problems)
    start, end = periods
    assert start is not None
    if end is not None and end < start:
        bad("to", f"last period {end.code} is before the first {start.code}", "a later", last)
        raise DoseflowError.from_details(problems)
    return Requirement(participant, report, freq, due_days, start, end)


def load_requirements(path: Path | str, schema: Schema) -> list[Requirement]:
    """Every requirement in the YAML file at ``path``, all problems reported at once."""
    doc = YamlDocument.read(path, CODE)
    model = doc.validate(_RequirementsFileModel)
    found: list[Requirement] = []
    problems: list[ErrorDetail] = []
    for i, r in enumerate(model.requirements):
        try:
            found.append(
                make_requirement(
                    r.participant,
                    r.report,
                    r.due_days,
                    r.first,
                    schema,
                    frequency=r.frequency,
                    last=r.last,
                    location=ErrorLocation(source=doc.source, line=doc.line(("requirements", i))),
                )
            )
        except DoseflowError as err:
            problems.extend(err.details)
    if problems:
        raise DoseflowError.from_details(problems)
    return found
