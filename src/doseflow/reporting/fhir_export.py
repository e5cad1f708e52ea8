"""FHIR R4 export: aggregates as ``MeasureReport``, shipments as ``SupplyDelivery``.

Resources are built and validated with the ``fhir.resources`` library. Its version 8 holds
FHIR R5 at the top level and R4B (4.3.0) in ``fhir.resources.R4B``; there is no R4 (4.0.1)
package. R4B is the R4 family's technical correction release: MeasureReport and
SupplyDelivery are structurally identical to R4, so R4 servers accept what is built here.

* one ``MeasureReport`` (type ``summary``) per participant, org unit, period and report
  type; one ``group`` per data element (``group.code`` = the element), its total in
  ``measureScore``; disaggregated elements add a ``stratifier`` whose strata carry one
  component per category (dose, priority group, reason);
* one ``SupplyDelivery`` per shipment: the product, the quantity in doses, the supplier,
  the destination and when it arrived (or is due).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.measurereport import (
    MeasureReport,
    MeasureReportGroup,
    MeasureReportGroupStratifier,
    MeasureReportGroupStratifierStratum,
    MeasureReportGroupStratifierStratumComponent,
)
from fhir.resources.R4B.period import Period as FhirPeriod
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.supplydelivery import SupplyDelivery, SupplyDeliverySuppliedItem

from doseflow.reporting.periods import parse_period
from doseflow.reporting.schema import Schema, parse_category_key
from doseflow.reporting.values import DataValue

FHIR_VERSION = "4.3.0 (R4B, via fhir.resources.R4B)"
DEFAULT_BASE = "https://doseflow.org/fhir"
SYSTEM_ELEMENT = "https://doseflow.org/fhir/CodeSystem/data-element"
SYSTEM_CATEGORY = "https://doseflow.org/fhir/CodeSystem/category"
SYSTEM_ORG_UNIT = "https://doseflow.org/fhir/NamingSystem/org-unit"
SYSTEM_PARTICIPANT = "urn:iso:std:iso:3166"
SYSTEM_PRODUCT = "https://doseflow.org/fhir/CodeSystem/product"
SYSTEM_SHIPMENT = "https://doseflow.org/fhir/NamingSystem/shipment"
UCUM = "http://unitsofmeasure.org"


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(
        coding=[Coding(system=system, code=code, display=display)], text=display or code
    )


def _safe_id(*parts: str) -> str:
    raw = "-".join(parts)
    cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in raw)
    return cleaned[:64]


def measure_reports(
    values: Iterable[DataValue],
    schema: Schema,
    *,
    base_url: str = DEFAULT_BASE,
    generated: datetime | None = None,
) -> list[MeasureReport]:
    """One validated MeasureReport per participant, org unit, period and report type."""
    when = (generated or datetime.now(UTC)).replace(microsecond=0)
    groups: dict[tuple[str, str, str, str], list[DataValue]] = {}
    for v in values:
        element = schema.elements.get(v.data_element)
        report = element.report if element is not None else "other"
        groups.setdefault((v.participant, v.org_unit, v.period, report), []).append(v)
    reports: list[MeasureReport] = []
    for (participant, org_unit, period_code, report), members in sorted(groups.items()):
        period = parse_period(period_code)
        by_element: dict[str, list[DataValue]] = {}
        for v in members:
            by_element.setdefault(v.data_element, []).append(v)
        fhir_groups = []
        for code, vals in sorted(by_element.items()):
            element = schema.elements.get(code)
            total = sum(v.value for v in vals)
            group: dict[str, Any] = {
                "code": _concept(SYSTEM_ELEMENT, code, element.name if element else None),
                "measureScore": Quantity(value=total, unit="count", system=UCUM, code="1"),
            }
            if element is not None and element.categories:
                strata = []
                by_key: dict[str, float] = {}  # attribute option combos summed
                for v in vals:
                    by_key[v.category] = by_key.get(v.category, 0.0) + v.value
                for category, score in sorted(by_key.items()):
                    options = parse_category_key(category)
                    strata.append(
                        MeasureReportGroupStratifierStratum(
                            component=[
                                MeasureReportGroupStratifierStratumComponent(
                                    code=_concept(SYSTEM_CATEGORY, cat),
                                    value=_concept(f"{SYSTEM_CATEGORY}/{cat}", opt),
                                )
                                for cat, opt in options.items()
                            ],
                            measureScore=Quantity(value=score, unit="count", system=UCUM, code="1"),
                        )
                    )
                group["stratifier"] = [
                    MeasureReportGroupStratifier(
                        code=[_concept(SYSTEM_CATEGORY, c) for c in element.categories],
                        stratum=strata,
                    )
                ]
            fhir_groups.append(MeasureReportGroup(**group))
        reports.append(
            MeasureReport(
                id=_safe_id(report, org_unit, period.code),
                status="complete",
                type="summary",
                measure=f"{base_url}/Measure/{report}",
                subject=Reference(
                    identifier=Identifier(system=SYSTEM_ORG_UNIT, value=org_unit),
                    display=org_unit,
                ),
                reporter=Reference(
                    identifier=Identifier(system=SYSTEM_PARTICIPANT, value=participant),
                    display=participant,
                ),
                date=when,
                period=FhirPeriod(start=period.start, end=period.end),
                group=fhir_groups,
            )
        )
    return reports


@dataclass(frozen=True)
class ShipmentRecord:
    """A shipment as the FHIR export needs it (the ledger adapter builds these)."""

    shipment_id: str
    product_code: str
    doses: int
    supplier: str
    destination: str
    status: str  # in-progress | completed | abandoned | entered-in-error
    occurred: date | None = None
    product_name: str | None = None


def supply_deliveries(
    shipments: Sequence[ShipmentRecord], *, base_url: str = DEFAULT_BASE
) -> list[SupplyDelivery]:
    """One validated SupplyDelivery per shipment."""
    found: list[SupplyDelivery] = []
    for s in shipments:
        item = SupplyDeliverySuppliedItem(
            quantity=Quantity(value=s.doses, unit="dose", system=UCUM, code="{dose}"),
            itemCodeableConcept=_concept(SYSTEM_PRODUCT, s.product_code, s.product_name),
        )
        fields: dict[str, Any] = {
            "id": _safe_id("shipment", s.shipment_id),
            "identifier": [Identifier(system=SYSTEM_SHIPMENT, value=s.shipment_id)],
            "status": s.status,
            "suppliedItem": item,
            "supplier": Reference(display=s.supplier),
            "destination": Reference(
                identifier=Identifier(system=SYSTEM_ORG_UNIT, value=s.destination),
                display=s.destination,
            ),
        }
        if s.occurred is not None:
            fields["occurrenceDateTime"] = s.occurred
        found.append(SupplyDelivery(**fields))
    return found


def bundle(resources: Sequence[MeasureReport | SupplyDelivery]) -> Bundle:
    """A ``collection`` Bundle holding ``resources``."""
    return Bundle(
        type="collection",
        timestamp=datetime.now(UTC).replace(microsecond=0),
        entry=[BundleEntry(resource=r) for r in resources],
    )


def bundle_json(resources: Sequence[MeasureReport | SupplyDelivery]) -> str:
    return str(bundle(resources).model_dump_json(indent=2))
