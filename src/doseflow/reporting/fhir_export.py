"""FHIR R4 export: aggregates as ``MeasureReport``, shipments as ``SupplyDelivery``, in a
``collection`` or ``transaction`` Bundle whose entries reference each other.

Resources are built and validated with the ``fhir.resources`` library. Its version 8 holds
FHIR R5 at the top level and R4B (4.3.0) in ``fhir.resources.R4B``; there is no R4 (4.0.1)
package. R4B is the R4 family's technical correction release and MeasureReport,
SupplyDelivery, Organization, Location and Bundle are structurally the same as in R4; the
tests also validate every exported Bundle against the official R4 (4.0.1) JSON schema, so
what R4B would accept but R4 would not is caught there.

**Declaring the version.** An R4 resource carries no FHIR version element (``meta.profile``
names profiles, not releases, and no standard ``meta.tag`` exists for it). R4 declares the
version where the content is exchanged: the ``fhirVersion`` parameter of the FHIR media type
(:data:`MEDIA_TYPE`, ``application/fhir+json; fhirVersion=4.0``, FHIR R4 "Managing Multiple
FHIR Versions"), which a client sends as ``Content-Type`` when it POSTs the Bundle, and
``CapabilityStatement.fhirVersion`` on a server. doseflow writes files, so the version is
stated by :data:`MEDIA_TYPE` (printed by the CLI and documented).

* one ``MeasureReport`` (type ``summary``) per participant, org unit, period and report
  type; one ``group`` per data element (``group.code`` = the element), its total in
  ``measureScore``; disaggregated elements add a ``stratifier`` whose strata carry one
  component per category (dose, priority group, reason). ``subject`` references the org
  unit's ``Location``, ``reporter`` the participant's ``Organization`` (both in the Bundle);
* one ``SupplyDelivery`` per shipment: the product (CVX and GTIN where known, doseflow's
  own code as a second coding), the quantity in doses, ``supplier`` (the origin node's
  ``Organization``), ``destination`` (the destination node's ``Location``) and when it
  arrived or is due: a day, or a month (``2021-08``) when the source only knows the month.

Every entry has a ``fullUrl``: ``urn:uuid:`` with a UUID derived from the resource type and
id (the same export gives the same UUIDs), or ``<base_url>/<Type>/<id>`` when a server base
URL is given; references are those fullUrls, so they resolve inside the Bundle.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.address import Address
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.measurereport import (
    MeasureReport,
    MeasureReportGroup,
    MeasureReportGroupStratifier,
    MeasureReportGroupStratifierStratum,
    MeasureReportGroupStratifierStratumComponent,
)
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.period import Period as FhirPeriod
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.supplydelivery import SupplyDelivery, SupplyDeliverySuppliedItem

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Node
from doseflow.domain.product import ProductCodes
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.periods import parse_period
from doseflow.reporting.schema import Schema, parse_category_key
from doseflow.reporting.values import DataValue

#: The FHIR release the export conforms to (tested against the R4 4.0.1 JSON schema).
FHIR_VERSION = "4.0.1"
#: The media type to send an export with: R4's way of declaring the FHIR version.
MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"
#: Canonical URLs of doseflow's measures (one per report type): identifiers, not a server.
MEASURE_BASE = "https://doseflow.org/fhir/Measure"
SYSTEM_ELEMENT = "https://doseflow.org/fhir/CodeSystem/data-element"
SYSTEM_CATEGORY = "https://doseflow.org/fhir/CodeSystem/category"
SYSTEM_ORG_UNIT = "https://doseflow.org/fhir/NamingSystem/org-unit"
SYSTEM_NODE = "https://doseflow.org/fhir/NamingSystem/node"
SYSTEM_MEASURE_REPORT = "https://doseflow.org/fhir/NamingSystem/measure-report"
SYSTEM_PARTICIPANT = "urn:iso:std:iso:3166"
SYSTEM_PRODUCT = "https://doseflow.org/fhir/CodeSystem/product"
SYSTEM_SHIPMENT = "https://doseflow.org/fhir/NamingSystem/shipment"
SYSTEM_CVX = "http://hl7.org/fhir/sid/cvx"
SYSTEM_GTIN = "https://www.gs1.org/gtin"
UCUM = "http://unitsofmeasure.org"
#: Namespace of the entries' name-based (version 5) UUIDs.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://doseflow.org/fhir")

#: Bundle types doseflow writes, and the methods of a transaction's entries.
BUNDLE_TYPES = ("collection", "transaction")
METHODS = ("PUT", "POST")


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(
        coding=[Coding(system=system, code=code, display=display)], text=display or code
    )


def _safe_id(*parts: str) -> str:
    """A FHIR id (``[A-Za-z0-9-.]{1,64}``) for ``parts``. When characters had to be
    replaced or the id cut, a hash of the original keeps two ids apart that would
    otherwise read the same (``A:B`` and ``A-B``; two long UNICEF shipment ids)."""
    raw = "-".join(parts)
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-.") else "-" for c in raw)
    if cleaned == raw and len(raw) <= 64:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
    return f"{cleaned[:53]}-{digest}"


def full_url(resource_type: str, resource_id: str, base_url: str | None = None) -> str:
    """The entry's fullUrl: ``<base_url>/<Type>/<id>``, or a ``urn:uuid:`` derived from
    type and id (so the same resource gets the same fullUrl in every export)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{resource_type}/{resource_id}"
    return f"urn:uuid:{uuid.uuid5(UUID_NAMESPACE, f'{resource_type}/{resource_id}')}"


