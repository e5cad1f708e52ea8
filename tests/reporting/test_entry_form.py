"""The data entry form's engine: the org-unit tree, the period picker, the fields from the
schema and the values a filled-in form submits."""

from __future__ import annotations

from datetime import date

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA, Hierarchy, OrgUnit, build_hierarchy
from doseflow.reporting.entry_form import (
    FORM_SOURCE,
    choose_period,
    entry_form,
    field_name,
    find_org_unit,
    find_report,
    form_submission,
    org_unit_tree,
    period_choice,
    year_period,
)
from doseflow.reporting.periods import PeriodType, parse_period

TODAY = date(2021, 9, 15)  # a Wednesday of 2021W37


def _hierarchy() -> Hierarchy:
    return build_hierarchy(
        [
            OrgUnit("KEN", "Kenya", "KEN"),
            OrgUnit("KEN-NBI", "Nairobi", "KEN", parent="KEN"),
            OrgUnit("KEN-CST", "Coast", "KEN", parent="KEN"),
            OrgUnit("KEN-MSA", "Mombasa", "KEN", parent="KEN-CST"),
            OrgUnit("NGA", "Nigeria", "NGA"),
        ]
    )


def test_the_tree_nests_each_participants_units_by_name() -> None:
    (kenya,) = org_unit_tree(_hierarchy(), ["KEN"])
    assert kenya.unit.code == "KEN"
    assert [c.unit.code for c in kenya.children] == ["KEN-CST", "KEN-NBI"]  # Coast, Nairobi
    assert [c.unit.code for c in kenya.children[0].children] == ["KEN-MSA"]
    assert kenya.contains("KEN-MSA")
    assert not kenya.children[1].contains("KEN-MSA")
    both = org_unit_tree(_hierarchy(), ["KEN", "NGA"])
    assert [t.unit.code for t in both] == ["KEN", "NGA"]


def test_the_period_picker_moves_within_started_periods() -> None:
    week = period_choice(parse_period("2021W36"), TODAY)
    assert week.previous.code == "2021W35"
    assert week.next is not None
    assert week.next.code == "2021W37"  # started on Monday
    assert [p.code for p in week.in_year][-1] == "2021W37"
    assert len(week.in_year) == 37
    assert week.years == (2020, 2021)
    current = period_choice(parse_period("2021W37"), TODAY)
    assert current.next is None  # 2021W38 has not started
    month = period_choice(parse_period("202012"), TODAY)
    assert month.next is not None
    assert month.next.code == "202101"  # across the year
    assert len(month.in_year) == 12


def test_the_period_shown_fits_the_report() -> None:
    surveillance = DEFAULT_SCHEMA.report_types["surveillance"]
    distribution = DEFAULT_SCHEMA.report_types["distribution"]
    assert choose_period(surveillance, None, None, TODAY).code == "2021W36"  # the last ended
    assert choose_period(distribution, None, None, TODAY).code == "202108"
    assert choose_period(distribution, None, PeriodType.WEEKLY, TODAY).code == "2021W36"
    assert choose_period(distribution, "2021W10", PeriodType.WEEKLY, TODAY).code == "2021W10"
    # a week asked for while the picker says monthly: the month
    assert choose_period(distribution, "2021W10", PeriodType.MONTHLY, TODAY).code == "202108"
    assert choose_period(surveillance, "202104", None, TODAY).code == "2021W36"
    with pytest.raises(DoseflowError) as refused:
        choose_period(surveillance, "2021W38", None, TODAY)
    assert refused.value.detail.code == "REPORT_PERIOD_NOT_OPEN"
    with pytest.raises(DoseflowError) as bad:
        choose_period(surveillance, "2021W99", None, TODAY)
    assert bad.value.detail.code == "REPORT_BAD_PERIOD"
    assert year_period(PeriodType.MONTHLY, 2020, TODAY).code == "202012"
    assert year_period(PeriodType.WEEKLY, 2020, TODAY).code == "2020W53"
    assert year_period(PeriodType.MONTHLY, 2021, TODAY).code == "202108"


def test_unknown_units_and_reports_are_named() -> None:
    with pytest.raises(DoseflowError) as unit:
        find_org_unit(_hierarchy(), "KEN-XXX")
    assert unit.value.detail.code == "REPORT_ORG_UNIT_NOT_IN_HIERARCHY"
    with pytest.raises(DoseflowError) as report:
        find_report(DEFAULT_SCHEMA, "aefi")
    assert report.value.detail.code == "REPORT_UNKNOWN_REPORT_TYPE"
    assert find_report(DEFAULT_SCHEMA, None).code == "distribution"


def test_the_form_is_a_grid_of_category_option_combos() -> None:
    unit = _hierarchy().units["KEN-NBI"]
    form = entry_form(
        DEFAULT_SCHEMA,
        "administration",
        parse_period("202104"),
        unit,
        {("doses_administered", "dose=dose2,group=older"): "35"},
    )
    (section,) = form.sections
    assert section.columns[0] == "Health and care workers"
    assert [r.heading for r in section.rows] == [
        "Dose 1",
        "Dose 2",
        "First booster",
        "Second booster",
    ]
    cell = section.rows[1].fields[1]
    assert cell.name == field_name("doses_administered", "dose=dose2,group=older")
    assert cell.label == "Doses administered, Dose 2, Older adults (60+)"
    assert cell.text == "35"
    assert section.input_mode == "numeric"
    assert len({f.id for f in form.fields}) == len(form.fields) == 20
    plain = entry_form(DEFAULT_SCHEMA, "distribution", parse_period("202104"), unit, {})
    assert [s.columns for s in plain.sections] == [("Value",)] * 3
    assert plain.fields[0].label == "Doses received"


def test_a_filled_in_form_submits_its_values_and_deletes_cleared_ones() -> None:
    unit = _hierarchy().units["KEN-NBI"]
    form = entry_form(DEFAULT_SCHEMA, "distribution", parse_period("202104"), unit, {})
    sent = {
        field_name("doses_received", "default"): " 1200 ",
        field_name("doses_distributed", "default"): "",
        field_name("stock_on_hand", "default"): " ",
    }
    found = form_submission(form, sent, stored={("stock_on_hand", "default")})
    assert [(v.data_element, v.value, v.deleted) for v in found.values] == [
        ("doses_received", " 1200 ", False),  # the engine trims, as for a file
        ("stock_on_hand", " ", True),  # cleared: the stored value goes
    ]
    first = found.values[0]
    assert (first.org_unit, first.participant, first.period) == ("KEN-NBI", "KEN", "202104")
    assert first.origin is not None
    assert first.origin.source == FORM_SOURCE
    assert first.origin.columns["value"] == "Doses received"
    assert [f.element for f in found.fields] == ["doses_received", "stock_on_hand"]
