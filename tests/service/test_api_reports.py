"""Reports: submit, dry run and import summary; compliance and plausibility; own country only."""

from __future__ import annotations

from typing import Any

from doseflow.reporting import Requirement, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.store.reporting import save_requirements
from doseflow.store.service import audit_log
from tests.service.conftest import Service


def _values(org_unit: str, value: Any = 1200) -> dict[str, Any]:
    return {
        "values": [
            {
                "data_element": "doses_received",
                "period": "202106",
                "org_unit": org_unit,
                "value": value,
            }
        ],
        "as_of": "2021-07-10",
    }


def test_a_dry_run_writes_nothing_and_a_submission_does(service: Service) -> None:
    dry = service.post("/api/reports/dry-run", "participant-KEN", json=_values("KEN"))
    assert dry.status_code == 200
    assert dry.json()["dry_run"] is True
    assert dry.json()["counts"]["accepted"] == 1
    assert service.get("/api/reports/values", "participant-KEN").json() == []
    done = service.post("/api/reports", "participant-KEN", json=_values("KEN"))
    assert done.json()["written"] == 1
    stored = service.get("/api/reports/values", "viewer", params={"iso3": "KEN"}).json()
    assert [(v["org_unit"], v["value"]) for v in stored] == [("KEN", 1200.0)]
    entry = audit_log(service.engine, limit=1)[0]
    assert entry.action == "reports.submit"
    assert entry.detail is not None
    assert entry.detail["written"] == 1


def test_a_conflicting_value_comes_back_in_the_import_summary(service: Service) -> None:
    summary = service.post("/api/reports", "participant-KEN", json=_values("KEN", "many")).json()
    assert summary["status"] == "ERROR"
    assert summary["written"] == 0
    assert summary["conflicts"][0]["index"] == 0
    assert summary["conflicts"][0]["code"].startswith("REPORT_")


