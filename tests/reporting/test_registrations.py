"""Complete data set registrations (issue 14): read from DHIS2 JSON and ADX, checked, stored,
used by compliance (with the basis named), exported, and set by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from doseflow.cli.app import run
from doseflow.cli.console import console
from doseflow.domain.errors import DoseflowError
from doseflow.domain.time_zone import day_start
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    ComplianceStatus,
    DataValue,
    Requirement,
    compliance,
    parse_period,
    write_adx,
    write_data_value_set,
)
from doseflow.reporting.adx import read_adx_document
from doseflow.reporting.compliance import ComplianceBasis
from doseflow.reporting.dhis2_json import read_data_value_set_document
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, Ident, IdScheme
from doseflow.reporting.periods import PeriodType
from doseflow.reporting.registrations import (
    CompleteRegistration,
    check_registrations,
)
from doseflow.store import reporting as store
from doseflow.store.database import open_database

from .conftest import AS_OF, make_hierarchy
from .test_files import example

H = make_hierarchy()
PYONGYANG = ZoneInfo("Asia/Pyongyang")
MAPPING = Dhis2Mapping(
    data_sets={"surveillance": Ident("CovWeekly01", "COVID_WEEKLY")},
    attribute_option_combos={"funder=gavi": "AocGavi0001"},
)
REQ = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W35"))


def _doc(**top: object) -> str:
    return json.dumps(
        {
            **top,
            "dataValues": [
                {"dataElement": "deaths", "period": "2021W38", "orgUnit": "PRK", "value": "0"}
            ],
        }
    )


def test_json_data_set_and_complete_date_become_a_registration() -> None:
    doc = read_data_value_set_document(
        _doc(
            dataSet="CovWeekly01",
            completeDate="2021-09-28T10:15:00.000",
            period="2021W38",
            orgUnit="PRK",
            attributeOptionCombo="AocGavi0001",
        ),
        MAPPING,
        source="w38.json",
    )
    (request,) = doc.data_sets
    assert request.data_set == "surveillance"
    assert doc.values[0].attribute == "funder=gavi"
    (done,) = check_registrations(doc.data_sets, DEFAULT_SCHEMA, H)
    assert done == CompleteRegistration(
        "PRK", "PRK", "surveillance", "2021W38", "funder=gavi", date(2021, 9, 28)
    )


def test_an_unknown_data_set_is_a_located_error() -> None:
    doc = read_data_value_set_document(_doc(dataSet="NoSuchSet01"), MAPPING, source="x.json")
    with pytest.raises(DoseflowError) as err:
        check_registrations(doc.data_sets, DEFAULT_SCHEMA, H)
    detail = err.value.detail
    assert detail.code == "REPORT_UNKNOWN_DATA_SET"
    assert detail.location.source == "x.json"
    assert detail.location.column == "dataSet"
    assert detail.value == "NoSuchSet01"


@pytest.mark.parametrize(
    ("top", "code", "fld"),
    [
        (
            {"completeDate": "28/09/2021", "period": "2021W38", "orgUnit": "PRK"},
            "REPORT_BAD_COMPLETION",
            "completed",
        ),
        ({"completeDate": "2021-09-28", "orgUnit": "PRK"}, "REPORT_BAD_COMPLETION", "period"),
        ({"completeDate": "2021-09-28", "period": "2021W38"}, "REPORT_BAD_COMPLETION", "org_unit"),
        (
            {"completeDate": "2021-09-01", "period": "2021W38", "orgUnit": "PRK"},
            "REPORT_BAD_COMPLETION",
            "completed",
        ),
        (
            {"completeDate": "2021-09-28", "period": "202109", "orgUnit": "PRK"},
            "REPORT_WRONG_PERIOD_TYPE",
            "period",
        ),
        (
            {"completeDate": "2021-09-28", "period": "2021W38", "orgUnit": "XXX"},
            "REPORT_ORG_UNIT_NOT_IN_HIERARCHY",
            "org_unit",
        ),
    ],
)
def test_a_completion_that_cannot_be_recorded_is_refused(
    top: dict[str, str], code: str, fld: str
) -> None:
    doc = read_data_value_set_document(_doc(dataSet="COVID_WEEKLY", **top), MAPPING)
    with pytest.raises(DoseflowError) as err:
        check_registrations(doc.data_sets, DEFAULT_SCHEMA, H)
    assert (err.value.detail.code, err.value.detail.location.field) == (code, fld)


def test_complete_date_without_data_set_is_an_invalid_document() -> None:
    with pytest.raises(DoseflowError) as err:
        read_data_value_set_document(_doc(completeDate="2021-09-28"), MAPPING)
    assert err.value.code == "REPORT_DHIS2_JSON_INVALID"


ADX = b"""<?xml version="1.0" encoding="UTF-8"?>
<adx xmlns="urn:ihe:qrph:adx:2015" exported="2021-09-27T08:00:00Z">
  <group orgUnit="PRK" period="2021-09-20/P7D" dataSet="COVID_WEEKLY" completeDate="2021-09-28">
    <dataValue dataElement="deaths" value="0"/>
  </group>
  <group orgUnit="PRK-SPY" period="2021-09-01/P1M" dataSet="administration">
    <dataValue dataElement="doses_received" value="10"/>
  </group>
  <group orgUnit="PRK" period="2021-09-01/P1M" dataSet="NOPE">
    <dataValue dataElement="doses_received" value="10"/>
  </group>
