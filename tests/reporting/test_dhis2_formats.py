"""DHIS2 identifier schemes (dataValueSets JSON) and ADX's direct category option combos
and date-time period starts (issue 14)."""

from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA, load_mapping, read_adx
from doseflow.reporting.periods import PeriodType, parse_period

from .test_files import example

MAPPING = load_mapping(example("reporting_dhis2_mapping.yaml"))


def adx(group_attrs: str, value_attrs: str) -> str:
    return (
        '<adx xmlns="urn:ihe:qrph:adx:2015" exported="2021-09-27T08:00:00Z">\n'
        f"  <group {group_attrs}>\n"
        f"    <dataValue {value_attrs}/>\n"
        "  </group>\n</adx>\n"
    )


# -- ADX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("combo", ["CocD1Hcw001", "dose=dose1,group=hcw"])
def test_adx_category_option_combo_is_the_combo(combo: str) -> None:
    mapping = MAPPING if combo == "CocD1Hcw001" else load_mapping(None)
    text = adx(
        'orgUnit="PRK_SPY" period="2021-09-01/P1M"',
        f'dataElement="COVAC_DOSES" categoryOptionCombo="{combo}" value="12"',
    )
    (value,) = read_adx(text, mapping, DEFAULT_SCHEMA)
    assert value.category == "dose=dose1,group=hcw"
    assert value.origin is not None and value.origin.columns["category"] == "categoryOptionCombo"


def test_adx_combo_and_category_attributes_refused() -> None:
    text = adx(
        'orgUnit="PRK_SPY" period="2021-09-01/P1M"',
        'dataElement="COVAC_DOSES" categoryOptionCombo="CocD1Hcw001" DOSE="D1" value="12"',
    )
    with pytest.raises(DoseflowError) as exc:
        read_adx(text, MAPPING, DEFAULT_SCHEMA, source="in.xml")
    d = exc.value.detail
    assert d.code == "REPORT_ADX_INVALID"
    assert "both categoryOptionCombo and category attributes (DOSE)" in d.message
    assert (d.location.source, d.location.line, d.location.field) == (
        "in.xml",
        3,
        "categoryOptionCombo",
    )


@pytest.mark.parametrize(
    "start", ["2021-09-20T00:00:00", "2021-09-20T00:00", "2021-09-20T00:00:00Z",
              "2021-09-20T00:00:00.000+02:00"]
)
def test_adx_period_with_midnight_time(start: str) -> None:
    period = parse_period(f"{start}/P7D")
    assert (period.type, period.code) == (PeriodType.WEEKLY, "2021W38")
    text = adx(f'orgUnit="PRK" period="{start}/P7D"', 'dataElement="C19_TESTED" value="5"')
    (value,) = read_adx(text, MAPPING, DEFAULT_SCHEMA)
    assert parse_period(value.period).code == "2021W38"


def test_adx_period_not_at_midnight_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        parse_period("2021-09-01T08:00:00/P1M")
    d = exc.value.detail
    assert d.code == "REPORT_BAD_PERIOD"
    assert "starts at 08:00:00, not at midnight" in d.message
    assert d.expected == "2021-09-01/P1M or 2021-09-01T00:00:00/P1M"
