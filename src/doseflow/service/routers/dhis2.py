"""DHIS2's own ``/api/dataValueSets``, so DHIS2 clients can push to and read from doseflow
unchanged (DHIS2 2.40's Web API; see docs/service.md, "DHIS2-compatible endpoint").

``POST`` takes dataValueSets JSON or ADX and answers DHIS2's import summary (a WebMessage:
200 on SUCCESS, 409 on WARNING or ERROR; the bare ImportSummary under ``/api/<37 or
older>/``); a ``completeDate`` registers the report complete (``dataSetComplete`` in the
answer). ``GET`` answers the stored values as dataValueSets JSON, or ADX (by code unless an
id scheme is given, as DHIS2's ADX) for ``Accept: application/adx+xml``, with the completion
of the report selected. Clients sign in as with
DHIS2, HTTP Basic: the user name and an API token as password (``Bearer`` works too).

Identifiers are those of the DHIS2 mapping stored with ``doseflow report mapping load``:
with one, the default ``idScheme`` is UID, as in DHIS2; without one the service holds no
DHIS2 UIDs, so an import reads either scheme and an export answers by code. A thin layer:
parameters are read by ``doseflow.reporting.dhis2_params``, values submitted and selected by
``doseflow.store``, the summary shaped by ``doseflow.reporting.dhis2_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.reporting.adx import write_adx
from doseflow.reporting.dhis2_json import data_value_set
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdScheme, IdSchemes
from doseflow.reporting.dhis2_params import (
    ADX_TYPES,
    export_query,
    given_schemes,
    import_params,
    media_type,
    read_payload,
    request_schemes,
)
from doseflow.reporting.dhis2_summary import dhis2_web_message
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.registrations import ExchangeDocument
from doseflow.reporting.schema import DEFAULT_SCHEMA
from doseflow.service.auth import Access, authorize
from doseflow.service.context import engine_of
from doseflow.service.errors import ERROR_RESPONSES, ErrorBody
from doseflow.service.routers.reports import hierarchy_of, value_out_of_scope
from doseflow.store.reporting import submit
from doseflow.store.reporting_dhis2 import export_registrations, export_values
from doseflow.store.reporting_ledger import StoreLedger
from doseflow.store.reporting_mapping import stored_mapping

router = APIRouter(tags=["dhis2"], responses=ERROR_RESPONSES)

Submit = Annotated[Access, Depends(authorize("reports.submit"))]
ReadReports = Annotated[Access, Depends(authorize("reports.read"))]
MAX_CONFLICTS = 1000
PATHS = ("/api/dataValueSets", "/api/dataValueSets.json")
VERSIONED = (
    "/api/{api_version:int}/dataValueSets",
    "/api/{api_version:int}/dataValueSets.json",
)


class WebMessageOut(BaseModel):
    """DHIS2's WebMessage around its ImportSummary (``response``)."""

    httpStatus: str
    httpStatusCode: int
    status: str
    message: str
    response: dict[str, Any]


def _api_version(request: Request) -> int | None:
    """The API version of ``/api/<version>/dataValueSets`` (``None`` without one)."""
    found = request.path_params.get("api_version")
    return found if isinstance(found, int) else None


async def raw_body(request: Request) -> bytes:
    return await request.body()


Body = Annotated[bytes, Depends(raw_body)]
BoolQuery = Annotated[bool, Query()]
TextQuery = Annotated[str | None, Query(max_length=100)]
ListQuery = Annotated[list[str], Query(max_length=100)]


@dataclass(frozen=True)
class ServiceMapping:
    """The DHIS2 mapping in force and the id scheme it makes the default."""

    mapping: Dhis2Mapping
    default: IdScheme | None  # None: import reads either scheme (no mapping stored)

    @property
    def export_default(self) -> IdScheme:
        return self.default or IdScheme.CODE


