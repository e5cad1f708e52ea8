"""The parameters of DHIS2's /api/dataValueSets, read as DHIS2 2.40 reads them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA
from doseflow.reporting.dhis2_mapping import (
    Dhis2Mapping,
    IdKind,
    IdScheme,
    IdSchemes,
    load_mapping,
)
from doseflow.reporting.dhis2_params import (
    ExportQuery,
    export_query,
    given_schemes,
    import_params,
    read_payload,
    request_schemes,
    within_dates,
)
from doseflow.reporting.import_strategy import ImportStrategy

from .conftest import make_hierarchy
from .test_files import example

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
        dry_run=True, import_strategy="new", atomic_mode="all", id_schemes={"idScheme": "code"}
    )
    assert (params.dry_run, params.strategy, params.atomic) == (True, ImportStrategy.CREATE, True)
    assert params.id_schemes == IdSchemes(general=IdScheme.CODE)
    assert given_schemes(params.id_schemes) == {"idScheme": "CODE"}
    with pytest.raises(DoseflowError) as err:
        import_params(run_async=True)
    assert err.value.code == "REPORT_DHIS2_UNSUPPORTED_PARAMETER"
    with pytest.raises(DoseflowError) as err:
        import_params(id_schemes={"orgUnitIdScheme": "NAME"})
    assert err.value.code == "REPORT_ID_SCHEME_UNSUPPORTED"
    assert err.value.details[0].location.field == "orgUnitIdScheme"


def test_every_dhis2_id_scheme_parameter_is_its_own_kind() -> None:
    """DHIS2 lets data elements and org units (and every other kind) differ; the specific
    scheme wins over idScheme, ``id`` is DHIS2's other name for UID, blank is not given."""
    schemes = request_schemes(
        {
            "idScheme": "uid",
            "dataElementIdScheme": "CODE",
            "orgUnitIdScheme": "id",
            "categoryOptionComboIdScheme": " ",
            "dataSetIdScheme": "code",
            "attributeOptionComboIdScheme": None,
        }
    )
    assert {kind: schemes.of(kind) for kind in IdKind} == {
        IdKind.DATA_ELEMENT: IdScheme.CODE,
        IdKind.ORG_UNIT: IdScheme.UID,
        IdKind.CATEGORY_OPTION_COMBO: IdScheme.UID,
        IdKind.DATA_SET: IdScheme.CODE,
        IdKind.ATTRIBUTE_OPTION_COMBO: IdScheme.UID,
    }
    assert given_schemes(schemes) == {
        "idScheme": "UID",
        "dataElementIdScheme": "CODE",
        "dataSetIdScheme": "CODE",
    }
    query = export_query(
        **BASE,  # type: ignore[arg-type]
        data_sets=["administration"],
        org_units=["PRK"],
        periods=["202109"],
        id_schemes=IdSchemes(org_unit=IdScheme.UID),
        default_scheme=IdScheme.CODE,
    )
    assert query.id_schemes.of(IdKind.ORG_UNIT) is IdScheme.UID
    assert query.id_schemes.of(IdKind.DATA_ELEMENT) is IdScheme.CODE


def test_payload_by_content_type() -> None:
    body = b'{"dataValues": [{"dataElement": "x", "period": "202109", "orgUnit": "PRK"}]}'
    found = read_payload("application/json; charset=utf-8", body, Dhis2Mapping(), DEFAULT_SCHEMA)
    assert found.values[0].data_element == "x"
    completed = b'{"dataSet": "administration", "completeDate": "2021-10-02", "period": "202109",'
    completed += b' "orgUnit": "PRK", "dataValues": []}'
    doc = read_payload("application/json", completed, Dhis2Mapping(), DEFAULT_SCHEMA)
    assert [(r.data_set, r.completed) for r in doc.data_sets] == [("administration", "2021-10-02")]
    with pytest.raises(DoseflowError) as err:
        read_payload("text/csv", b"a,b", Dhis2Mapping(), DEFAULT_SCHEMA)
    assert err.value.code == "SERVICE_UNSUPPORTED_MEDIA_TYPE"


EXAMPLE = load_mapping(example("reporting_dhis2_mapping.yaml"))


def one(mapping: Dhis2Mapping | None = None, **given: Any) -> ExportQuery:
    """The export query of one data set, org unit and period, with ``given`` besides."""
    return export_query(
        schema=DEFAULT_SCHEMA,
        hierarchy=make_hierarchy(),
        mapping=mapping or Dhis2Mapping(),
        data_sets=["administration"],
        org_units=["PRK"],
        periods=["202109"],
        **given,
    )


def test_export_query_attribute_option_combos_read_through_the_mapping() -> None:
    query = one(EXAMPLE, attribute_option_combos=["AocGavi0001", "default"])
    assert query.attributes == ("funder=gavi", "default")
    assert query.unmapped_attributes == ()  # both mapped: known without asking the store
    by_code = one(EXAMPLE, attribute_option_combos=["GAVI"])
    assert by_code.attributes == ("funder=gavi",)
    with pytest.raises(DoseflowError) as err:  # a code where a UID is asked for
        one(
            EXAMPLE,
            attribute_option_combos=["GAVI"],
            id_schemes=IdSchemes(attribute_option_combo=IdScheme.UID),
        )
    assert err.value.code == "REPORT_DHIS2_QUERY_INVALID"
    assert err.value.details[0].location.field == "attributeOptionCombo"
    assert err.value.details[0].value == "GAVI"
    # not mapped: only stored values can tell whether it exists (the store checks)
    loose = one(attribute_option_combos=["funder=unicef"])
    assert loose.attributes == ("funder=unicef",)
    assert loose.unmapped_attributes == (("funder=unicef", "funder=unicef"),)
    assert one().attributes is None


@pytest.mark.parametrize("limit", ["0", "-2", "ten", "1.5"])
def test_export_query_limit_must_be_a_positive_integer(limit: str) -> None:
    with pytest.raises(DoseflowError) as err:
        one(limit=limit)
    assert err.value.code == "REPORT_DHIS2_QUERY_INVALID"
    assert err.value.details[0].location.field == "limit"
    assert one(limit=" 25 ").limit == 25
    assert one().limit is None


def test_export_query_include_deleted_refused() -> None:
    """doseflow deletes values outright: there are no deleted values to include."""
    assert one(include_deleted=False).data_set == "administration"
    with pytest.raises(DoseflowError) as err:
        one(include_deleted=True)
    assert err.value.code == "REPORT_DHIS2_UNSUPPORTED_PARAMETER"
    assert err.value.details[0].location.field == "includeDeleted"
    assert "deleted outright" in err.value.details[0].message