def _ref(resource: Resource, base_url: str | None, display: str | None = None) -> Reference:
    return Reference(
        reference=full_url(resource.get_resource_type(), str(resource.id), base_url),
        display=display,
    )


def participant_organization(iso3: str, name: str | None = None) -> Organization:
    """The participant (a country, by its ISO 3166 alpha-3 code) as an Organization."""
    return Organization(
        id=_safe_id("participant", iso3),
        identifier=[Identifier(system=SYSTEM_PARTICIPANT, value=iso3)],
        active=True,
        name=name or iso3,
    )


def org_unit_location(
    code: str, name: str | None, managing: Organization | None, base_url: str | None
) -> Location:
    fields: dict[str, Any] = {
        "id": _safe_id("org-unit", code),
        "identifier": [Identifier(system=SYSTEM_ORG_UNIT, value=code)],
        "status": "active",
        "mode": "instance",
        "name": name or code,
    }
    if managing is not None:
        fields["managingOrganization"] = _ref(managing, base_url)
    return Location(**fields)


def node_organization(code: str, node: Node | None) -> Organization:
    """The organisation that ships from a network node (a manufacturer, a supply channel,
    or the operator of a store that passes doses on)."""
    fields: dict[str, Any] = {
        "id": _safe_id("node", code),
        "identifier": [Identifier(system=SYSTEM_NODE, value=code)],
        "active": True,
        "name": node.name if node else code,
    }
    if node is not None and node.country:
        fields["address"] = [Address(country=node.country)]
    return Organization(**fields)


def node_location(code: str, node: Node | None) -> Location:
    """A network node (a store, a hub) as the Location doses are delivered to."""
    fields: dict[str, Any] = {
        "id": _safe_id("node", code),
        "identifier": [Identifier(system=SYSTEM_NODE, value=code)],
        "status": "active",
        "mode": "instance",
        "name": node.name if node else code,
    }
    if node is not None:
        fields["description"] = f"doseflow node {code} ({node.kind.value})"
        if node.country:
            fields["address"] = Address(country=node.country)
    return Location(**fields)


