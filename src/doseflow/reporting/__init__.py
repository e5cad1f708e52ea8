"""Reporting engine: report schema, submission validation into an import summary, ledger
cross-checks, compliance and readiness gate, plausibility flags, DHIS2 / ADX / FHIR exchange
and CSV / Excel data-entry templates. Pure: persistence lives in ``doseflow.store.reporting``.

The names below are the public API (see ``docs/reporting.md``).
"""

import importlib
from typing import TYPE_CHECKING, Any

from doseflow.reporting.adx import read_adx, read_adx_document, write_adx
from doseflow.reporting.compliance import (
    ComplianceBasis,
    ComplianceRow,
    ComplianceStatus,
    GatePolicy,
    GateResult,
    Requirement,
    compliance,
    readiness_gate,
)
from doseflow.reporting.crosscheck import LedgerFigures, LedgerPosition, ledger_needs
from doseflow.reporting.dhis2_json import (
    data_value_set,
    read_data_value_set,
    read_data_value_set_document,
    write_data_value_set,
)
from doseflow.reporting.dhis2_mapping import (
    Dhis2Mapping,
    IdKind,
    IdScheme,
    IdSchemes,
    load_mapping,
)
from doseflow.reporting.hierarchy import (
    Hierarchy,
    OrgUnit,
    build_hierarchy,
    hierarchy_from_network,
    national_hierarchy,
)
from doseflow.reporting.hierarchy_file import load_hierarchy
from doseflow.reporting.locks import LockAction, LockEvent, PeriodLock
from doseflow.reporting.periods import Period, PeriodType, parse_period, period_of, periods_between
from doseflow.reporting.plausibility import (
    Flag,
    Method,
    PlausibilityOptions,
    PlausibilityReport,
    Strength,
    check_plausibility,
    plausibility_flags,
)
from doseflow.reporting.registrations import (
    CompleteRegistration,
    ExchangeDocument,
    RegistrationRequest,
    check_registrations,
)
from doseflow.reporting.requirements_file import load_requirements, make_requirement
from doseflow.reporting.schema import (
    DEFAULT_SCHEMA,
    Category,
    DataElement,
    ReportType,
    Role,
    Schema,
    ValueType,
)
from doseflow.reporting.schema_file import load_schema
from doseflow.reporting.submission import (
    Conflict,
    ImportSummary,
    Outcome,
    SubmissionContext,
    SummaryStatus,
    validate_submission,
)
from doseflow.reporting.values import DataValue, Origin, SubmittedValue, ValueKey

if TYPE_CHECKING:
    from doseflow.reporting.fhir_export import (
        MEDIA_TYPE,
        ShipmentRecord,
        bundle,
        bundle_json,
        measure_reports,
        supply_deliveries,
    )
    from doseflow.reporting.templates import (
        read_template,
        template_rows,
        write_csv_template,
        write_excel_template,
    )

#: Names whose modules import heavy libraries (fhir.resources, openpyxl): imported on first
#: use, so that importing the engine (and ``doseflow report --help``) stays light.
_LAZY = {
    **dict.fromkeys(
        (
            "MEDIA_TYPE",
            "ShipmentRecord",
            "bundle",
            "bundle_json",
            "measure_reports",
            "supply_deliveries",
        ),
        "doseflow.reporting.fhir_export",
    ),
    **dict.fromkeys(
        ("read_template", "template_rows", "write_csv_template", "write_excel_template"),
        "doseflow.reporting.templates",
    ),
}


def __getattr__(name: str) -> Any:
    """The heavy names of ``__all__``, imported when first asked for (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_SCHEMA",
    "MEDIA_TYPE",
    "Category",
    "CompleteRegistration",
    "ComplianceBasis",
    "ComplianceRow",
    "ComplianceStatus",
    "Conflict",
    "DataElement",
    "DataValue",
    "Dhis2Mapping",
    "ExchangeDocument",
    "Flag",
    "GatePolicy",
    "GateResult",
    "Hierarchy",
    "IdKind",
    "IdScheme",
    "IdSchemes",
    "ImportSummary",
    "LedgerFigures",
    "LedgerPosition",
    "LockAction",
    "LockEvent",
    "Method",
    "OrgUnit",
    "Origin",
    "Outcome",
    "Period",
    "PeriodLock",
    "PeriodType",
    "PlausibilityOptions",
    "PlausibilityReport",
    "RegistrationRequest",
    "ReportType",
    "Requirement",
    "Role",
    "Schema",
    "ShipmentRecord",
    "Strength",
    "SubmissionContext",
    "SubmittedValue",
    "SummaryStatus",
    "ValueKey",
    "ValueType",
    "build_hierarchy",
    "bundle",
    "bundle_json",
    "check_plausibility",
    "check_registrations",
    "compliance",
    "data_value_set",
    "hierarchy_from_network",
    "ledger_needs",
    "load_hierarchy",
    "load_mapping",
    "load_requirements",
    "load_schema",
    "make_requirement",
    "measure_reports",
    "national_hierarchy",
    "parse_period",
    "period_of",
    "periods_between",
    "plausibility_flags",
    "read_adx",
    "read_adx_document",
    "read_data_value_set",
    "read_data_value_set_document",
    "read_template",
    "readiness_gate",
    "supply_deliveries",
    "template_rows",
    "validate_submission",
    "write_adx",
    "write_csv_template",
    "write_data_value_set",
    "write_excel_template",
]
