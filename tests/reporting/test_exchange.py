"""DHIS2 dataValueSets JSON and ADX XML (both ways, with a mapping) and FHIR R4B export."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.supplydelivery import SupplyDelivery
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    IdScheme,
    ShipmentRecord,
    SubmissionContext,
    bundle_json,
    data_value_set,
    load_mapping,
    measure_reports,
    read_adx,
    read_data_value_set,
    supply_deliveries,
    validate_submission,
    write_adx,
    write_data_value_set,
)
from doseflow.reporting.dhis2_mapping import Dhis2Mapping

from .conftest import AS_OF, make_hierarchy
from .test_files import example

MAPPING = load_mapping(example("reporting_dhis2_mapping.yaml"))
VALUES = [
    DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 667),
    DataValue("PRK", "PRK", "2021W38", "ili_cases", "default", 94, "ILI and SARI"),
    DataValue("PRK", "PRK", "2021W38", "health_workers_tested", "default", 573),
    DataValue("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose1,group=hcw", 1200),
    DataValue("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose2,group=older", 35),
]


def validated(values: list, mapping: Dhis2Mapping | None = None) -> list[DataValue]:  # type: ignore[type-arg]
    ctx = SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF)
    summary = validate_submission(values, ctx)
    assert not summary.conflicts, summary.conflicts
    return sorted(summary.writes, key=lambda v: v.key)


def test_dhis2_json_uses_uids_and_string_values() -> None:
    doc = data_value_set(VALUES, MAPPING, data_set="surveillance")
    assert doc["dataSet"] == "CovWeekly01"
    first = doc["dataValues"][0]
    assert first == {
        "dataElement": "C19Tested01",
        "period": "2021W38",
        "orgUnit": "OuDPRKorea1",
        "categoryOptionCombo": "HllvX50cXC0",
        "value": "667",
        "attributeOptionCombo": "HllvX50cXC0",
    }
    assert doc["dataValues"][3]["categoryOptionCombo"] == "CocD1Hcw001"
    coded = data_value_set(VALUES, MAPPING, id_scheme=IdScheme.CODE)
    assert coded["dataValues"][0]["dataElement"] == "C19_TESTED"


def test_dhis2_json_round_trip() -> None:
    text = write_data_value_set(VALUES, MAPPING)
    back = validated(read_data_value_set(text, MAPPING))
    assert back == sorted(VALUES, key=lambda v: v.key)


def test_adx_round_trip_and_shape() -> None:
    text = write_adx(VALUES, MAPPING, DEFAULT_SCHEMA, exported=datetime(2021, 9, 27, tzinfo=UTC))
    assert 'period="2021-09-20/P7D"' in text
    assert 'period="2021-09-01/P1M"' in text
    assert 'dataElement="COVAC_DOSES" DOSE="D1" PRIORITY_GROUP="HCW" value="1200"' in text
    assert "<annotation>ILI and SARI</annotation>" in text
    back = validated(read_adx(text, MAPPING, DEFAULT_SCHEMA))
    assert back == sorted(VALUES, key=lambda v: v.key)


def test_json_to_adx_to_json() -> None:
    json_text = write_data_value_set(VALUES, MAPPING)
    via_adx = write_adx(validated(read_data_value_set(json_text, MAPPING)), MAPPING, DEFAULT_SCHEMA)
    again = write_data_value_set(validated(read_adx(via_adx, MAPPING, DEFAULT_SCHEMA)), MAPPING)
    key = lambda r: (r["orgUnit"], r["period"], r["dataElement"], r["categoryOptionCombo"])  # noqa: E731
    assert sorted(json.loads(again)["dataValues"], key=key) == sorted(
        json.loads(json_text)["dataValues"], key=key
    )


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["people_tested", "positives", "deaths"]),
            st.integers(min_value=30, max_value=38),
            st.sampled_from(["PRK", "PRK-SPY", "KOR"]),
            st.integers(min_value=0, max_value=10**9),
        ),
        unique_by=lambda t: (t[0], t[1], t[2]),
        max_size=20,
    )
)
def test_round_trips_hold_for_any_values(rows: list[tuple[str, int, str, int]]) -> None:
    h = make_hierarchy()
    values = sorted(
        (
            DataValue(h.participant_of(o) or o, o, f"2021W{w}", e, "default", n)
            for e, w, o, n in rows
        ),
        key=lambda v: v.key,
    )
    identity = Dhis2Mapping()  # doseflow's codes are the DHIS2 codes: no UIDs to write
    by_code = write_data_value_set(values, identity, id_scheme=IdScheme.CODE)
    assert validated(read_data_value_set(by_code, identity)) == values
    assert (
        validated(read_adx(write_adx(values, identity, DEFAULT_SCHEMA), identity, DEFAULT_SCHEMA))
        == values
    )


def test_dhis2_json_invalid() -> None:
    with pytest.raises(DoseflowError) as exc:
        read_data_value_set('{"dataValues": [', MAPPING, source="upload.json")
    d = exc.value.detail
    assert d.code == "REPORT_DHIS2_JSON_INVALID"
    assert "not valid JSON" in d.message
    assert (d.location.source, d.location.line) == ("upload.json", 1)
    with pytest.raises(DoseflowError) as exc:
        read_data_value_set('{"dataValues": {"a": 1}}', MAPPING)
    assert exc.value.code == "REPORT_DHIS2_JSON_INVALID"
    assert exc.value.detail.value == "dict"
    assert exc.value.detail.location.field == "dataValues"


def test_a_bad_value_in_json_is_a_located_conflict() -> None:
    doc = '{"period": "2021W38", "orgUnit": "PRK", "dataValues": [{"dataElement": "deaths"}]}'
    values = read_data_value_set(doc, MAPPING, source="upload.json")
    summary = validate_submission(
        values, SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF)
    )
    loc = summary.conflicts[0].error.location
    assert summary.conflicts[0].error.code == "REPORT_BAD_VALUE"
    assert (loc.source, loc.column) == ("upload.json", "dataValues[0].value")


def test_adx_invalid() -> None:
    text = '<adx xmlns="urn:ihe:qrph:adx:2015">\n  <group period="2021-09-20/P7D">\n'
    with pytest.raises(DoseflowError) as exc:
        read_adx(text + "  </group>\n</adx>", MAPPING, DEFAULT_SCHEMA, source="in.xml")
    d = exc.value.detail
    assert d.code == "REPORT_ADX_INVALID"
    assert d.message == "<group> has no orgUnit"
    assert (d.location.line, d.location.field) == (2, "orgUnit")
    with pytest.raises(DoseflowError) as exc:
        read_adx('<adx>\n<group orgUnit="PRK" period="202109">', MAPPING, DEFAULT_SCHEMA)
    assert exc.value.code == "REPORT_ADX_INVALID"
    assert "not well-formed" in exc.value.detail.message
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]><adx>&x;</adx>'
    with pytest.raises(DoseflowError) as exc:
        read_adx(bomb, MAPPING, DEFAULT_SCHEMA)
    assert "DOCTYPE" in exc.value.detail.message


def test_adx_values_keep_their_line() -> None:
    text = write_adx(VALUES, MAPPING, DEFAULT_SCHEMA).replace('value="667"', 'value="lots"')
    values = read_adx(text, MAPPING, DEFAULT_SCHEMA, source="in.xml")
    summary = validate_submission(
        values, SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF)
    )
    (conflict,) = summary.conflicts
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if 'value="lots"' in row)
    assert conflict.error.location.line == line
    assert conflict.error.value == "lots"


def test_fhir_measure_reports_validate_and_carry_strata() -> None:
    resources = measure_reports(VALUES, DEFAULT_SCHEMA, generated=datetime(2021, 9, 27, tzinfo=UTC))
    reports = [r for r in resources if isinstance(r, MeasureReport)]
    assert len(reports) == 2
    admin = next(r for r in reports if r.measure.endswith("/administration"))
    (group,) = admin.group
    assert group.measureScore.value == 1235
    strata = group.stratifier[0].stratum
    assert [s.measureScore.value for s in strata] == [1200, 35]
    assert [c.value.coding[0].code for c in strata[0].component] == ["dose1", "hcw"]
    assert str(admin.period.start) == "2021-09-01"
    assert str(admin.period.end) == "2021-09-30"
    parsed = Bundle.model_validate_json(bundle_json(resources))
    assert sum(isinstance(e.resource, MeasureReport) for e in parsed.entry) == 2


def test_fhir_supply_delivery() -> None:
    shipment = ShipmentRecord(
        "SHP-2021-0007", "AZ", 100_800, "SII-PUNE", "PRK-NS", "completed", date(2021, 9, 1)
    )
    (delivery,) = [r for r in supply_deliveries([shipment]) if isinstance(r, SupplyDelivery)]
    assert delivery.suppliedItem.quantity.value == 100_800
    assert delivery.status == "completed"
    assert delivery.destination.display == "PRK-NS"
    again = SupplyDelivery.model_validate_json(delivery.model_dump_json())
    assert again.identifier[0].value == "SHP-2021-0007"


def test_dhis2_json_nested_beyond_reason_is_refused_not_crashed() -> None:
    deep = '{"dataValues": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(DoseflowError) as exc:
        read_data_value_set(deep, MAPPING)
    assert exc.value.code == "REPORT_DHIS2_JSON_INVALID"
    assert "nested too deep" in exc.value.detail.message