def measure_reports(
    values: Iterable[DataValue],
    schema: Schema,
    *,
    base_url: str | None = None,
    generated: datetime | None = None,
    hierarchy: Hierarchy | None = None,
) -> list[Resource]:
    """Validated MeasureReports, one per participant, org unit, period and report type,
    after the Organizations (participants) and Locations (org units) they reference.
    Participants and org units are named as in ``hierarchy`` (else by their codes)."""
    when = (generated or datetime.now(UTC)).replace(microsecond=0)
    groups: dict[tuple[str, str, str, str], list[DataValue]] = {}
    known: dict[str, str] = {}
    for v in values:
        for code in (v.participant, v.org_unit):
            unit = hierarchy.unit(code) if hierarchy is not None and code not in known else None
            if unit is not None:
                known[code] = unit.name
        element = schema.elements.get(v.data_element)
        report = element.report if element is not None else "other"
        groups.setdefault((v.participant, v.org_unit, v.period, report), []).append(v)
    organizations: dict[str, Organization] = {}
    locations: dict[tuple[str, str], Location] = {}
    reports: list[Resource] = []
    for (participant, org_unit, period_code, report), members in sorted(groups.items()):
        org = organizations.get(participant)
        if org is None:
            org = organizations[participant] = participant_organization(
                participant, known.get(participant)
            )
        place = locations.get((participant, org_unit))
        if place is None:
            place = locations[(participant, org_unit)] = org_unit_location(
                org_unit, known.get(org_unit), org, base_url
            )
        period = parse_period(period_code)
        key = f"{participant}/{org_unit}/{period.code}/{report}"
        reports.append(
            MeasureReport(
                id=_safe_id(participant, report, org_unit, period.code),
                identifier=[Identifier(system=SYSTEM_MEASURE_REPORT, value=key)],
                status="complete",
                type="summary",
                measure=f"{MEASURE_BASE}/{report}",
                subject=_ref(place, base_url, known.get(org_unit, org_unit)),
                reporter=_ref(org, base_url, known.get(participant, participant)),
                date=when,
                period=FhirPeriod(start=period.start, end=period.end),
                group=_groups(members, schema),
            )
        )
    return [*organizations.values(), *locations.values(), *reports]


def _groups(members: Sequence[DataValue], schema: Schema) -> list[MeasureReportGroup]:
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
    return fhir_groups


@dataclass(frozen=True)
class ShipmentRecord:
    """A shipment as the FHIR export needs it (the ledger adapter builds these).

    ``supplier`` and ``destination`` are network node codes. ``occurred_month`` says the
    source knows only the month of ``occurred`` (UNICEF rows are per month): it is then
    exported as ``YYYY-MM``, not as an invented day."""

    shipment_id: str
    product_code: str
    doses: int
    supplier: str
    destination: str
    status: str  # in-progress | completed | abandoned | entered-in-error
    occurred: date | None = None
    product_name: str | None = None
    occurred_month: bool = False


def product_concept(product: str, name: str | None, codes: ProductCodes | None) -> CodeableConcept:
    """CVX first, then GTIN, then doseflow's own code: receivers take the first coding
    they know; doseflow's code is always there so nothing is lost."""
    codings: list[Coding] = []
    if codes is not None and codes.cvx:
        codings.append(Coding(system=SYSTEM_CVX, code=codes.cvx, display=codes.cvx_display))
    if codes is not None and codes.gtin:
        codings.append(Coding(system=SYSTEM_GTIN, code=codes.gtin))
    codings.append(Coding(system=SYSTEM_PRODUCT, code=product, display=name))
    return CodeableConcept(coding=codings, text=name or product)


def supply_deliveries(
    shipments: Sequence[ShipmentRecord],
    *,
    nodes: Mapping[str, Node] | None = None,
    codes: Mapping[str, ProductCodes] | None = None,
    base_url: str | None = None,
) -> list[Resource]:
    """Validated SupplyDeliveries, one per shipment, after the Organizations (suppliers)
    and Locations (destinations) they reference, built from ``nodes`` (names, countries;
    a node not given is named by its code). ``codes`` gives products' CVX and GTIN."""
    network = nodes or {}
    product_codes = codes or {}
    suppliers: dict[str, Organization] = {}
    destinations: dict[str, Location] = {}
    found: list[Resource] = []
    for s in sorted(shipments, key=lambda x: x.shipment_id):
        supplier = suppliers.get(s.supplier)
        if supplier is None:
            supplier = suppliers[s.supplier] = node_organization(
                s.supplier, network.get(s.supplier)
            )
        destination = destinations.get(s.destination)
        if destination is None:
            destination = destinations[s.destination] = node_location(
                s.destination, network.get(s.destination)
            )
        item = SupplyDeliverySuppliedItem(
            quantity=Quantity(value=s.doses, unit="dose", system=UCUM, code="{dose}"),
            itemCodeableConcept=product_concept(
                s.product_code, s.product_name, product_codes.get(s.product_code)
            ),
        )
        fields: dict[str, Any] = {
            "id": _safe_id("shipment", s.shipment_id),
            "identifier": [Identifier(system=SYSTEM_SHIPMENT, value=s.shipment_id)],
            "status": s.status,
            "suppliedItem": item,
            "supplier": _ref(supplier, base_url, supplier.name),
            "destination": _ref(destination, base_url, destination.name),
        }
        if s.occurred is not None:
            fields["occurrenceDateTime"] = (
                f"{s.occurred:%Y-%m}" if s.occurred_month else s.occurred.isoformat()
            )
        found.append(SupplyDelivery(**fields))
    return [*suppliers.values(), *destinations.values(), *found]


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def _request(resource: Resource, method: str) -> BundleEntryRequest:
    kind = resource.get_resource_type()
    if method == "PUT":
        return BundleEntryRequest(method="PUT", url=f"{kind}/{resource.id}")
    identifiers = getattr(resource, "identifier", None) or []
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    if first is None:
        return BundleEntryRequest(method="POST", url=kind)
    # conditional create: exporting the same shipment twice does not create it twice
    search = f"identifier={_escape(first.system)}|{_escape(first.value)}"
    return BundleEntryRequest(method="POST", url=kind, ifNoneExist=search)


