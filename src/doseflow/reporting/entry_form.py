"""A report as a data entry form (DHIS2's data entry screen): the org-unit tree to choose
where the figures are for, the periods a report may be entered for, the report's fields
(each data element x category option combo) and the values a filled-in form submits.

Pure: the stored values, the hierarchy and the schema come in; the form's values go out as
:class:`~doseflow.reporting.values.SubmittedValue` s, which take the one import path
(:func:`doseflow.store.reporting.submit`) a file or the API takes. Only the default
attribute option combo is entered here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.hierarchy import Hierarchy, OrgUnit
from doseflow.reporting.periods import Period, PeriodType, parse_period, period_of
from doseflow.reporting.schema import DataElement, ReportType, Schema
from doseflow.reporting.value_check import blanks, browser_rule, element_bounds
from doseflow.reporting.values import Origin, SubmittedValue

#: Where the form's values come from, in the import summary's locations.
FORM_SOURCE = "data entry form"
#: The earliest year the period picker offers (the first COVAX deliveries were in 2021).
FIRST_YEAR = 2020


@dataclass(frozen=True)
class TreeNode:
    """An org unit and the units directly below it, for the org-unit tree."""

    unit: OrgUnit
    children: tuple[TreeNode, ...] = ()

    def contains(self, code: str) -> bool:
        """Whether ``code`` is this unit or one below it (its branch is then shown open)."""
        return self.unit.code == code or any(c.contains(code) for c in self.children)


def org_unit_tree(hierarchy: Hierarchy, participants: Sequence[str]) -> tuple[TreeNode, ...]:
    """Each participant's national unit with its regions (and districts) nested below."""
    below: dict[str | None, list[OrgUnit]] = {}
    nationals: list[OrgUnit] = []
    for participant in participants:
        for unit in hierarchy.units_of(participant):
            if unit.is_national:
                nationals.append(unit)
            else:
                below.setdefault(unit.parent, []).append(unit)
    return tuple(_node(u, below, frozenset()) for u in nationals)


def _node(
    unit: OrgUnit, below: Mapping[str | None, list[OrgUnit]], seen: frozenset[str]
) -> TreeNode:
    kids = sorted(below.get(unit.code, []), key=lambda u: (u.name, u.code))
    inner = seen | {unit.code}
    return TreeNode(unit, tuple(_node(k, below, inner) for k in kids if k.code not in inner))


@dataclass(frozen=True)
class PeriodChoice:
    """The period shown and how to move from it: the one before and after (None when the
    next has not started), the periods of its year that have started, and the years."""

    period: Period
    previous: Period
    next: Period | None
    in_year: tuple[Period, ...]
    years: tuple[int, ...]


def default_period(period_type: PeriodType, today: date) -> Period:
    """The last period that has ended by ``today``: the one a report is usually owed for."""
    return period_of(today, period_type).previous()


def choose_period(
    report: ReportType, requested: str | None, period_type: PeriodType | None, today: date
) -> Period:
    """The period to show: ``requested`` if it parses and the report is kept per its type,
    else the last ended period of ``period_type`` (if the report is kept per it) or of the
    report's default type. A period that has not started yet is refused
    (``REPORT_PERIOD_NOT_OPEN``), as the import would refuse its values."""
    wanted = period_type if period_type in report.period_types else report.default_period_type
    if requested:
        found = parse_period(requested, field="period")
        if found.type in report.period_types and (period_type is None or found.type is wanted):
            if found.start > today:
                raise DoseflowError(
                    "REPORT_PERIOD_NOT_OPEN",
                    f"period {found.code} starts on {found.start.isoformat()}, after "
                    f"{today.isoformat()}: it is not open for reporting yet",
                    field="period",
                    expected=f"a period that has started by {today.isoformat()}",
                    value=requested,
                )
            return found
    return default_period(wanted, today)


def _first_of_year(period_type: PeriodType, year: int) -> Period:
    return Period(period_type, year, 1)


def period_choice(period: Period, today: date) -> PeriodChoice:
    """What the period picker offers around ``period``."""
    in_year: list[Period] = []
    current = _first_of_year(period.type, period.year)
    while current.year == period.year and current.start <= today:
        in_year.append(current)
        current = current.next()
    if period not in in_year:
        in_year.append(period)
    following = period.next()
    years = tuple(range(min(FIRST_YEAR, period.year), today.year + 1))
    return PeriodChoice(
        period=period,
        previous=period.previous(),
        next=following if following.start <= today else None,
        in_year=tuple(in_year),
        years=years,
    )


def year_period(period_type: PeriodType, year: int, today: date) -> Period:
    """The period to show when the picker moves to ``year``: its last started one."""
    if year >= period_of(today, period_type).year:
        return default_period(period_type, today)
    last = _first_of_year(period_type, year + 1).previous()
    return last


@dataclass(frozen=True)
class EntryField:
    """One input: a data element and category option combo, its label and its text."""

    id: str
    name: str
    element: str
    category: str
    label: str
    text: str


@dataclass(frozen=True)
class EntryRow:
    """A row of a section: the options it stands for (empty for a single value)."""

    heading: str
    fields: tuple[EntryField, ...]


@dataclass(frozen=True)
class EntrySection:
    """One data element: a grid of its category option combos (rows: every category but
    the last; columns: the last category's options), or a single field."""

    element: DataElement
    columns: tuple[str, ...]
    rows: tuple[EntryRow, ...]
    rule: Mapping[str, Any]

    @property
    def input_mode(self) -> str:
        """The keyboard a phone shows: digits only where no value can be negative."""
        low, _ = element_bounds(self.element)
        if low is None or low < 0:
            return "text"
        return "numeric" if self.element.value_type.whole else "decimal"