def mapping_of(request: Request) -> ServiceMapping:
    """The mapping stored with ``doseflow report mapping load``: identifiers are UIDs by
    default, as in DHIS2. Without one the service knows no DHIS2 UIDs (but DHIS2's default
    combo): an import recognises either scheme, an export answers by code."""
    stored = stored_mapping(engine_of(request))
    if stored is None:
        return ServiceMapping(Dhis2Mapping(), None)
    return ServiceMapping(stored.mapping, IdScheme.UID)


def _own_values(doc: ExchangeDocument, hierarchy: Hierarchy, access: Access) -> None:
    """A participant may only send its own country's values and completions (the rest is
    refused)."""
    own = access.own_iso3
    if own is None:
        return
    refused = []
    for r in doc.data_sets:
        owner = hierarchy.participant_of(r.org_unit) if r.org_unit else None
        if owner is not None and owner != own:
            refused.append(
                ErrorDetail(
                    "SERVICE_OUT_OF_SCOPE",
                    f"the completion of data set '{r.data_set}' is for {owner}; a participant "
                    f"token for {own} may only complete {own}'s reports",
                    ErrorLocation(source="request body", field="orgUnit"),
                    expected=own,
                    value=owner,
                )
            )
    for index, v in enumerate(doc.values):
        owner = hierarchy.participant_of(v.org_unit)
        if owner is not None and owner != own:
            where = ErrorLocation(source="request body", field=f"dataValues[{index}].orgUnit")
            refused.append(value_out_of_scope(index, owner, own, where))
    if refused:
        raise DoseflowError.from_details(refused)


