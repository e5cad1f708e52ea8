"""Attribute option combos (issue 14): part of every value's key, read and written by the
DHIS2 JSON and ADX exchanges, mapped by the mapping file, stored, and summed by the ledger
cross-check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    LedgerPosition,
    Outcome,
    SubmissionContext,
    load_mapping,
    measure_reports,
    read_adx,
    read_data_value_set,
    read_template,
    validate_submission,
    write_adx,
    write_data_value_set,
)
from doseflow.reporting.dhis2_mapping import (
    CategoryCodes,
    Dhis2Mapping,
    IdKind,
    IdScheme,
    IdSchemes,
)
from doseflow.reporting.plausibility import ValueTable
from doseflow.store import reporting as store
from doseflow.store.database import open_database

from .conftest import AS_OF, make_hierarchy, sv

H = make_hierarchy()
MAPPING = Dhis2Mapping(
    attribute_option_combos={"funder=gavi": "AocGavi0001", "funder=covax": "AocCovax001"},
    attribute_option_combo="HllvX50cXC0",
)


def test_values_differing_only_by_attribute_are_two_values(ctx: SubmissionContext) -> None:
    values = [
        sv("people_tested", "2021W38", "PRK", 600, attribute="funder=gavi"),
        sv("people_tested", "2021W38", "PRK", 67, attribute="funder=covax"),
        sv("people_tested", "2021W38", "PRK", 5),
    ]
    summary = validate_submission(values, ctx)
    assert summary.conflicts == ()
    assert summary.outcomes == (Outcome.ACCEPTED,) * 3
    assert sorted((w.attribute, w.value) for w in summary.writes) == [
        ("default", 5.0),
        ("funder=covax", 67.0),
        ("funder=gavi", 600.0),
    ]
    assert {w.key[-1] for w in summary.writes} == {"default", "funder=covax", "funder=gavi"}


def test_the_same_attribute_twice_is_still_a_duplicate(ctx: SubmissionContext) -> None:
    values = [
        sv("people_tested", "2021W38", "PRK", 600, attribute="funder=gavi"),
        sv("people_tested", "2021W38", "PRK", 601, attribute="funder=gavi"),
    ]
    summary = validate_submission(values, ctx)
    assert [c.error.code for c in summary.conflicts] == ["REPORT_DUPLICATE_IN_SUBMISSION"] * 2


@pytest.mark.parametrize("bad", ["", " funder=gavi", "x" * 201, "tab\there"])
def test_an_attribute_that_cannot_be_stored_is_a_coded_conflict(
    ctx: SubmissionContext, bad: str
) -> None:
    summary = validate_submission([sv("deaths", "2021W38", "PRK", 0, attribute=bad)], ctx)
    (conflict,) = summary.conflicts
    assert conflict.error.code == "REPORT_BAD_ATTRIBUTE_COMBO"
    assert conflict.error.location.field == "attribute"


def test_stored_values_of_another_attribute_are_compared_by_full_key(
    ctx: SubmissionContext,
) -> None:
    stored = {("PRK", "PRK", "2021W38", "deaths", "default", "funder=gavi"): (3.0, None)}
    ctx2 = SubmissionContext(ctx.schema, ctx.hierarchy, ctx.as_of, stored=stored)
    summary = validate_submission(
        [
            sv("deaths", "2021W38", "PRK", 3, attribute="funder=gavi"),
            sv("deaths", "2021W38", "PRK", 3),
        ],
        ctx2,
    )
    assert summary.outcomes == (Outcome.IGNORED, Outcome.ACCEPTED)


def test_ledger_cross_check_sums_administered_doses_over_attribute_combos(
    ctx: SubmissionContext,
) -> None:
    ledger = {("PRK-SPY", "202109"): LedgerPosition(opening=100, received=50, closing=0)}
    stored = {
        (
            "PRK",
            "PRK-SPY",
            "202109",
            "doses_administered",
            "dose=dose1,group=hcw",
            "funder=covax",
        ): (100.0, None)
    }
    ctx2 = SubmissionContext(ctx.schema, ctx.hierarchy, ctx.as_of, stored=stored, ledger=ledger)
    one = sv(
        "doses_administered",
        "202109",
        "PRK-SPY",
        40,
        category="dose=dose1,group=hcw",
        attribute="funder=gavi",
    )
    two = sv(
        "doses_administered",
        "202109",
        "PRK-SPY",
        20,
        category="dose=dose1,group=hcw",
        attribute="funder=who",
    )
    summary = validate_submission([one, two], ctx2)
    # 100 stored (covax) + 40 (gavi) + 20 (who) = 160 > 150 available
    assert [c.error.code for c in summary.conflicts] == [
        "REPORT_ADMINISTERED_EXCEEDS_AVAILABLE"
    ] * 2
    assert "160 doses administered" in summary.conflicts[0].error.message
    # replacing the stored covax figure counts the new figure, not both
    three = sv(
        "doses_administered",
        "202109",
        "PRK-SPY",
        50,
        category="dose=dose1,group=hcw",
        attribute="funder=covax",
    )
    assert validate_submission([one, two, three], ctx2).conflicts == ()


def test_json_reads_row_and_document_attribute_option_combos() -> None:
    doc = {
        "attributeOptionCombo": "AocGavi0001",
        "dataValues": [
            {"dataElement": "deaths", "period": "2021W38", "orgUnit": "PRK", "value": "1"},
            {
                "dataElement": "deaths",
                "period": "2021W38",
                "orgUnit": "PRK",
                "value": "2",
                "attributeOptionCombo": "AocCovax001",
            },
            {
                "dataElement": "deaths",
                "period": "2021W38",
                "orgUnit": "PRK",
                "value": "3",
                "attributeOptionCombo": "HllvX50cXC0",
            },
            {
                "dataElement": "deaths",
                "period": "2021W38",
                "orgUnit": "PRK",
                "value": "4",
                "attributeOptionCombo": "Unmapped001",
            },
        ],
    }
    found = read_data_value_set(json.dumps(doc), MAPPING)
    assert [v.attribute for v in found] == ["funder=gavi", "funder=covax", "default", "Unmapped001"]
    assert found[1].origin is not None
    assert found[1].origin.columns["attribute"] == "dataValues[1].attributeOptionCombo"
    plain = read_data_value_set(json.dumps({"dataValues": doc["dataValues"][:1]}), MAPPING)
    assert plain[0].attribute == "default"


def test_json_export_writes_each_values_attribute_option_combo() -> None:
    values = [
        DataValue("PRK", "PRK", "2021W38", "deaths", "default", 1),
        DataValue("PRK", "PRK", "2021W38", "deaths", "default", 2, None, "funder=gavi"),
    ]
    # attribute option combos by UID (the mapping has none for the element and org unit)
    by_uid = IdSchemes(general=IdScheme.CODE, attribute_option_combo=IdScheme.UID)
    rows = json.loads(write_data_value_set(values, MAPPING, id_schemes=by_uid))["dataValues"]
    assert [r["attributeOptionCombo"] for r in rows] == ["HllvX50cXC0", "AocGavi0001"]
    # without any mapping the default is DHIS2's own default combo (code "default") and
    # other keys are written as codes; under UID they would be refused, not passed off as UIDs
    code = IdScheme.CODE
    rows = json.loads(write_data_value_set(values, Dhis2Mapping(), id_scheme=code))["dataValues"]
    assert rows[0]["attributeOptionCombo"] == "default"
    assert rows[1]["attributeOptionCombo"] == "funder=gavi"


ADX = b"""<?xml version="1.0" encoding="UTF-8"?>
<adx xmlns="urn:ihe:qrph:adx:2015" exported="2021-09-27T08:00:00Z">
  <group orgUnit="PRK" period="2021-09-20/P7D" dataSet="surveillance" FUNDER="GAVI">
    <dataValue dataElement="deaths" value="1"/>
  </group>
  <group orgUnit="PRK" period="2021-09-20/P7D" dataSet="surveillance"
         attributeOptionCombo="AocCovax001">
    <dataValue dataElement="deaths" value="2"/>
  </group>
  <group orgUnit="PRK" period="2021-09-20/P7D" dataSet="surveillance">
    <dataValue dataElement="deaths" value="3"/>
  </group>
