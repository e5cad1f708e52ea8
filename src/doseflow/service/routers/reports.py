"""Reports (submit, dry run, import summary), reporting compliance and plausibility flags,
over ``doseflow.store.reporting``.

The org-unit hierarchy comes from the supply network the ledger knows (each country with a
national store is a participant, its regional and district stores its org units); with no
network recorded, every WPP country is a participant with a national unit only. A
participant token may only submit and read values of its own country.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from doseflow.data.fields import BoundedDate, Code, FreeText, Period, ReportedValue
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_CODE_LENGTH
from doseflow.domain.network import build_network
from doseflow.reporting import (
    ComplianceRow,
    Flag,
    Hierarchy,
    SubmittedValue,
    hierarchy_from_network,
    national_hierarchy,
)
from doseflow.reporting.as_of import checked_as_of
from doseflow.reporting.dhis2_summary import dhis2_import_summary
from doseflow.reporting.registrations import RegistrationRequest
from doseflow.reporting.submission import ImportSummary
from doseflow.service.auth import Access, authorize
from doseflow.service.bodies import WriteBody
from doseflow.service.context import engine_of
from doseflow.service.errors import ERROR_RESPONSES
from doseflow.service.queries import PAGED_RESPONSES, DateQuery, Iso3Query, Page, page_of, paged
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting import compliance_view, plausibility, submit, values_page
from doseflow.store.reporting_hierarchy import stored_hierarchy
from doseflow.store.reporting_ledger import StoreLedger

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=ERROR_RESPONSES)

Submit = Annotated[Access, Depends(authorize("reports.submit"))]
ReadReports = Annotated[Access, Depends(authorize("reports.read"))]
ReadCompliance = Annotated[Access, Depends(authorize("compliance.read"))]
ReadPlausibility = Annotated[Access, Depends(authorize("plausibility.read"))]

MAX_VALUES = 200_000
#: One header per check that could not run, with the reason (e.g. no neighbours named).
NOTES_HEADER = "X-Doseflow-Note"


class ValueIn(WriteBody):
    """One reported value, as in a DHIS2 data value set (``value`` may be text: it is
    checked against the data element's type)."""

    data_element: Code
    period: Period = Field(description="2021W23, 202106, 2021Q2")
    org_unit: Code
    value: ReportedValue
    category: Code | None = None
    attribute: Code | None = Field(
        default=None, description="attribute option combo key (default: 'default')"
    )
    participant: str | None = Field(default=None, max_length=3)
    comment: FreeText | None = None


class SubmissionIn(WriteBody):
    values: list[ValueIn] = Field(max_length=MAX_VALUES)
    atomic: bool = Field(
        default=False, description="all or nothing: write nothing if any value conflicts"
    )
    as_of: BoundedDate | None = Field(
        default=None,
        description="which periods are open (default: the server's today; an earlier day "
        "checks more strictly, a later one is refused)",
    )


class ImportSummaryOut(BaseModel):
    """Outcome counts, conflicts and warnings (each with its stable code and the value's
    index in the submission), and how many values were written."""

    status: str
    dry_run: bool
    atomic: bool
    counts: dict[str, int]
    written: int
    completed: int = 0
    deleted: int = 0
    import_strategy: str = "CREATE_AND_UPDATE"
    conflicts: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    truncated: bool


class Dhis2SummaryOut(BaseModel):
    """The same summary in DHIS2's shape (``summary_format=dhis2``): DHIS2 2.40's
    ImportSummary, as ``POST /api/dataValueSets`` answers it inside its WebMessage."""

    responseType: str
    status: str
    importOptions: dict[str, Any]
    description: str
    importCount: dict[str, int]
    conflicts: list[dict[str, Any]]
    rejectedIndexes: list[int]
    dataSetComplete: str


SummaryFormat = Annotated[
    Literal["doseflow", "dhis2"],
    Query(description="doseflow (default) or dhis2: DHIS2's ImportSummary"),
]


class ValueOut(BaseModel):
    participant: str
    org_unit: str
    period: str
    data_element: str
    category: str
    attribute: str
    value: float
    comment: str | None


class FlagOut(BaseModel):
    method: str
    participant: str
    org_unit: str
    data_element: str
    first_period: str
    last_period: str
    strength: str
    score: float
    explanation: str
    figures: dict[str, float]


class ComplianceOut(BaseModel):
    participant: str
    report: str
    period: str
    due: date
    submitted_at: str | None
    status: str
    days_late: int
    basis: str = Field(
        description="what submitted_at rests on: registration (marked complete), values "
        "(first values stored, not marked complete) or none"
    )
    time_zone: str = "UTC"  # the participant's zone: due is a day there
    due_by: str | None = None  # the instant (UTC) after which the report is late


def hierarchy_of(request: Request) -> Hierarchy:
    """The hierarchy stored with ``doseflow report hierarchy load``, else org units from the
    ledger's network, else every country at national level."""
    stored = stored_hierarchy(engine_of(request))
    if stored is not None:
        return stored.hierarchy
    nodes = LedgerStore(engine_of(request)).nodes()
    if any(n.country for n in nodes.values()):
        return hierarchy_from_network(build_network(nodes.values()))
    return national_hierarchy()


def _submitted(body: SubmissionIn) -> list[SubmittedValue]:
    """The values as sent (the participant filled in by :func:`submit_values`)."""
    out: list[SubmittedValue] = []
    for v in body.values:
        kwargs: dict[str, Any] = {}
        if v.category is not None:
            kwargs["category"] = v.category
        if v.attribute is not None:
            kwargs["attribute"] = v.attribute
        out.append(
            SubmittedValue(
                data_element=v.data_element,
                period=v.period,
                org_unit=v.org_unit,
                value=v.value,
                participant=v.participant.upper() if v.participant else None,
                comment=v.comment,
                **kwargs,
            )
        )
    return out


def value_out_of_scope(index: int, owner: str, own: str, where: ErrorLocation) -> ErrorDetail:
    """Value ``index`` belongs to ``owner``, not to the participant ``own`` sending it (the
    same refusal for doseflow's reports and DHIS2's dataValueSets, located as each reads)."""
    return ErrorDetail(
        "SERVICE_OUT_OF_SCOPE",
        f"value {index} is for {owner}; a participant token for {own} may only "
        f"report {own}'s values",
        where,
        expected=own,
        value=owner,
    )


def check_scope(values: Sequence[SubmittedValue], hierarchy: Hierarchy, access: Access) -> None:
    """A participant may only send its own country's values (``SERVICE_OUT_OF_SCOPE``)."""
    own = access.own_iso3
    if own is None:
        return
    refused: list[ErrorDetail] = []
    for index, v in enumerate(values):
        owner = v.participant or hierarchy.participant_of(v.org_unit)
        if owner is not None and owner != own:
            where = ErrorLocation(source="request body", line=index, field="participant")
            refused.append(value_out_of_scope(index, owner, own, where))
    if refused:
        raise DoseflowError.from_details(refused)


def submit_values(
    request: Request,
    values: Sequence[SubmittedValue],
    access: Access,
    *,
    dry_run: bool,
    atomic: bool,
    as_of: date | None = None,
    data_sets: Sequence[RegistrationRequest] = (),
) -> ImportSummary:
    """The one way the service takes reported values, from the API or the dashboard's data
    entry form: scope checked, then the store's submission (with the ledger cross-checks)
    into an import summary, and the audit entry saying what was written."""
    hierarchy = hierarchy_of(request)
    check_scope(values, hierarchy, access)
    own = access.own_iso3
    if own is not None:  # a participant's values are its own country's
        values = [v if v.participant else replace(v, participant=own) for v in values]
    engine = engine_of(request)
    summary = submit(
        engine,
        values,
        hierarchy=hierarchy,
        as_of=checked_as_of(as_of, datetime.now(UTC)),
        dry_run=dry_run,
        atomic=atomic,
        ledger=StoreLedger(engine),
        stored_by=access.principal.user,
        data_sets=data_sets,
    )
    written = summary.to_dict(max_items=0)
    access.audit(
        f"{len(values)} values",
        dry_run=dry_run,
        written=written["written"],
        status=written["status"],
    )
    return summary


def _submit(
    request: Request, body: SubmissionIn, access: Access, dry_run: bool, summary_format: str
) -> ImportSummaryOut | Dhis2SummaryOut:
    values = _submitted(body)
    summary = submit_values(
        request, values, access, dry_run=dry_run, atomic=body.atomic, as_of=body.as_of
    )
    if summary_format == "dhis2":
        return Dhis2SummaryOut(**dhis2_import_summary(summary, max_conflicts=1000))
    return ImportSummaryOut(**summary.to_dict(max_items=1000))


@router.post("", summary="Submit reported values; the answer is the import summary")
def post_report(
    request: Request, body: SubmissionIn, access: Submit, summary_format: SummaryFormat = "doseflow"
) -> ImportSummaryOut | Dhis2SummaryOut:
    return _submit(request, body, access, dry_run=False, summary_format=summary_format)


@router.post("/dry-run", summary="Check values without storing them (the same summary)")
def post_dry_run(
    request: Request, body: SubmissionIn, access: Submit, summary_format: SummaryFormat = "doseflow"
) -> ImportSummaryOut | Dhis2SummaryOut:
    return _submit(request, body, access, dry_run=True, summary_format=summary_format)


@router.get(
    "/values", summary="Stored report values (paged by the database)", responses=PAGED_RESPONSES
)
def get_values(
    request: Request,
    response: Response,
    access: ReadReports,
    page: Page,
    iso3: Iso3Query = None,
    period: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    data_element: Annotated[str | None, Query(min_length=1, max_length=MAX_CODE_LENGTH)] = None,
) -> list[ValueOut]:
    country = access.scoped(iso3)
    values, total = values_page(
        engine_of(request),
        limit=page.limit,
        offset=page.offset,
        participants=[country] if country else None,
        periods=[period] if period else None,
        data_elements=[data_element] if data_element else None,
    )
    rows = [
        ValueOut(
            participant=v.participant,
            org_unit=v.org_unit,
            period=v.period,
            data_element=v.data_element,
            category=v.category,
            attribute=v.attribute,
            value=v.value,
            comment=v.comment,
        )
        for v in values
    ]
    return paged(request, response, page, rows, total)


@router.get(
    "/compliance",
    summary="Reporting compliance: on time, late, missing, not yet due (paged)",
    responses=PAGED_RESPONSES,
)
def get_compliance(
    request: Request,
    response: Response,
    access: ReadCompliance,
    page: Page,
    iso3: Iso3Query = None,
    as_of: DateQuery = None,
) -> list[ComplianceOut]:
    rows: list[ComplianceRow] = compliance_view(
        engine_of(request),
        as_of=as_of,
        participant=access.scoped(iso3),
        zones=hierarchy_of(request).participant_zones(),  # the CLI's zones, as it reads them
    )
    out = [
        ComplianceOut(
            participant=r.participant,
            report=r.report,
            period=r.period.code,
            due=r.due,
            submitted_at=r.submitted_at.isoformat() if r.submitted_at else None,
            status=r.status.value,
            days_late=r.days_late,
            basis=r.basis.value,
            time_zone=r.time_zone,
            due_by=r.due_by.isoformat(),
        )
        for r in rows
    ]
    return page_of(request, response, page, out)


@router.get(
    "/plausibility",
    summary="Plausibility flags over stored values, with reasons (paged)",
    responses=PAGED_RESPONSES,
)
def get_plausibility(
    request: Request,
    response: Response,
    access: ReadPlausibility,
    page: Page,
    iso3: Iso3Query = None,
    start: DateQuery = None,
    end: DateQuery = None,
) -> list[FlagOut]:
    country = access.scoped(iso3)
    report = plausibility(
        engine_of(request),
        hierarchy_of(request),
        participants=[country] if country else None,
        start=start,
        end=end,
    )
    for note in report.notes:
        response.headers.append(NOTES_HEADER, note)
    flags: tuple[Flag, ...] = report.flags
    out = [
        FlagOut(
            method=f.method.value,
            participant=f.participant,
            org_unit=f.org_unit,
            data_element=f.data_element,
            first_period=f.first_period,
            last_period=f.last_period,
            strength=f.strength.value,
            score=f.score,
            explanation=f.explanation,
            figures=dict(f.figures),
        )
        for f in flags
    ]
    return page_of(request, response, page, out)