def post_data_value_sets(
    request: Request,
    access: Submit,
    body: Body,
    dryRun: BoolQuery = False,
    importStrategy: TextQuery = None,
    atomicMode: TextQuery = None,
    idScheme: TextQuery = None,
    dataElementIdScheme: TextQuery = None,
    orgUnitIdScheme: TextQuery = None,
    categoryOptionComboIdScheme: TextQuery = None,
    dataSetIdScheme: TextQuery = None,
    attributeOptionComboIdScheme: TextQuery = None,
    run_async: Annotated[bool, Query(alias="async")] = False,
) -> JSONResponse:
    params = import_params(
        dry_run=dryRun,
        import_strategy=importStrategy,
        atomic_mode=atomicMode,
        run_async=run_async,
        id_schemes={
            "idScheme": idScheme,
            "dataElementIdScheme": dataElementIdScheme,
            "orgUnitIdScheme": orgUnitIdScheme,
            "categoryOptionComboIdScheme": categoryOptionComboIdScheme,
            "dataSetIdScheme": dataSetIdScheme,
            "attributeOptionComboIdScheme": attributeOptionComboIdScheme,
        },
    )
    found = mapping_of(request)
    schemes = params.id_schemes.over(IdSchemes(general=found.default))
    doc = read_payload(
        request.headers.get("content-type"), body, found.mapping, DEFAULT_SCHEMA, id_schemes=schemes
    )
    hierarchy = hierarchy_of(request)
    _own_values(doc, hierarchy, access)
    engine = engine_of(request)
    summary = submit(
        engine,
        doc.values,
        hierarchy=hierarchy,
        dry_run=params.dry_run,
        atomic=params.atomic,
        strategy=params.strategy,
        ledger=StoreLedger(engine),
        stored_by=access.principal.user,
        data_sets=doc.data_sets,
    )
    answer = dhis2_web_message(
        summary,
        api_version=_api_version(request),
        id_schemes=given_schemes(schemes),  # the schemes in force (none: either is read)
        max_conflicts=MAX_CONFLICTS,
    )
    values = doc.values
    access.audit(
        f"{len(values)} values (dataValueSets)",
        dry_run=params.dry_run,
        strategy=params.strategy.value,
        written=len(summary.writes) if summary.written else 0,
        deleted=len(summary.deletes) if summary.written else 0,
        completed=len(summary.completed) if summary.completions_written else 0,
        status=answer.body.get("status"),
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


def get_data_value_sets(
    request: Request,
    access: ReadReports,
    dataSet: ListQuery = [],  # noqa: B006 - FastAPI copies query defaults
    period: ListQuery = [],  # noqa: B006
    startDate: TextQuery = None,
    endDate: TextQuery = None,
    orgUnit: ListQuery = [],  # noqa: B006
    children: BoolQuery = False,
    lastUpdated: TextQuery = None,
    idScheme: TextQuery = None,
    dataElementIdScheme: TextQuery = None,
    orgUnitIdScheme: TextQuery = None,
    categoryOptionComboIdScheme: TextQuery = None,
    dataSetIdScheme: TextQuery = None,
    attributeOptionComboIdScheme: TextQuery = None,
    attributeOptionCombo: ListQuery = [],  # noqa: B006
    limit: TextQuery = None,
    includeDeleted: BoolQuery = False,
) -> Response:
    adx = media_type(request.headers.get("accept")) in ADX_TYPES
    found = mapping_of(request)
    schemes = request_schemes(
        {
            "idScheme": idScheme,
            "dataElementIdScheme": dataElementIdScheme,
            "orgUnitIdScheme": orgUnitIdScheme,
            "categoryOptionComboIdScheme": categoryOptionComboIdScheme,
            "dataSetIdScheme": dataSetIdScheme,
            "attributeOptionComboIdScheme": attributeOptionComboIdScheme,
        }
    )
    query = export_query(
        schema=DEFAULT_SCHEMA,
        hierarchy=hierarchy_of(request),
        mapping=found.mapping,
        data_sets=dataSet,
        periods=period,
        start_date=startDate,
        end_date=endDate,
        org_units=orgUnit,
        children=children,
        last_updated=lastUpdated,
        id_schemes=schemes,
        default_scheme=found.export_default,
        attribute_option_combos=attributeOptionCombo,
        limit=limit,
        include_deleted=includeDeleted,
    )
    engine = engine_of(request)
    values = export_values(engine, query, participant=access.own_iso3)
    done = export_registrations(engine, values, participant=access.own_iso3)
    if adx:
        text = write_adx(  # codes unless asked otherwise, as DHIS2's ADX
            values, found.mapping, DEFAULT_SCHEMA, registrations=done, id_schemes=schemes
        )
        return Response(text, media_type=ADX_TYPES[0])
    doc = data_value_set(
        values,
        found.mapping,
        id_schemes=query.id_schemes,
        data_set=query.data_set,
        registrations=done,
        schema=DEFAULT_SCHEMA,
    )
    return JSONResponse(doc)


POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the import summary (status SUCCESS)"},
    409: {
        "model": WebMessageOut | ErrorBody,
        "description": "the import summary, with conflicts (status WARNING or ERROR); or a "
        "parameter DHIS2 refuses too (REPORT_DHIS2_QUERY_INVALID)",
    },
    415: {"model": ErrorBody, "description": "a body neither JSON nor ADX"},
}
GET_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "dataValueSets JSON, or ADX for Accept: application/adx+xml",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/adx+xml": {"schema": {"type": "string"}},
        },
    },
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"dataValues": {"type": "array", "items": {"type": "object"}}},
                }
            },
            "application/adx+xml": {"schema": {"type": "string"}},
        },
    }
}

for _path in PATHS + VERSIONED:
    _canonical = _path == PATHS[0]
    router.add_api_route(
        _path,
        post_data_value_sets,
        methods=["POST"],
        summary="DHIS2 data value import (dataValueSets JSON or ADX); DHIS2's import summary",
        response_model=WebMessageOut,
        responses=POST_RESPONSES,
        include_in_schema=_canonical,
        openapi_extra=REQUEST_BODY if _canonical else None,
    )
    router.add_api_route(
        _path,
        get_data_value_sets,
        methods=["GET"],
        summary="DHIS2 data value export: stored values as dataValueSets JSON or ADX",
        response_class=Response,
        responses=GET_RESPONSES,
        include_in_schema=_canonical,
    )