</adx>
"""


def test_adx_reads_attribute_option_combos_from_the_group() -> None:
    mapping = Dhis2Mapping(
        attribute_option_combos=MAPPING.attribute_option_combos,
        categories={"funder": _codes("FUNDER", {"gavi": "GAVI", "covax": "COVAX"})},
    )
    found = read_adx(ADX, mapping, DEFAULT_SCHEMA)
    assert [(v.value, v.attribute) for v in found] == [
        ("1", "funder=gavi"),
        ("2", "funder=covax"),
        ("3", "default"),
    ]


def _codes(code: str, options: dict[str, str]) -> CategoryCodes:
    return CategoryCodes(code, options)


def test_adx_writes_the_attribute_option_combo_on_the_group_and_round_trips() -> None:
    mapping = Dhis2Mapping(
        attribute_option_combos={"funder=gavi": "AocGavi0001"},
        categories={"funder": _codes("FUNDER", {"gavi": "GAVI"})},
    )
    values = [
        DataValue("PRK", "PRK", "2021W38", "deaths", "default", 1),
        DataValue("PRK", "PRK", "2021W38", "deaths", "default", 2, None, "funder=gavi"),
        DataValue("PRK", "PRK", "2021W38", "deaths", "default", 3, None, "Unmapped001"),
    ]
    text = write_adx(values, mapping, DEFAULT_SCHEMA, exported=datetime(2021, 9, 27))
    assert 'FUNDER="GAVI"' in text
    assert 'attributeOptionCombo="Unmapped001"' in text
    assert text.count("<group") == 3
    back = read_adx(text, mapping, DEFAULT_SCHEMA)
    assert sorted((v.attribute, v.value) for v in back) == [
        ("Unmapped001", "3"),
        ("default", "1"),
        ("funder=gavi", "2"),
    ]
    # JSON -> ADX -> JSON keeps them too
    as_json = json.loads(write_data_value_set(values, mapping, id_scheme=IdScheme.CODE))
    again = read_data_value_set(json.dumps(as_json), mapping)
    assert sorted(v.attribute for v in again) == ["Unmapped001", "default", "funder=gavi"]


def test_mapping_file_maps_attribute_option_combos(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "attribute_option_combo: HllvX50cXC0\n"
        "attribute_option_combos:\n  funder=gavi: AocGavi0001\n",
        encoding="utf-8",
    )
    m = load_mapping(path)
    assert (
        m.identifier_out(IdKind.ATTRIBUTE_OPTION_COMBO, "funder=gavi", IdScheme.UID)
        == "AocGavi0001"
    )
    assert m.identifier_in(IdKind.ATTRIBUTE_OPTION_COMBO, "AocGavi0001", None) == "funder=gavi"
    assert (
        m.identifier_out(IdKind.ATTRIBUTE_OPTION_COMBO, "default", IdScheme.UID) == "HllvX50cXC0"
    )  # the single setting is the default's id
    assert m.identifier_in(IdKind.ATTRIBUTE_OPTION_COMBO, "HllvX50cXC0", None) == "default"
    explicit = tmp_path / "e.yaml"
    explicit.write_text(
        "attribute_option_combo: HllvX50cXC0\nattribute_option_combos:\n  default: Def00000001\n",
        encoding="utf-8",
    )
    assert (
        load_mapping(explicit).identifier_out(
            IdKind.ATTRIBUTE_OPTION_COMBO, "default", IdScheme.UID
        )
        == "Def00000001"
    )


def test_fhir_and_plausibility_sum_over_attribute_combos() -> None:
    values = [
        DataValue("PRK", "PRK", "202109", "doses_administered", "dose=dose1,group=hcw", 10),
        DataValue(
            "PRK", "PRK", "202109", "doses_administered", "dose=dose1,group=hcw", 5, None, "f=a"
        ),
    ]
    (report,) = [
        r for r in measure_reports(values, DEFAULT_SCHEMA) if r.__resource_type__ == "MeasureReport"
    ]
    (group,) = report.group
    assert group.measureScore.value == 15
    (stratum,) = group.stratifier[0].stratum
    assert stratum.measureScore.value == 15
    table = ValueTable(values, DEFAULT_SCHEMA)
    series = table.by_category[("PRK", "PRK", "doses_administered", "dose=dose1,group=hcw")]
    assert list(series.values()) == [15.0]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def test_store_keeps_values_per_attribute_option_combo(engine: Engine) -> None:
    values = [
        sv("deaths", "2021W38", "PRK", 1),
        sv("deaths", "2021W38", "PRK", 2, attribute="funder=gavi"),
    ]
    first = store.submit(engine, values, hierarchy=H, as_of=AS_OF)
    assert first.counts["accepted"] == 2
    assert store.count_values(engine) == 2
    again = store.submit(
        engine,
        [sv("deaths", "2021W38", "PRK", 5, attribute="funder=gavi")],
        hierarchy=H,
        as_of=AS_OF,
    )
    assert again.outcomes == (Outcome.UPDATED,)
    loaded = store.load_values(engine, participants=["PRK"])
    assert [(v.attribute, v.value) for v in loaded] == [("default", 1.0), ("funder=gavi", 5.0)]
    page, total = store.values_page(engine, limit=1, offset=1)
    assert total == 2
    assert page[0].attribute == "funder=gavi"
    assert store.delete_values(engine, [loaded[1].key]) == 1
    assert [v.attribute for v in store.load_values(engine)] == ["default"]


def test_one_dhis2_identifier_for_two_attribute_combos_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "attribute_option_combos:\n  funder=gavi: Aoc00000001\n  funder=who: Aoc00000001\n",
        encoding="utf-8",
    )
    with pytest.raises(DoseflowError) as err:
        load_mapping(path)
    assert err.value.code == "REPORT_MAPPING_INVALID"
    assert err.value.detail.location.line == 3


def test_a_template_may_carry_an_attribute_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "org_unit,period,data_element,attribute,value\n"
        "PRK,2021W38,deaths,funder=gavi,1\n"
        "PRK,2021W38,deaths,,2\n",
        encoding="utf-8",
    )
    found = read_template(path)
    assert [(v.attribute, v.value) for v in found] == [("funder=gavi", "1"), ("default", "2")]
    assert found[0].origin is not None
    assert found[0].origin.columns["attribute"] == 4
