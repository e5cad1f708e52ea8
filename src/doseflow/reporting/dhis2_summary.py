"""The import summary in DHIS2's own shape, as ``POST /api/dataValueSets`` answers it.

Followed: DHIS2 2.40 (the same shape from 2.38 to 2.41). Since 2.38 the ``ImportSummary`` is
wrapped in a ``WebMessage``::

    {"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
     "message": "One more conflicts encountered, please check import summary.",
     "response": {"responseType": "ImportSummary", "status": "WARNING",
                  "importOptions": {...}, "description": "...",
                  "importCount": {"imported": 1, "updated": 0, "ignored": 2, "deleted": 0},
                  "conflicts": [{"object": "X", "objects": {"dataElement": "X"},
                                 "value": "...", "errorCode": "...",
                                 "property": "dataElement", "indexes": [1]}],
                  "rejectedIndexes": [1], "dataSetComplete": "false"}}

The HTTP status is 200 when the import status is SUCCESS and 409 when it is WARNING or ERROR
(DHIS2's ``WebMessageUtils.importSummary``). API versions before 38 answer the bare
``ImportSummary`` with 200. Doseflow's outcomes map onto DHIS2's counts: ``accepted`` is
``imported``; ``ignored`` counts, as in DHIS2, every value neither imported, updated nor
deleted, so conflicts too; ``errorCode`` is doseflow's stable code (``REPORT_...``), not a
DHIS2 ``E76xx`` code. Doseflow's warnings (stock differing from the ledger) are not DHIS2
conflicts: they are counted in the description and leave the status SUCCESS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from doseflow.domain.errors import ErrorDetail
from doseflow.reporting.submission import ImportSummary, Outcome, SummaryStatus

#: DHIS2's field names for the fields doseflow locates its problems in.
PROPERTIES: dict[str, str] = {
    "data_element": "dataElement",
    "period": "period",
    "org_unit": "orgUnit",
    "participant": "orgUnit",
    "category": "categoryOptionCombo",
    "value": "value",
    "comment": "comment",
}
#: What DHIS2 calls the object of a conflict on each property (the ``objects`` key).
OBJECT_TYPES: dict[str, str] = {
    "dataElement": "dataElement",
    "period": "period",
    "orgUnit": "organisationUnit",
    "categoryOptionCombo": "categoryOptionCombo",
}
#: The first API version that wraps the summary in a WebMessage.
WEB_MESSAGE_SINCE = 38


def _options(summary: ImportSummary, id_schemes: dict[str, str] | None) -> dict[str, Any]:
    """DHIS2's ``importOptions`` as 2.40 lists them; doseflow's values where it has any."""
    return {
        "idSchemes": dict(id_schemes or {}),
        "dryRun": summary.dry_run,
        "preheatCache": False,
        "async": False,
        "importStrategy": summary.strategy.value,
        "mergeMode": "REPLACE",
        "reportMode": "FULL",
        "skipExistingCheck": False,
        "sharing": False,
        "skipNotifications": False,
        "skipAudit": False,
        "datasetAllowsPeriods": False,
        "strictPeriods": False,
        "strictDataElements": False,
        "strictCategoryOptionCombos": False,
        "strictAttributeOptionCombos": False,
        "strictOrganisationUnits": False,
        "strictDataSetApproval": False,
        "strictDataSetLocking": False,
        "strictDataSetInputPeriods": False,
        "requireCategoryOptionCombo": False,
        "requireAttributeOptionCombo": False,
        "skipPatternValidation": False,
        "ignoreEmptyCollection": False,
        "force": False,
        "firstRowIsHeader": True,
        "skipLastUpdated": False,
        "mergeDataValues": False,
        "skipCache": False,
    }


def _status(summary: ImportSummary) -> str:
    if summary.status is SummaryStatus.ERROR:
        return "ERROR"
    return "WARNING" if summary.conflicts else "SUCCESS"


def _counts(summary: ImportSummary) -> dict[str, int]:
    total = len(summary.outcomes)
    if summary.atomic and summary.conflicts:  # nothing was (or would be) written
        return {"imported": 0, "updated": 0, "ignored": total, "deleted": 0}
    imported = summary.count(Outcome.ACCEPTED)
    updated = summary.count(Outcome.UPDATED)
    deleted = summary.count(Outcome.DELETED)
    return {
        "imported": imported,
        "updated": updated,
        "ignored": total - imported - updated - deleted,
        "deleted": deleted,
    }


def _conflict(index: int, error: ErrorDetail) -> dict[str, Any]:
    """One conflict as DHIS2 2.40 writes it: the offending identifier or value (``object``,
    ``objects``), the message (``value``), the code, DHIS2's field name and the index."""
    fld = error.location.field
    prop = PROPERTIES.get(fld or "", fld or "value")
    value = error.value
    obj = "" if value is None else str(value)
    conflict: dict[str, Any] = {"object": obj}
    kind = OBJECT_TYPES.get(prop)
    if kind is not None:
        conflict["objects"] = {kind: obj}
    conflict["value"] = error.message
    conflict["errorCode"] = error.code
    conflict["property"] = prop
    conflict["indexes"] = [index]
    return conflict