@dataclass(frozen=True)
class EntryForm:
    """A report's form for one org unit and period."""

    report: ReportType
    period: Period
    org_unit: OrgUnit
    sections: tuple[EntrySection, ...]

    @property
    def fields(self) -> tuple[EntryField, ...]:
        return tuple(f for s in self.sections for r in s.rows for f in r.fields)

    def rules(self) -> dict[str, Any]:
        """What the browser checks values with: the blanks trimmed and each element's rule
        (:func:`~doseflow.reporting.value_check.browser_rule`)."""
        return {"blanks": blanks(), "elements": {s.element.code: s.rule for s in self.sections}}


def field_name(element: str, category: str) -> str:
    """The form field of a data element and category option combo."""
    return f"value:{element}:{category}"


def entry_form(
    schema: Schema,
    report: str,
    period: Period,
    org_unit: OrgUnit,
    texts: Mapping[tuple[str, str], str],
) -> EntryForm:
    """The form of ``report`` with ``texts`` (by element and category key) filled in."""
    report_type = schema.report_types[report]
    sections: list[EntrySection] = []
    number = 0
    for element in schema.elements_of(report):
        keys = schema.category_keys(element)
        cats = [schema.categories[c] for c in element.categories]
        names = {c.code: {o.code: o.name for o in c.options} for c in cats}
        last = cats[-1] if cats else None
        columns = tuple(o.name for o in last.options) if last else ("Value",)
        per_row = len(last.options) if last else 1
        rows: list[EntryRow] = []
        for start in range(0, len(keys), per_row):
            fields: list[EntryField] = []
            heading = ""
            for key in keys[start : start + per_row]:
                options = schema.options_of(key)
                words = [names[c][options[c]] for c in element.categories]
                heading = ", ".join(words[:-1])
                number += 1
                fields.append(
                    EntryField(
                        id=f"entry-{number}",
                        name=field_name(element.code, key),
                        element=element.code,
                        category=key,
                        label=", ".join([element.name, *words]),
                        text=texts.get((element.code, key), ""),
                    )
                )
            rows.append(EntryRow(heading, tuple(fields)))
        sections.append(EntrySection(element, columns, tuple(rows), browser_rule(element)))
    return EntryForm(report_type, period, org_unit, tuple(sections))


def with_texts(form: EntryForm, fields: Mapping[str, str]) -> EntryForm:
    """``form`` showing what was sent in ``fields`` (after a save, the figures as typed)."""
    sections = tuple(
        EntrySection(
            s.element,
            s.columns,
            tuple(
                EntryRow(
                    r.heading,
                    tuple(
                        EntryField(f.id, f.name, f.element, f.category, f.label, fields[f.name])
                        if f.name in fields
                        else f
                        for f in r.fields
                    ),
                )
                for r in s.rows
            ),
            s.rule,
        )
        for s in form.sections
    )
    return EntryForm(form.report, form.period, form.org_unit, sections)


@dataclass(frozen=True)
class FormSubmission:
    """The values a filled-in form submits and, per value (by its index in the
    submission), the field it came from, so the summary's conflicts point at their field."""

    values: tuple[SubmittedValue, ...]
    fields: tuple[EntryField, ...]


def form_submission(
    form: EntryForm, sent: Mapping[str, str], stored: Collection[tuple[str, str]]
) -> FormSubmission:
    """The values of the filled-in fields, in the form's order; a field left empty whose
    value is stored asks for it to be deleted (as clearing a cell does in DHIS2); an empty
    field with nothing stored sends nothing."""
    values: list[SubmittedValue] = []
    fields: list[EntryField] = []
    for f in form.fields:
        text = sent.get(f.name, "")
        blank = not text.strip()
        if blank and (f.element, f.category) not in stored:
            continue
        values.append(
            SubmittedValue(
                data_element=f.element,
                period=form.period.code,
                org_unit=form.org_unit.code,
                value=text,
                category=f.category,
                participant=form.org_unit.participant,
                origin=Origin(source=FORM_SOURCE, columns={"value": f.label}),
                deleted=blank,
            )
        )
        fields.append(f)
    return FormSubmission(tuple(values), tuple(fields))


def find_org_unit(hierarchy: Hierarchy, code: str) -> OrgUnit:
    """The org unit ``code`` names, or ``REPORT_ORG_UNIT_NOT_IN_HIERARCHY``."""
    unit = hierarchy.unit(code)
    if unit is None:
        raise DoseflowError(
            "REPORT_ORG_UNIT_NOT_IN_HIERARCHY",
            f"org unit '{code}' is not in the reporting hierarchy",
            field="org_unit",
            expected="a participant's code or one of its regions (see the org-unit tree)",
            value=code,
        )
    return unit


def find_report(schema: Schema, code: str | None) -> ReportType:
    """The report type ``code`` names (the schema's first when None), or
    ``REPORT_UNKNOWN_REPORT_TYPE``."""
    if not code:
        return next(iter(schema.report_types.values()))
    found = schema.report_types.get(code)
    if found is None:
        raise DoseflowError(
            "REPORT_UNKNOWN_REPORT_TYPE",
            f"'{code}' is not a report type of the reporting schema",
            field="report",
            expected="one of " + ", ".join(schema.report_types),
            value=code,
        )
    return found
