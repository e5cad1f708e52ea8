"""DHIS2's ``/api/dataValueSets`` served by doseflow, used by a DHIS2 client written from
DHIS2's documentation only (tests/service/dhis2_client.py) against a running server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from doseflow.reporting.compliance import Requirement
from doseflow.reporting.periods import PeriodType, parse_period
from doseflow.store.reporting import save_requirements
from doseflow.store.reporting_mapping import load_mapping_file
from tests.service.conftest import Service, make_service
from tests.service.dhis2_client import Api, Dhis2Error, import_summary
from tests.service.live import live_server

PERIOD = "2024W10"
PAYLOAD: dict[str, Any] = {
    "dataSet": "surveillance",
    "period": PERIOD,
    "orgUnit": "KEN",
    "dataValues": [
        {"dataElement": "people_tested", "categoryOptionCombo": "default", "value": "1200"},
        {"dataElement": "positives", "categoryOptionCombo": "default", "value": "36"},
        {"dataElement": "ili_cases", "categoryOptionCombo": "default", "value": "14"},
        {
            "dataElement": "deaths",
            "categoryOptionCombo": "default",
            "value": "2",
            "comment": "district hospital",
        },
    ],
}
QUERY = {"dataSet": "surveillance", "period": PERIOD, "orgUnit": "KEN"}
MAPPING = Path(
    str(resources.files("doseflow.data").joinpath("examples/reporting_dhis2_mapping.yaml"))
)
# The UIDs of the example mapping: what a DHIS2 instance mapped to doseflow would send.
SURVEILLANCE, KENYA, GAVI, DEFAULT = "CovWeekly01", "OuKenya0001", "AocGavi0001", "HllvX50cXC0"
TESTED, POSITIVES = "C19Tested01", "C19Positiv1"


def _key(v: dict[str, Any]) -> tuple[str, ...]:
    return (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"], v["value"])


@pytest.fixture
def server(fresh_sqlite: str) -> Iterator[tuple[Service, str]]:
    for service in make_service(fresh_sqlite):
        with live_server(service.app) as url:
            yield service, url


def test_a_dhis2_client_pushes_deletes_and_reads_back(server: tuple[Service, str]) -> None:
    service, url = server
    api = Api(url, "participant-KEN", service.tokens["participant-KEN"])
    try:
        dry = import_summary(api.post("dataValueSets", json=PAYLOAD, params={"dryRun": "true"}))
        assert dry["status"] == "SUCCESS"
        assert dry["importOptions"]["dryRun"] is True
        assert dry["importCount"] == {"imported": 4, "updated": 0, "ignored": 0, "deleted": 0}
        empty = api.get("dataValueSets", params=QUERY).json()
        assert empty["dataValues"] == []

        done = import_summary(api.post("dataValueSets", json=PAYLOAD))
        assert done["importCount"]["imported"] == 4
        assert done["importOptions"]["idSchemes"] == {}  # no mapping stored: either is read
        assert done["conflicts"] == []

        changes = {
            "dataValues": [
                {**PAYLOAD["dataValues"][0], "period": PERIOD, "orgUnit": "KEN", "value": "1250"},
                {**PAYLOAD["dataValues"][2], "period": PERIOD, "orgUnit": "KEN", "deleted": True},
                {"dataElement": "no_such", "period": PERIOD, "orgUnit": "KEN", "value": "1"},
            ]
        }
        response = api.post("dataValueSets", json=changes)
        assert response.status_code == 409  # conflicts: DHIS2 2.38+ answer 409 with WARNING
        changed = import_summary(response)
        assert changed["status"] == "WARNING"
        assert changed["importCount"] == {"imported": 0, "updated": 1, "ignored": 1, "deleted": 1}
        assert [c["indexes"] for c in changed["conflicts"]] == [[2]]
        assert changed["conflicts"][0]["object"] == "no_such"

        back = api.get("dataValueSets", params=QUERY).json()
        expected = {
            _key({**v, "period": PERIOD, "orgUnit": "KEN"})
            for v in PAYLOAD["dataValues"]
            if v["dataElement"] != "ili_cases"
        }
        expected = {k if k[0] != "people_tested" else (*k[:4], "1250") for k in expected}
        assert {_key(v) for v in back["dataValues"]} == expected
        assert back["dataSet"] == "surveillance"
        comments = {v["dataElement"]: v.get("comment") for v in back["dataValues"]}
        assert comments["deaths"] == "district hospital"

        adx = api.get("dataValueSets", params=QUERY, accept="application/adx+xml")
        assert adx.headers["content-type"].startswith("application/adx+xml")
        assert 'dataElement="people_tested"' in adx.text
        assert 'value="1250"' in adx.text
    finally:
        api.close()


def test_adx_import_versioned_paths_and_strategies(server: tuple[Service, str]) -> None:
    service, url = server
    api = Api(url, "participant-KEN", service.tokens["participant-KEN"], api_version=40)
    old = Api(url, "participant-KEN", service.tokens["participant-KEN"], api_version=37)
    try:
        adx = (
            '<adx xmlns="urn:ihe:qrph:adx:2015" exported="2024-03-11T08:00:00Z">'
            '<group orgUnit="KEN" period="2024-03-04/P7D" dataSet="surveillance" '
            'completeDate="2024-03-11">'
            '<dataValue dataElement="people_tested" value="900"/></group></adx>'
        )
        summary = import_summary(
            api.post("dataValueSets", data=adx, content_type="application/adx+xml")
        )
        assert summary["importCount"]["imported"] == 1
        assert summary["dataSetComplete"] == "2024-03-11"  # the group's completeDate
        update_only = {
            "dataValues": [
                {
                    "dataElement": "people_tested",
                    "period": PERIOD,
                    "orgUnit": "KEN",
                    "value": "950",
                },
                {"dataElement": "positives", "period": PERIOD, "orgUnit": "KEN", "value": "3"},
            ]
        }
        bare = old.post("dataValueSets.json", json=update_only, params={"importStrategy": "UPDATE"})
        assert bare.status_code == 200  # before 2.38: the bare summary, 200
        summary = bare.json()
        assert summary["responseType"] == "ImportSummary"
        assert summary["importOptions"]["importStrategy"] == "UPDATE"
        assert summary["importCount"] == {"imported": 0, "updated": 1, "ignored": 1, "deleted": 0}
        gone = import_summary(
            api.post("dataValueSets", json=update_only, params={"importStrategy": "DELETES"})
        )
        assert gone["importCount"] == {"imported": 0, "updated": 0, "ignored": 1, "deleted": 1}
        values = api.get("dataValueSets", params={**QUERY, "children": "true"}).json()
        assert values["dataValues"] == []
        with pytest.raises(Dhis2Error, match="REPORT_DHIS2_UNSUPPORTED_PARAMETER"):
            api.post("dataValueSets", json=update_only, params={"async": "true"})
    finally:
        api.close()
        old.close()


def test_basic_auth_needs_the_tokens_own_user(service: Service) -> None:
    token = service.tokens["participant-KEN"]

    def basic(user: str, password: str) -> dict[str, str]:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    ok = service.client.get(
        "/api/dataValueSets", params=QUERY, headers=basic("participant-KEN", token)
    )
    assert ok.status_code == 200
    for headers in (basic("administrator", token), basic("participant-KEN", "dft_nope")):
        refused = service.client.get("/api/dataValueSets", params=QUERY, headers=headers)
        assert refused.status_code == 401
    api_token = service.client.get(
        "/api/dataValueSets", params=QUERY, headers={"Authorization": f"ApiToken {token}"}
    )
    assert api_token.status_code == 200


def test_queries_and_bodies_dhis2_refuses(service: Service) -> None:
    missing = service.get("/api/dataValueSets", "viewer", params={"dataSet": "surveillance"})
    assert missing.status_code == 409
    assert missing.json()["code"] == "REPORT_DHIS2_QUERY_INVALID"
    unknown = service.get("/api/dataValueSets", "viewer", params={**QUERY, "dataSet": "nope"})
    assert unknown.json()["errors"][0]["field"] == "dataSet"
    xml = service.client.post(
        "/api/dataValueSets",
        content=b"<dataValueSet/>",
        headers={**service.headers("participant-KEN"), "Content-Type": "application/xml"},
    )
    assert xml.status_code == 415
    assert xml.json()["code"] == "SERVICE_UNSUPPORTED_MEDIA_TYPE"
    for bad, fld in (
        ({"attributeOptionCombo": "funder=nobody"}, "attributeOptionCombo"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
    ):
        refused = service.get("/api/dataValueSets", "viewer", params={**QUERY, **bad})
        assert refused.status_code == 409
        assert refused.json()["code"] == "REPORT_DHIS2_QUERY_INVALID"
        assert refused.json()["errors"][0]["field"] == fld
    deleted = service.get(
        "/api/dataValueSets", "viewer", params={**QUERY, "includeDeleted": "true"}
    )
    assert deleted.status_code == 422
    assert deleted.json()["code"] == "REPORT_DHIS2_UNSUPPORTED_PARAMETER"
    assert deleted.json()["errors"][0]["field"] == "includeDeleted"
    kept = {**QUERY, "includeDeleted": "false", "attributeOptionCombo": "default", "limit": "5"}
    assert service.get("/api/dataValueSets", "viewer", params=kept).status_code == 200
    name = service.get("/api/dataValueSets", "viewer", params={**QUERY, "idScheme": "NAME"})
    assert name.status_code == 422
    assert name.json()["code"] == "REPORT_ID_SCHEME_UNSUPPORTED"
    assert name.json()["errors"][0]["field"] == "idScheme"


def test_a_participant_pushes_and_reads_only_its_own(service: Service) -> None:
    body = {
        "dataValues": [
            {"dataElement": "people_tested", "period": PERIOD, "orgUnit": "KEN", "value": "5"}
        ]
    }
    refused = service.post("/api/dataValueSets", "participant-NGA", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    assert service.post("/api/dataValueSets", "participant-KEN", json=body).status_code == 200
    other = service.get("/api/dataValueSets", "participant-NGA", params=QUERY).json()
    assert other["dataValues"] == []
    mine = service.get("/api/dataValueSets", "participant-KEN", params=QUERY).json()
    assert [v["value"] for v in mine["dataValues"]] == ["5"]


def _row(v: dict[str, Any]) -> tuple[str, ...]:
    return (
        v["dataElement"],
        v["period"],
        v["orgUnit"],
        v["categoryOptionCombo"],
        v["attributeOptionCombo"],
        v["value"],
    )


def test_a_dhis2_client_pushes_by_uid_completes_and_reads_back(
    server: tuple[Service, str],
) -> None:
    """With a stored mapping the endpoint speaks UIDs by default, as DHIS2 does: a client
    pushes a completed data set for an attribute option combo by UID, reads it back by UID
    (the completion at the top) and the report counts as registered complete."""
    service, url = server
    load_mapping_file(service.engine, MAPPING, by="admin")
    api = Api(url, "participant-KEN", service.tokens["participant-KEN"])
    try:
        # DHIS2's documented payload: the data set, its completion date, period, org unit and
        # attribute option combo at the top, applying to every value
        completed = {
            "dataSet": SURVEILLANCE,
            "completeDate": "2024-03-12",
            "period": PERIOD,
            "orgUnit": KENYA,
            "attributeOptionCombo": GAVI,
            "dataValues": [
                {"dataElement": TESTED, "categoryOptionCombo": DEFAULT, "value": "1200"},
                {"dataElement": POSITIVES, "categoryOptionCombo": DEFAULT, "value": "36"},
            ],
        }
        dry = import_summary(api.post("dataValueSets", json=completed, params={"dryRun": "true"}))
        assert dry["importCount"]["imported"] == 2
        assert dry["dataSetComplete"] == "false"  # a dry run registers nothing
        done = import_summary(api.post("dataValueSets", json=completed))
        assert done["status"] == "SUCCESS"
        assert done["importCount"] == {"imported": 2, "updated": 0, "ignored": 0, "deleted": 0}
        assert done["dataSetComplete"] == "2024-03-12"
        assert done["importOptions"]["idSchemes"] == {"idScheme": "UID"}  # DHIS2's default

        query = {"dataSet": SURVEILLANCE, "period": PERIOD, "orgUnit": KENYA}
        back = api.get("dataValueSets", params=query).json()
        assert back["idScheme"] == "UID"
        assert (back["dataSet"], back["completeDate"]) == (SURVEILLANCE, "2024-03-12")
        assert (back["period"], back["orgUnit"]) == (PERIOD, KENYA)
        assert back["attributeOptionCombo"] == GAVI
        assert sorted(_row(v) for v in back["dataValues"]) == sorted(
            [
                (TESTED, PERIOD, KENYA, DEFAULT, GAVI, "1200"),
                (POSITIVES, PERIOD, KENYA, DEFAULT, GAVI, "36"),
            ]
        )

        # a value of the default attribute option combo, given per value (DHIS2's default
        # combo's UID), beside the GAVI ones: two reports, each keeping its own combo
        default = {
            "dataValues": [
                {
                    "dataElement": TESTED,
                    "period": PERIOD,
                    "orgUnit": KENYA,
                    "categoryOptionCombo": DEFAULT,
                    "attributeOptionCombo": DEFAULT,
                    "value": "800",
                }
            ]
        }
        more = import_summary(api.post("dataValueSets", json=default))
        assert (more["importCount"]["imported"], more["dataSetComplete"]) == (1, "false")
        both = api.get("dataValueSets", params=query).json()
        assert "completeDate" not in both  # two reports selected: no single completion
        assert sorted(_row(v) for v in both["dataValues"]) == sorted(
            [
                (TESTED, PERIOD, KENYA, DEFAULT, GAVI, "1200"),
                (POSITIVES, PERIOD, KENYA, DEFAULT, GAVI, "36"),
                (TESTED, PERIOD, KENYA, DEFAULT, DEFAULT, "800"),
            ]
        )
        # DHIS2's attributeOptionCombo (one or more, by UID here) selects by combo, in the
        # database; limit answers the first values only (in key order: the default combo's
        # value first)
        gavi = api.get("dataValueSets", params={**query, "attributeOptionCombo": GAVI}).json()
        assert sorted(_row(v) for v in gavi["dataValues"]) == sorted(
            [
                (TESTED, PERIOD, KENYA, DEFAULT, GAVI, "1200"),
                (POSITIVES, PERIOD, KENYA, DEFAULT, GAVI, "36"),
            ]
        )
        assert gavi["completeDate"] == "2024-03-12"  # one report again: its completion
        either = {**query, "attributeOptionCombo": [GAVI, DEFAULT]}
        assert len(api.get("dataValueSets", params=either).json()["dataValues"]) == 3
        first = api.get("dataValueSets", params={**query, "limit": 1}).json()
        assert [_row(v) for v in first["dataValues"]] == [
            (TESTED, PERIOD, KENYA, DEFAULT, DEFAULT, "800")
        ]
        two = api.get("dataValueSets", params={**query, "limit": "2", "attributeOptionCombo": GAVI})
        assert len(two.json()["dataValues"]) == 2
        with pytest.raises(Dhis2Error, match=r"409.*REPORT_DHIS2_QUERY_INVALID.*AocNone0001"):
            api.get("dataValueSets", params={**query, "attributeOptionCombo": "AocNone0001"})
        # ADX answers codes by default, as DHIS2's ADX does; idScheme=UID gives UIDs
        by_uid = api.get(
            "dataValueSets",
            params={**query, "idScheme": "UID", "attributeOptionCombo": GAVI},
            accept="application/adx+xml",
        ).text
        assert 'orgUnit="OuKenya0001"' in by_uid
        assert 'dataSet="CovWeekly01"' in by_uid
        assert f'dataElement="{TESTED}"' in by_uid
        assert 'dataElement="C19_TESTED"' not in by_uid
        # DHIS2 allows a scheme per kind: org units by code, the rest by UID
        mixed = api.get("dataValueSets", params={**query, "orgUnitIdScheme": "CODE"}).json()
        assert {v["orgUnit"] for v in mixed["dataValues"]} == {"KEN"}
        assert {v["dataElement"] for v in mixed["dataValues"]} == {TESTED, POSITIVES}
        # ADX (codes, as DHIS2 writes ADX): the completion on the GAVI report's group
        adx = api.get("dataValueSets", params=query, accept="application/adx+xml").text
        assert adx.count("<group ") == 2
        assert adx.count('completeDate="2024-03-12"') == 1
        # an org unit by code is refused under the default UID scheme, taken under CODE
        by_code = {"dataValues": [{**default["dataValues"][0], "orgUnit": "KEN", "value": "810"}]}
        with pytest.raises(Dhis2Error, match=r"dataValues\[0\]\.orgUnit"):
            api.post("dataValueSets", json=by_code)
        taken = import_summary(
            api.post("dataValueSets", json=by_code, params={"orgUnitIdScheme": "CODE"})
        )
        assert taken["importCount"]["updated"] == 1
        assert taken["importOptions"]["idSchemes"] == {"idScheme": "UID", "orgUnitIdScheme": "CODE"}
    finally:
        api.close()

    save_requirements(
        service.engine,
        [Requirement("KEN", "surveillance", PeriodType.WEEKLY, 7, parse_period(PERIOD))],
    )
    rows = service.get("/api/reports/compliance", "viewer", params={"iso3": "KEN"}).json()
    week = next(r for r in rows if r["period"] == PERIOD)
    assert week["basis"] == "registration"


def test_a_participant_cannot_complete_another_countrys_report(
    server: tuple[Service, str],
) -> None:
    service, url = server
    api = Api(url, "participant-NGA", service.tokens["participant-NGA"])
    try:
        body = {
            "dataSet": "surveillance",
            "completeDate": "2024-03-12",
            "period": PERIOD,
            "orgUnit": "KEN",
            "dataValues": [],
        }
        with pytest.raises(Dhis2Error, match="SERVICE_OUT_OF_SCOPE"):
            api.post("dataValueSets", json=body)
    finally:
        api.close()
    rows = service.get("/api/reports/compliance", "viewer", params={"iso3": "KEN"}).json()
    assert all(r["basis"] != "registration" for r in rows)
