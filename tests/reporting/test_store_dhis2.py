"""The store's side of DHIS2 imports, on both backends: deletions, import strategies and the
filters of ``GET /api/dataValueSets`` (last updated, attribute option combos, limit)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA
from doseflow.reporting.dhis2_mapping import Dhis2Mapping
from doseflow.reporting.dhis2_params import ExportQuery, export_query
from doseflow.reporting.import_strategy import ImportStrategy
from doseflow.store import reporting as store
from doseflow.store.database import open_database
from doseflow.store.reporting_dhis2 import export_values

from .conftest import AS_OF, make_hierarchy, sv

H = make_hierarchy()
WEEK = [
    sv("people_tested", "2021W38", "PRK", "667"),
    sv("positives", "2021W38", "PRK", 0),
    sv("ili_cases", "2021W38", "PRK", 94),
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def _elements(engine: Engine) -> list[str]:
    return sorted(v.data_element for v in store.load_values(engine))


def test_deleted_values_remove_stored_values(engine: Engine) -> None:
    store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF)
    gone = [
        sv("ili_cases", "2021W38", "PRK", "94", deleted=True),
        sv("ili_cases", "2021W37", "PRK", "1", deleted=True),  # nothing stored
    ]
    dry = store.submit(engine, gone, hierarchy=H, as_of=AS_OF, dry_run=True)
    assert dry.counts["deleted"] == 1
    assert _elements(engine) == ["ili_cases", "people_tested", "positives"]
    summary = store.submit(engine, gone, hierarchy=H, as_of=AS_OF)
    assert (summary.counts["deleted"], summary.counts["ignored"]) == (1, 1)
    assert _elements(engine) == ["people_tested", "positives"]


def test_strategies_in_the_store(engine: Engine) -> None:
    store.submit(engine, WEEK[:1], hierarchy=H, as_of=AS_OF)
    both = [sv("people_tested", "2021W38", "PRK", "700"), sv("positives", "2021W38", "PRK", 1)]
    store.submit(engine, both, hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.UPDATE)
    assert {v.data_element: v.value for v in store.load_values(engine)} == {"people_tested": 700}
    store.submit(engine, both[::-1], hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.CREATE)
    assert {v.data_element: v.value for v in store.load_values(engine)} == {
        "people_tested": 700,
        "positives": 1,
    }
    store.submit(engine, both[:1], hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.DELETE)
    assert _elements(engine) == ["positives"]


def test_values_updated_since(engine: Engine) -> None:
    store.submit(engine, WEEK[:1], hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 27, 8))
    store.submit(engine, WEEK[1:], hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 28, 8))
    later = store.load_values(engine, updated_since=datetime(2021, 9, 28))
    assert sorted(v.data_element for v in later) == ["ili_cases", "positives"]


def _query(**given: object) -> ExportQuery:
    return export_query(
        schema=DEFAULT_SCHEMA,
        hierarchy=H,
        mapping=Dhis2Mapping(),
        data_sets=["surveillance"],
        org_units=["PRK"],
        **given,  # type: ignore[arg-type]
    )


def test_export_by_attribute_option_combo_and_limit(engine: Engine) -> None:
    week = [*WEEK, sv("people_tested", "2021W38", "PRK", 5, attribute="funder=gavi")]
    week += [sv("people_tested", "2021W37", "PRK", 9)]
    store.submit(engine, week, hierarchy=H, as_of=AS_OF)
    # the database filters by combo: the first value of funder=gavi, though three default
    # values come before it in key order
    (gavi,) = store.load_values(engine, attributes=["funder=gavi"], limit=1)
    assert (gavi.data_element, gavi.value) == ("people_tested", 5)
    found = export_values(
        engine, _query(periods=["2021W38"], attribute_option_combos=["funder=gavi"])
    )
    assert [(v.attribute, v.value) for v in found] == [("funder=gavi", 5)]
    both = _query(periods=["2021W38"], attribute_option_combos=["funder=gavi", "default"])
    assert len(export_values(engine, both)) == 4
    assert export_values(engine, _query(periods=["2021W38"], attribute_option_combos=["default"]))
    with pytest.raises(DoseflowError) as err:  # neither mapped nor stored
        export_values(engine, _query(periods=["2021W38"], attribute_option_combos=["funder=who"]))
    assert (err.value.code, err.value.details[0].location.field) == (
        "REPORT_DHIS2_QUERY_INVALID",
        "attributeOptionCombo",
    )
    with pytest.raises(DoseflowError):  # another participant's combo is not known to NGA
        export_values(
            engine,
            _query(periods=["2021W38"], attribute_option_combos=["funder=gavi"]),
            participant="NGA",
        )
    # limit: the first N in key order (period before data element), with or without dates
    every = export_values(engine, _query(periods=["2021W37", "2021W38"]))
    assert len(every) == 5
    for given in (
        {"periods": ["2021W37", "2021W38"]},
        {"start_date": "2021-09-13", "end_date": "2021-09-26"},
    ):
        first = export_values(engine, _query(**given, limit="2"))
        assert first == every[:2]
        assert export_values(engine, _query(**given, limit="50")) == every
    # a limit above the cap cuts nothing, so the cap still refuses
    with pytest.raises(DoseflowError) as err:
        export_values(engine, _query(periods=["2021W38"], limit="10"), limit=3)
    assert err.value.code == "REPORT_DHIS2_TOO_MANY_VALUES"
    assert len(export_values(engine, _query(periods=["2021W38"], limit="3"), limit=3)) == 3