def test_a_participant_cannot_report_or_read_for_another(service: Service) -> None:
    refused = service.post("/api/reports", "participant-NGA", json=_values("KEN"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "SERVICE_OUT_OF_SCOPE"
    assert refused.json()["errors"][0]["value"] == "KEN"
    assert service.get("/api/reports/values", "participant-NGA").json() == []
    for path in ("/api/reports/values", "/api/reports/compliance", "/api/reports/plausibility"):
        response = service.get(path, "participant-NGA", params={"iso3": "KEN"})
        assert response.status_code == 403, path
        assert response.json()["code"] == "SERVICE_OUT_OF_SCOPE"


def test_staff_cannot_submit_reports_but_may_read_compliance(service: Service) -> None:
    assert service.post("/api/reports", "viewer", json=_values("KEN")).status_code == 403
    assert service.post("/api/reports", "logistics-officer", json=_values("KEN")).status_code == 403
    assert service.get("/api/reports/compliance", "viewer").status_code == 200
    assert service.get("/api/reports/plausibility", "allocation-analyst").status_code == 200


def _surveillance(org_unit: str, weeks: int, tests: int, positives: int) -> dict[str, Any]:
    values = []
    for week in range(1, weeks + 1):
        for element, value in (("people_tested", tests), ("positives", positives)):
            values.append(
                {
                    "data_element": element,
                    "period": f"2021W{week}",
                    "org_unit": org_unit,
                    "value": value,
                }
            )
    return {"values": values, "as_of": "2021-09-27"}


def test_plausibility_says_why_positivity_was_not_checked_then_uses_the_stored_hierarchy(
    service: Service,
) -> None:
    from doseflow.store.reporting_hierarchy import save_hierarchy

    for iso3, positives in (("KEN", 0), ("NGA", 400)):
        done = service.post(
            "/api/reports", f"participant-{iso3}", json=_surveillance(iso3, 12, 4000, positives)
        )
        assert done.json()["written"] == 24, done.json()
    answer = service.get("/api/reports/plausibility", "viewer")
    assert answer.status_code == 200
    assert not [f for f in answer.json() if f["method"] == "beta_binomial_positivity"]
    notes = answer.headers.get_list("X-Doseflow-Note")
    assert any("not checked for KEN, NGA" in n and "no neighbours" in n for n in notes)

    save_hierarchy(
        service.engine,
        "any_country: true\nparticipants:\n  - {code: KEN, neighbours: [NGA]}\n  - {code: NGA}\n",
        "h.yaml",
    )
    answer = service.get("/api/reports/plausibility", "viewer", params={"iso3": "KEN"})
    (flag,) = [f for f in answer.json() if f["method"] == "beta_binomial_positivity"]
    assert flag["participant"] == "KEN"
    assert flag["figures"]["tests"] == 48_000
    assert answer.headers.get_list("X-Doseflow-Note") == []


def test_values_keep_their_attribute_option_combo_and_compliance_names_its_basis(
    service: Service,
) -> None:
    body = _values("KEN")
    body["values"].append({**body["values"][0], "value": 30, "attribute": "funder=gavi"})
    summary = service.post("/api/reports", "participant-KEN", json=body).json()
    assert summary["counts"]["accepted"] == 2
    assert summary["completed"] == 0
    stored = service.get("/api/reports/values", "viewer", params={"iso3": "KEN"}).json()
    assert sorted((v["attribute"], v["value"]) for v in stored) == [
        ("default", 1200.0),
        ("funder=gavi", 30.0),
    ]
    save_requirements(
        service.engine,
        [Requirement("KEN", "distribution", PeriodType.MONTHLY, 15, parse_period("202106"))],
    )
    rows = service.get("/api/reports/compliance", "viewer", params={"iso3": "KEN"}).json()
    june = next(r for r in rows if r["period"] == "202106")
    assert june["basis"] == "values"  # no completion registered: judged by the values
    july = next(r for r in rows if r["period"] == "202107")
    assert (july["basis"], july["status"]) == ("none", "missing")


def test_the_import_summary_in_dhis2s_shape(service: Service) -> None:
    path = "/api/reports/dry-run"
    params = {"summary_format": "dhis2"}
    body = _values("KEN")
    body["values"].append({**body["values"][0], "value": "many", "period": "202105"})
    summary = service.post(path, "participant-KEN", json=body, params=params)
    assert summary.status_code == 200
    found = summary.json()
    assert found["responseType"] == "ImportSummary"
    assert found["status"] == "WARNING"
    assert found["importCount"] == {"imported": 1, "updated": 0, "ignored": 1, "deleted": 0}
    assert found["rejectedIndexes"] == [1]
    assert found["conflicts"][0]["errorCode"] == "REPORT_BAD_VALUE"
    plain = service.post(path, "participant-KEN", json=body).json()
    assert plain["counts"]["accepted"] == 1
    assert plain["deleted"] == 0


def test_compliance_judges_due_dates_in_the_stored_hierarchys_zone(service: Service) -> None:
    """The API reads participants' zones from the stored hierarchy, as the CLI does: a report
    stored at 12:00 UTC on its due date is on time in Nairobi (KEN's default zone, 15:00) but
    late in a zone that has already reached the next day (Kiritimati, UTC+14)."""
    from datetime import UTC, datetime

    from doseflow.reporting import SubmittedValue, national_hierarchy
    from doseflow.store import reporting as store
    from doseflow.store.reporting_hierarchy import save_hierarchy, stored_hierarchy

    save_requirements(
        service.engine,
        [Requirement("KEN", "distribution", PeriodType.MONTHLY, 15, parse_period("202106"))],
    )
    store.submit(
        service.engine,
        [SubmittedValue("doses_received", "202106", "KEN", 1200)],
        hierarchy=national_hierarchy(),
        as_of=datetime(2021, 7, 15).date(),
        now=datetime(2021, 7, 15, 12, tzinfo=UTC),
    )

    def june() -> dict[str, Any]:
        rows = service.get(
            "/api/reports/compliance", "viewer", params={"iso3": "KEN", "as_of": "2021-08-01"}
        ).json()
        return next(r for r in rows if r["period"] == "202106")

    assert (june()["status"], june()["time_zone"]) == ("on_time", "Africa/Nairobi")
    save_hierarchy(
        service.engine,
        "any_country: true\nparticipants:\n  - {code: KEN, time_zone: Pacific/Kiritimati}\n",
        "h.yaml",
    )
    assert stored_hierarchy(service.engine) is not None
    assert (june()["status"], june()["time_zone"]) == ("late", "Pacific/Kiritimati")