def _description(summary: ImportSummary) -> str:
    if summary.atomic and summary.conflicts:
        return "Import was aborted: a value conflicted and the import is atomic (nothing written)"
    text = "Import process completed successfully"
    if summary.warnings:
        text += f"; {len(summary.warnings)} warning(s): " + "; ".join(
            w.error.message for w in summary.warnings[:5]
        )
    return text


def dhis2_import_summary(
    summary: ImportSummary,
    *,
    id_schemes: dict[str, str] | None = None,
    data_set_complete: str | None = None,
    max_conflicts: int | None = None,
) -> dict[str, Any]:
    """DHIS2's ``ImportSummary`` for ``summary`` (see the module docstring).
    ``data_set_complete`` is the completion date when the import completed a data set;
    by default the completion the import registered (:func:`registered_completion`)."""
    conflicts = summary.conflicts
    if max_conflicts is not None:
        conflicts = conflicts[:max_conflicts]
    return {
        "responseType": "ImportSummary",
        "status": _status(summary),
        "importOptions": _options(summary, id_schemes),
        "description": _description(summary),
        "importCount": _counts(summary),
        "conflicts": [_conflict(c.index, c.error) for c in conflicts],
        "rejectedIndexes": sorted(c.index for c in summary.conflicts),
        "dataSetComplete": data_set_complete or registered_completion(summary) or "false",
    }


def registered_completion(summary: ImportSummary) -> str | None:
    """DHIS2's ``dataSetComplete``: the date (``2021-09-27``) of the completion the import
    registered (the latest, when an ADX file registers several); None when it registered
    none (no ``completeDate``, a dry run, or an import aborted with nothing written)."""
    if not summary.completed or not summary.completions_written:
        return None
    return max(r.completed for r in summary.completed).isoformat()


@dataclass(frozen=True)
class Dhis2Answer:
    """What DHIS2 answers: the HTTP status and the JSON body."""

    status_code: int
    body: dict[str, Any]


_MESSAGES = {
    "ERROR": ("Conflict", 409, "ERROR", "An error occurred, please check import summary."),
    "WARNING": (
        "Conflict",
        409,
        "WARNING",
        "One more conflicts encountered, please check import summary.",
    ),
    "SUCCESS": ("OK", 200, "OK", "Import was successful."),
}


def dhis2_web_message(
    summary: ImportSummary,
    *,
    api_version: int | None = None,
    id_schemes: dict[str, str] | None = None,
    data_set_complete: str | None = None,
    max_conflicts: int | None = None,
) -> Dhis2Answer:
    """The full answer of ``POST /api/[<version>/]dataValueSets``: the ``WebMessage``
    (200 or 409) or, for ``api_version`` below 38, the bare summary with 200."""
    body = dhis2_import_summary(
        summary,
        id_schemes=id_schemes,
        data_set_complete=data_set_complete,
        max_conflicts=max_conflicts,
    )
    if api_version is not None and api_version < WEB_MESSAGE_SINCE:
        return Dhis2Answer(200, body)
    http_status, code, status, message = _MESSAGES[body["status"]]
    return Dhis2Answer(
        code,
        {
            "httpStatus": http_status,
            "httpStatusCode": code,
            "status": status,
            "message": message,
            "response": body,
        },
    )
