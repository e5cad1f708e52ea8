"""The parameters of DHIS2's /api/dataValueSets, read as DHIS2 2.40 reads them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdScheme
from doseflow.reporting.dhis2_params import (
    export_query,
    id_scheme_of,
    import_params,
    read_payload,
    within_dates,
)
from doseflow.reporting.import_strategy import ImportStrategy

from .conftest import make_hierarchy

BASE = {"schema": DEFAULT_SCHEMA, "hierarchy": make_hierarchy(), "mapping": Dhis2Mapping()}


def test_export_query_resolves_data_sets_children_and_dates() -> None:
    query = export_query(
        **BASE,  # type: ignore[arg-type]
        data_sets=["administration"],
        org_units=["PRK"],
        children=True,
        start_date="2021-09-01",
        end_date="2021-09-30",
        last_updated="2021-09-27T08:00:00+02:00",
    )
    assert set(query.org_units) == {"PRK", "PRK-SPY", "PRK-RYG"}
    assert "doses_administered" in query.data_elements
    assert "people_tested" not in query.data_elements
    assert (query.start, query.end, query.periods) == (date(2021, 9, 1), date(2021, 9, 30), None)
    assert query.updated_since == datetime(2021, 9, 27, 6)
    assert query.data_set == "administration"
    assert within_dates("202109", query)
    assert not within_dates("2021W35", query)  # 30 Aug - 5 Sep: starts before the 1st


@pytest.mark.parametrize(
    ("given", "fld"),
    [
        ({"org_units": ["PRK"], "periods": ["202109"]}, "dataSet"),
        ({"data_sets": ["administration"], "org_units": ["PRK"]}, "period"),
        ({"data_sets": ["administration"], "periods": ["202109"]}, "orgUnit"),
        ({"data_sets": ["nope"], "periods": ["202109"], "org_units": ["PRK"]}, "dataSet"),
        ({"data_sets": ["administration"], "periods": ["202109"], "org_units": ["X"]}, "orgUnit"),
    ],
)
def test_export_queries_dhis2_refuses(given: dict[str, list[str]], fld: str) -> None:
    with pytest.raises(DoseflowError) as err:
        export_query(**BASE, **given)  # type: ignore[arg-type]
    assert err.value.code == "REPORT_DHIS2_QUERY_INVALID"
    assert err.value.details[0].location.field == fld


def test_import_params() -> None:
    params = import_params(
        dry_run=True, import_strategy="new", atomic_mode="all", id_schemes=[("idScheme", "code")]
    )
    assert (params.dry_run, params.strategy, params.atomic) == (True, ImportStrategy.CREATE, True)
    assert params.id_schemes == (("idScheme", "CODE"),)
    for kwargs in ({"run_async": True}, {"id_schemes": [("idScheme", "NAME")]}):
        with pytest.raises(DoseflowError) as err:
            import_params(**kwargs)
        assert err.value.code == "REPORT_DHIS2_UNSUPPORTED_PARAMETER"
    assert id_scheme_of("uid", "code", None) is IdScheme.CODE
    with pytest.raises(DoseflowError):
        id_scheme_of(None, "code", "uid")


def test_payload_by_content_type() -> None:
    body = b'{"dataValues": [{"dataElement": "x", "period": "202109", "orgUnit": "PRK"}]}'
    found = read_payload("application/json; charset=utf-8", body, Dhis2Mapping(), DEFAULT_SCHEMA)
    assert found[0].data_element == "x"
    with pytest.raises(DoseflowError) as err:
        read_payload("text/csv", b"a,b", Dhis2Mapping(), DEFAULT_SCHEMA)
    assert err.value.code == "SERVICE_UNSUPPORTED_MEDIA_TYPE"