def _escape(value: str) -> str:
    """A search parameter value with FHIR's escapes (``\\``, ``\\|``, ``\\,``, ``\\$``) and
    then URL encoding, so a shipment id holding ``|`` or ``&`` stays one value."""
    escaped = "".join("\\" + c if c in "\\|,$" else c for c in value)
    return quote(escaped, safe=":/")


def bundle(
    resources: Sequence[Resource],
    *,
    bundle_type: str = "collection",
    method: str = "PUT",
    base_url: str | None = None,
    generated: datetime | None = None,
) -> Bundle:
    """A Bundle of ``resources`` (built with the same ``base_url``), each with its fullUrl;
    a ``transaction`` adds each entry's ``request`` (``PUT <Type>/<id>``, or a conditional
    ``POST <Type>`` on the resource's identifier).

    ``POST`` lets the server choose ids, so entries must be ``urn:uuid:`` fullUrls (the
    server rewrites references to them): a ``base_url`` with ``POST`` is refused."""
    if bundle_type not in BUNDLE_TYPES:
        raise DoseflowError(
            "REPORT_FHIR_OPTIONS",
            f"'{bundle_type}' is not a Bundle type doseflow writes",
            field="bundle_type",
            expected=" or ".join(BUNDLE_TYPES),
            value=bundle_type,
        )
    if method not in METHODS:
        raise DoseflowError(
            "REPORT_FHIR_OPTIONS",
            f"'{method}' is not a transaction method doseflow writes",
            field="method",
            expected=" or ".join(METHODS),
            value=method,
        )
    if bundle_type == "transaction" and method == "POST" and base_url:
        raise DoseflowError(
            "REPORT_FHIR_OPTIONS",
            "a POST transaction lets the server choose ids, so entries cannot have "
            f"fullUrls under {base_url}",
            field="base_url",
            expected="no base URL with POST (urn:uuid fullUrls), or the PUT method",
            value=base_url,
        )
    entries: list[BundleEntry] = []
    urls: set[str] = set()
    for r in resources:
        url = full_url(r.get_resource_type(), str(r.id), base_url)
        if url in urls:
            raise ValueError(f"two resources have the fullUrl {url}")
        urls.add(url)
        entry: dict[str, Any] = {"fullUrl": url, "resource": r}
        if bundle_type == "transaction":
            entry["request"] = _request(r, method)
        entries.append(BundleEntry(**entry))
    dangling = {ref for r in resources for ref in _references(r.model_dump(mode="json"))} - urls
    if dangling:
        raise ValueError(f"references not in the bundle: {sorted(dangling)}")
    return Bundle(
        type=bundle_type,
        timestamp=(generated or datetime.now(UTC)).replace(microsecond=0),
        entry=entries,
    )


def bundle_json(
    resources: Sequence[Resource],
    *,
    bundle_type: str = "collection",
    method: str = "PUT",
    base_url: str | None = None,
    generated: datetime | None = None,
) -> str:
    """:func:`bundle` as JSON text (send it as :data:`MEDIA_TYPE`)."""
    built = bundle(
        resources, bundle_type=bundle_type, method=method, base_url=base_url, generated=generated
    )
    return str(built.model_dump_json(indent=2))