</adx>
"""


def test_adx_groups_name_data_sets_and_completions() -> None:
    doc = read_adx_document(ADX, MAPPING, DEFAULT_SCHEMA, source="a.xml")
    assert [(r.data_set, r.completed) for r in doc.data_sets] == [
        ("surveillance", "2021-09-28"),
        ("administration", None),
        ("NOPE", None),
    ]
    with pytest.raises(DoseflowError) as err:
        check_registrations(doc.data_sets, DEFAULT_SCHEMA, H)
    assert err.value.detail.code == "REPORT_UNKNOWN_DATA_SET"
    assert err.value.detail.location.line == 9
    (done,) = check_registrations(doc.data_sets[:2], DEFAULT_SCHEMA, H)
    assert (done.period, done.completed) == ("2021W38", date(2021, 9, 28))


def test_compliance_prefers_the_registration_and_names_its_basis() -> None:
    submissions = {
        ("PRK", "surveillance", "2021W35"): datetime(2021, 9, 7, 9),  # values on time
        ("PRK", "surveillance", "2021W36"): datetime(2021, 9, 14, 9),  # values on time...
        ("PRK", "surveillance", "2021W37"): datetime(2021, 9, 20, 9),
    }
    completions = {
        # ... but marked complete only on 20 Sep: late by the registration (due 15 Sep)
        ("PRK", "surveillance", "2021W36"): [(date(2021, 9, 20), datetime(2021, 9, 20, 9))],
        # marked complete on time, values arrived before
        ("PRK", "surveillance", "2021W37"): [
            (date(2021, 9, 21), datetime(2021, 9, 21, 9)),
            (date(2021, 9, 25), datetime(2021, 9, 25, 9)),  # a second attribute combo
        ],
        # a registration without values
        ("PRK", "surveillance", "2021W38"): [(date(2021, 9, 27), datetime(2021, 9, 27, 9))],
    }
    rows = {
        r.period.code: r for r in compliance([REQ], submissions, date(2021, 9, 28), completions)
    }
    assert rows["2021W35"].basis is ComplianceBasis.VALUES
    assert rows["2021W35"].status is ComplianceStatus.ON_TIME
    assert rows["2021W36"].basis is ComplianceBasis.REGISTRATION
    assert rows["2021W36"].status is ComplianceStatus.LATE
    assert rows["2021W36"].days_late == 5
    assert rows["2021W37"].basis is ComplianceBasis.REGISTRATION
    # the completion's day began at local midnight in Pyongyang (UTC+9)
    assert rows["2021W37"].submitted_at == day_start(date(2021, 9, 21), PYONGYANG)
    assert rows["2021W37"].status is ComplianceStatus.ON_TIME
    assert rows["2021W38"].basis is ComplianceBasis.REGISTRATION
    # as things stood on 19 Sep: no registration yet for W36, so its values count
    then = {
        r.period.code: r for r in compliance([REQ], submissions, date(2021, 9, 19), completions)
    }
    assert then["2021W36"].basis is ComplianceBasis.VALUES
    assert then["2021W36"].status is ComplianceStatus.ON_TIME
    none = compliance([REQ], {}, date(2021, 9, 28))
    assert none[0].basis is ComplianceBasis.NONE


def test_writers_export_the_completion() -> None:
    values = [DataValue("PRK", "PRK", "2021W38", "deaths", "default", 0)]
    done = [
        CompleteRegistration("PRK", "PRK", "surveillance", "2021W38", "default", date(2021, 9, 28))
    ]
    by_code = IdScheme.CODE  # the mapping names no UID for PRK or deaths
    doc = json.loads(write_data_value_set(values, MAPPING, id_scheme=by_code, registrations=done))
    assert (doc["dataSet"], doc["completeDate"], doc["period"], doc["orgUnit"]) == (
        "COVID_WEEKLY",
        "2021-09-28",
        "2021W38",
        "PRK",
    )
    # values of two groups: one document cannot say which is complete
    two = [*values, DataValue("PRK", "PRK", "2021W37", "deaths", "default", 0)]
    again = write_data_value_set(two, MAPPING, id_scheme=by_code, registrations=done)
    assert "completeDate" not in json.loads(again)
    adx = write_adx(two, MAPPING, DEFAULT_SCHEMA, registrations=done)
    assert adx.count('completeDate="2021-09-28"') == 1
    back = read_adx_document(adx, MAPPING, DEFAULT_SCHEMA)
    assert check_registrations(back.data_sets, DEFAULT_SCHEMA, H) == done


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def test_store_registers_completions_with_the_values(engine: Engine) -> None:
    doc = read_data_value_set_document(
        _doc(dataSet="CovWeekly01", completeDate="2021-09-28", period="2021W38", orgUnit="PRK"),
        MAPPING,
    )
    dry = store.submit(
        engine, doc.values, hierarchy=H, as_of=AS_OF, data_sets=doc.data_sets, dry_run=True
    )
    assert dry.to_dict()["completed"] == 0
    assert len(dry.completed) == 1
    assert store.stored_registrations(engine) == []
    summary = store.submit(
        engine,
        doc.values,
        hierarchy=H,
        as_of=AS_OF,
        data_sets=doc.data_sets,
        stored_by="moph",
        now=datetime(2021, 9, 28, 10),
    )
    assert summary.to_dict()["completed"] == 1
    assert store.stored_registrations(engine) == list(summary.completed)
    store.save_requirements(engine, [REQ])
    rows = {r.period.code: r for r in store.compliance_view(engine, date(2021, 10, 10))}
    assert rows["2021W38"].basis is ComplianceBasis.REGISTRATION
    assert rows["2021W38"].submitted_at == day_start(date(2021, 9, 28), PYONGYANG)


def test_an_unknown_data_set_writes_nothing(engine: Engine) -> None:
    doc = read_data_value_set_document(_doc(dataSet="NoSuchSet01"), MAPPING)
    with pytest.raises(DoseflowError) as err:
        store.submit(engine, doc.values, hierarchy=H, as_of=AS_OF, data_sets=doc.data_sets)
    assert err.value.code == "REPORT_UNKNOWN_DATA_SET"
    assert store.count_values(engine) == 0


def test_register_and_unregister_by_hand(engine: Engine) -> None:
    done = store.register_complete(
        engine, "PRK", "surveillance", "2021W38", hierarchy=H, completed=date(2021, 9, 30)
    )
    assert done.completed == date(2021, 9, 30)
    again = store.register_complete(
        engine, "PRK", "surveillance", "2021W38", hierarchy=H, completed=date(2021, 9, 29)
    )
    assert store.stored_registrations(engine) == [again]
    with pytest.raises(DoseflowError) as err:
        store.register_complete(engine, "PRK", "nope", "2021W38", hierarchy=H)
    assert err.value.code == "REPORT_UNKNOWN_DATA_SET"
    assert store.unregister_complete(engine, "PRK", "surveillance", "2021W38") == 1
    assert store.unregister_complete(engine, "PRK", "surveillance", "2021W38") == 0
    assert store.stored_registrations(engine) == []


def test_cli_complete_incomplete_and_compliance_basis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 250)
    db = str(tmp_path / "r.sqlite")
    hierarchy = str(example("reporting_hierarchy.yaml"))
    reqs = tmp_path / "req.yaml"
    reqs.write_text(
        "requirements:\n  - {participant: PRK, report: surveillance, due_days: 3, from: 2021W37}\n",
        encoding="utf-8",
    )
    assert run(["report", "require", str(reqs), "--db", db]) == 0
    src = str(example("reporting_prk_surveillance.json"))
    args = ["--hierarchy", hierarchy, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", src, *args]) == 0
    common = ["--org-unit", "PRK", "--report", "surveillance", "--period", "2021W37"]
    assert (
        run(
            [
                "report",
                "complete",
                *common,
                "--date",
                "2021-09-24",
                "--hierarchy",
                hierarchy,
                "--db",
                db,
            ]
        )
        == 0
    )
    assert "marked complete on 2021-09-24" in capsys.readouterr().out
    # judged as of today: the registration and the values were stored today
    assert run(["report", "compliance", "--detail", "--db", db]) == 0
    out = capsys.readouterr().out
    w37 = next(line for line in out.splitlines() if "2021W37" in line)
    w38 = next(line for line in out.splitlines() if "2021W38" in line)
    assert "marked complete" in w37
    assert "2021-09-24" in w37
    assert "late (2 d)" in w37
    assert "values present (not marked complete)" in w38
    assert run(["report", "incomplete", *common, "--db", db]) == 0
    assert "no longer marked complete" in capsys.readouterr().out
    assert run(["report", "compliance", "--detail", "--db", db]) == 0
    w37 = next(line for line in capsys.readouterr().out.splitlines() if "2021W37" in line)
    assert "values present" in w37


def test_a_locked_report_keeps_its_completion(engine: Engine) -> None:
    store.register_complete(
        engine, "PRK", "surveillance", "2021W38", hierarchy=H, completed=date(2021, 9, 28)
    )
    store.lock_period(engine, "PRK", "surveillance", "2021W38", by="who-searo")
    with pytest.raises(DoseflowError) as err:
        store.unregister_complete(engine, "PRK", "surveillance", "2021W38")
    assert err.value.code == "REPORT_PERIOD_LOCKED"
    with pytest.raises(DoseflowError) as err:
        store.register_complete(engine, "PRK", "surveillance", "2021W38", hierarchy=H)
    assert err.value.code == "REPORT_PERIOD_LOCKED"
    doc = read_data_value_set_document(
        _doc(dataSet="CovWeekly01", completeDate="2021-09-30", period="2021W38", orgUnit="PRK"),
        MAPPING,
    )
    with pytest.raises(DoseflowError) as err:
        store.submit(engine, doc.values, hierarchy=H, as_of=AS_OF, data_sets=doc.data_sets)
    assert err.value.code == "REPORT_PERIOD_LOCKED"
    assert [r.completed for r in store.stored_registrations(engine)] == [date(2021, 9, 28)]
    store.reopen_period(engine, "PRK", "surveillance", "2021W38", by="moph", reason="late lab")
    assert store.unregister_complete(engine, "PRK", "surveillance", "2021W38") == 1
