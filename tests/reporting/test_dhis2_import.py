"""DHIS2 import semantics: ``deleted`` values, import strategies and DHIS2's own import summary
(as DHIS2 2.40 answers ``POST /api/dataValueSets``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import DEFAULT_SCHEMA, SubmissionContext, validate_submission
from doseflow.reporting.dhis2_json import read_data_value_set
from doseflow.reporting.dhis2_mapping import Dhis2Mapping
from doseflow.reporting.dhis2_summary import dhis2_import_summary, dhis2_web_message
from doseflow.reporting.import_strategy import ImportStrategy, parse_import_strategy
from doseflow.reporting.registrations import CompleteRegistration
from doseflow.reporting.submission import Outcome

from .conftest import AS_OF, make_hierarchy, sv

KEY_A = ("PRK", "PRK", "2021W38", "people_tested", "default", "default")
KEY_B = ("PRK", "PRK", "2021W38", "ili_cases", "default", "default")


def _ctx(stored: dict | None = None) -> SubmissionContext:  # type: ignore[type-arg]
    return SubmissionContext(DEFAULT_SCHEMA, make_hierarchy(), AS_OF, stored=stored or {})


def test_deleted_flag_is_read_from_dataValueSets_json() -> None:
    doc = {
        "dataValues": [
            {"dataElement": "people_tested", "period": "2021W38", "orgUnit": "PRK", "value": "5"},
            {
                "dataElement": "ili_cases",
                "period": "2021W38",
                "orgUnit": "PRK",
                "value": "3",
                "deleted": True,
            },
            {"dataElement": "ili_cases", "period": "2021W37", "orgUnit": "PRK", "deleted": "true"},
        ]
    }
    values = read_data_value_set(json.dumps(doc), Dhis2Mapping())
    assert [v.deleted for v in values] == [False, True, True]


def test_a_deleted_value_deletes_the_stored_one_or_is_ignored() -> None:
    stored = {KEY_A: (10.0, None)}
    values = [
        sv("people_tested", "2021W38", "PRK", "10", deleted=True),  # stored: deleted
        sv("ili_cases", "2021W38", "PRK", None, deleted=True),  # nothing stored: ignored
    ]
    summary = validate_submission(values, _ctx(stored))
    assert summary.outcomes == (Outcome.DELETED, Outcome.IGNORED)
    assert summary.deletes == (KEY_A,)
    assert summary.writes == ()
    assert summary.counts["deleted"] == 1
    assert not summary.conflicts


def test_a_deleted_value_is_still_checked_for_its_references_and_locks() -> None:
    values = [sv("no_such_element", "2021W38", "PRK", "1", deleted=True)]
    summary = validate_submission(values, _ctx({KEY_A: (10.0, None)}))
    assert summary.outcomes == (Outcome.CONFLICT,)
    assert summary.conflicts[0].error.code == "REPORT_UNKNOWN_DATA_ELEMENT"
    assert summary.deletes == ()


def test_import_strategy_names_and_aliases() -> None:
    assert parse_import_strategy(None) is ImportStrategy.CREATE_AND_UPDATE
    assert parse_import_strategy("create") is ImportStrategy.CREATE
    assert parse_import_strategy("NEW_AND_UPDATES") is ImportStrategy.CREATE_AND_UPDATE
    assert parse_import_strategy("NEW") is ImportStrategy.CREATE
    assert parse_import_strategy("UPDATES") is ImportStrategy.UPDATE
    assert parse_import_strategy("DELETES") is ImportStrategy.DELETE
    with pytest.raises(DoseflowError) as err:
        parse_import_strategy("MERGE")
    assert err.value.code == "REPORT_UNKNOWN_IMPORT_STRATEGY"


@pytest.mark.parametrize(
    ("strategy", "outcomes", "writes", "deletes"),
    [
        (ImportStrategy.CREATE_AND_UPDATE, ("updated", "accepted"), 2, 0),
        (ImportStrategy.CREATE, ("ignored", "accepted"), 1, 0),
        (ImportStrategy.UPDATE, ("updated", "ignored"), 1, 0),
        (ImportStrategy.DELETE, ("deleted", "ignored"), 0, 1),
    ],
)
def test_import_strategies(
    strategy: ImportStrategy, outcomes: tuple[str, ...], writes: int, deletes: int
) -> None:
    stored = {KEY_A: (10.0, None)}
    values = [sv("people_tested", "2021W38", "PRK", "11"), sv("ili_cases", "2021W38", "PRK", "2")]
    summary = validate_submission(values, _ctx(stored), strategy=strategy)
    assert tuple(o.value for o in summary.outcomes) == outcomes
    assert len(summary.writes) == writes
    assert len(summary.deletes) == deletes
    assert summary.strategy is strategy


def test_update_strategy_with_a_deleted_value_deletes() -> None:
    summary = validate_submission(
        [sv("people_tested", "2021W38", "PRK", "", deleted=True)],
        _ctx({KEY_A: (10.0, None)}),
        strategy=ImportStrategy.UPDATE,
    )
    assert summary.outcomes == (Outcome.DELETED,)


def test_create_strategy_ignores_a_deleted_value() -> None:
    summary = validate_submission(
        [sv("people_tested", "2021W38", "PRK", "", deleted=True)],
        _ctx({KEY_A: (10.0, None)}),
        strategy=ImportStrategy.CREATE,
    )
    assert summary.outcomes == (Outcome.IGNORED,)
    assert summary.deletes == ()


def test_atomic_conflict_drops_deletes_too() -> None:
    values = [
        sv("people_tested", "2021W38", "PRK", "1", deleted=True),
        sv("no_such_element", "2021W38", "PRK", "1"),
    ]
    summary = validate_submission(values, _ctx({KEY_A: (10.0, None)}), atomic=True)
    assert summary.deletes == ()


def test_dhis2_summary_shape_with_conflicts() -> None:
    stored = {KEY_A: (10.0, None), KEY_B: (4.0, None)}
    values = [
        sv("people_tested", "2021W38", "PRK", "11"),  # updated
        sv("ili_cases", "2021W38", "PRK", "4", deleted=True),  # deleted
        sv("positives", "2021W38", "PRK", "0"),  # imported
        sv("no_such_element", "2021W38", "PRK", "1"),  # conflict -> ignored
        sv("health_workers_tested", "2021W38", "PRK", "x"),  # conflict -> ignored
    ]
    summary = validate_submission(values, _ctx(stored), dry_run=True)
    body = dhis2_import_summary(summary)
    assert body["responseType"] == "ImportSummary"
    assert body["status"] == "WARNING"
    assert body["importCount"] == {"imported": 1, "updated": 1, "ignored": 2, "deleted": 1}
    assert body["importOptions"]["dryRun"] is True
    assert body["importOptions"]["importStrategy"] == "CREATE_AND_UPDATE"
    assert body["rejectedIndexes"] == [3, 4]
    assert body["dataSetComplete"] == "false"
    first = body["conflicts"][0]
    assert first["object"] == "no_such_element"
    assert first["objects"] == {"dataElement": "no_such_element"}
    assert first["property"] == "dataElement"
    assert first["errorCode"] == "REPORT_UNKNOWN_DATA_ELEMENT"
    assert first["indexes"] == [3]
    assert "no_such_element" in first["value"]
    assert body["conflicts"][1]["property"] == "value"

    message = dhis2_web_message(summary)
    assert message.status_code == 409
    assert message.body["httpStatus"] == "Conflict"
    assert message.body["httpStatusCode"] == 409
    assert message.body["status"] == "WARNING"
    assert message.body["response"] == body


def test_dhis2_summary_success_and_error() -> None:
    ok = validate_submission([sv("people_tested", "2021W38", "PRK", "11")], _ctx())
    message = dhis2_web_message(ok)
    assert (message.status_code, message.body["status"]) == (200, "OK")
    assert message.body["httpStatus"] == "OK"
    assert message.body["message"] == "Import was successful."
    assert message.body["response"]["status"] == "SUCCESS"
    assert message.body["response"]["importCount"]["imported"] == 1

    bad = validate_submission(
        [sv("people_tested", "2021W38", "PRK", "11"), sv("nope", "2021W38", "PRK", "1")],
        _ctx(),
        atomic=True,
    )
    message = dhis2_web_message(bad)
    assert (message.status_code, message.body["status"]) == (409, "ERROR")
    assert message.body["response"]["status"] == "ERROR"
    assert message.body["response"]["importCount"] == {
        "imported": 0,
        "updated": 0,
        "ignored": 2,
        "deleted": 0,
    }


def test_dhis2_summary_names_the_completion_it_registered() -> None:
    """``dataSetComplete``: the date of the completion the import registered (the latest of
    several), "false" in a dry run or when nothing was written."""
    done = (
        CompleteRegistration("PRK", "PRK", "surveillance", "2021W38", "default", date(2021, 9, 27)),
        CompleteRegistration("PRK", "PRK", "surveillance", "2021W37", "default", date(2021, 9, 29)),
    )
    ok = replace(
        validate_submission([sv("people_tested", "2021W38", "PRK", "11")], _ctx()), completed=done
    )
    assert dhis2_import_summary(ok)["dataSetComplete"] == "2021-09-29"
    assert dhis2_import_summary(replace(ok, dry_run=True))["dataSetComplete"] == "false"
    aborted = validate_submission([sv("nope", "2021W38", "PRK", "1")], _ctx(), atomic=True)
    assert dhis2_import_summary(replace(aborted, completed=done))["dataSetComplete"] == "false"
    assert (
        dhis2_import_summary(ok, data_set_complete="2021-10-01")["dataSetComplete"] == "2021-10-01"
    )


@pytest.mark.parametrize(
    ("strategy", "outcome", "codes"),
    [
        (ImportStrategy.CREATE_AND_UPDATE, Outcome.CONFLICT, ["REPORT_BAD_VALUE"]),
        (ImportStrategy.DELETE, Outcome.DELETED, []),
    ],
)
def test_an_empty_value_is_a_conflict_except_when_deleting(
    strategy: ImportStrategy, outcome: Outcome, codes: list[str]
) -> None:
    """As in DHIS2 ("Data value or comment not specified"): an empty value not marked deleted
    is refused, unless the import strategy is DELETE, where every value deletes."""
    summary = validate_submission(
        [sv("people_tested", "2021W38", "PRK", "")], _ctx({KEY_A: (10.0, None)}), strategy=strategy
    )
    assert summary.outcomes == (outcome,)
    assert [c.error.code for c in summary.conflicts] == codes
