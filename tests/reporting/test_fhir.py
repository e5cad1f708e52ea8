"""FHIR R4 export (issue 14): Bundles with fullUrls and references resolving inside them,
standard product codes (CVX, GTIN), month-precise dates, supplier and destination resources,
and conformance of every export to the R4 (4.0.1) JSON schema."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.nutritionproduct import NutritionProduct

from doseflow.data.product_codes import bundled_product_codes, load_product_codes
from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import Node, NodeKind
from doseflow.domain.product import ProductCodes, gtin_valid
from doseflow.ledger.unicef import UNSPECIFIED, VACCINE_PRODUCTS
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    MEDIA_TYPE,
    DataValue,
    ShipmentRecord,
    bundle,
    bundle_json,
    measure_reports,
    supply_deliveries,
)
from doseflow.reporting.fhir_export import (
    SYSTEM_CVX,
    SYSTEM_GTIN,
    SYSTEM_PRODUCT,
    full_url,
)

from .conftest import make_hierarchy
from .fhir_schema import assert_valid_r4, r4_errors
from .test_files import example

WHEN = datetime(2021, 9, 27, tzinfo=UTC)
VALUES = [
    DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 667),
    DataValue("PRK", "PRK", "2021W38", "ili_cases", "default", 94, "ILI and SARI"),
    DataValue("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose1,group=hcw", 1200),
    DataValue("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose2,group=older", 35),
]
NODES = {
    "SII-PUNE": Node("SII-PUNE", "Serum Institute Pune", NodeKind.SUPPLIER, "IND"),
    "PRK-NS": Node("PRK-NS", "Pyongyang", NodeKind.NATIONAL_STORE, "PRK"),
}
SHIPMENTS = [
    ShipmentRecord("SHP-7", "AZ-SII", 100_800, "SII-PUNE", "PRK-NS", "completed", date(2021, 9, 1)),
    ShipmentRecord(
        "UNICEF:PRK:SINOVAC:2021-08:COVAX",
        "SINOVAC",
        400_000,
        "UNICEF-COVAX",
        "PRK-NS",
        "completed",
        date(2021, 8, 1),
        occurred_month=True,
    ),
    ShipmentRecord("SHP-8", "ABDALA", 2_000, "SII-PUNE", "PRK-NS", "in-progress"),
]


def resources_by_type(document: dict) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for entry in document["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry)
    return found


def references(value: object) -> list[str]:
    if isinstance(value, dict):
        return [
            v if k == "reference" else r
            for k, v in value.items()
            for r in ([v] if k == "reference" else references(v))
        ]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


# --- item 1: Bundles, fullUrls, references -----------------------------------------------


def test_collection_bundle_has_urn_uuid_full_urls_and_references_resolve() -> None:
    text = bundle_json(measure_reports(VALUES, DEFAULT_SCHEMA, generated=WHEN), generated=WHEN)
    document = assert_valid_r4(text)
    assert document["type"] == "collection"
    urls = [e["fullUrl"] for e in document["entry"]]
    assert all(u.startswith("urn:uuid:") for u in urls)
    assert len(set(urls)) == len(urls)
    kinds = resources_by_type(document)
    assert sorted(kinds) == ["Location", "MeasureReport", "Organization"]
    by_url = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    for entry in kinds["MeasureReport"]:
        report = entry["resource"]
        assert by_url[report["subject"]["reference"]]["resourceType"] == "Location"
        assert by_url[report["reporter"]["reference"]]["resourceType"] == "Organization"
    spy = next(e["resource"] for e in kinds["Location"] if e["resource"]["name"] == "PRK-SPY")
    assert by_url[spy["managingOrganization"]["reference"]]["identifier"][0]["value"] == "PRK"
    assert set(references(document)) <= set(by_url)
    # deterministic: the same export gives the same fullUrls
    again = json.loads(bundle_json(measure_reports(VALUES, DEFAULT_SCHEMA, generated=WHEN)))
    assert [e["fullUrl"] for e in again["entry"]] == urls


def test_transaction_put_with_base_url() -> None:
    base = "https://fhir.example.org/r4/"
    resources = supply_deliveries(SHIPMENTS, nodes=NODES, base_url=base)
    text = bundle_json(resources, bundle_type="transaction", method="PUT", base_url=base)
    document = assert_valid_r4(text)
    assert document["type"] == "transaction"
    for entry in document["entry"]:
        kind, rid = entry["resource"]["resourceType"], entry["resource"]["id"]
        assert entry["fullUrl"] == f"https://fhir.example.org/r4/{kind}/{rid}"
        assert entry["request"] == {"method": "PUT", "url": f"{kind}/{rid}"}
    urls = {e["fullUrl"] for e in document["entry"]}
    refs = references(document)
    assert refs
    assert set(refs) <= urls


def test_transaction_post_is_a_conditional_create_on_the_identifier() -> None:
    text = bundle_json(
        supply_deliveries(SHIPMENTS, nodes=NODES), bundle_type="transaction", method="POST"
    )
    document = assert_valid_r4(text)
    delivery = resources_by_type(document)["SupplyDelivery"][0]
    assert delivery["fullUrl"].startswith("urn:uuid:")
    assert delivery["request"] == {
        "method": "POST",
        "url": "SupplyDelivery",
        "ifNoneExist": "identifier=https://doseflow.org/fhir/NamingSystem/shipment|SHP-7",
    }
    report = next(
        e
        for e in json.loads(
            bundle_json(
                measure_reports(VALUES, DEFAULT_SCHEMA), bundle_type="transaction", method="POST"
            )
        )["entry"]
        if e["resource"]["resourceType"] == "MeasureReport"
    )
    assert report["request"]["ifNoneExist"].startswith(
        "identifier=https://doseflow.org/fhir/NamingSystem/measure-report|PRK/"
    )


def test_post_condition_escapes_the_identifier() -> None:
    record = ShipmentRecord("A|B,C&D", "AZ-SII", 10, "X", "Y", "completed")
    document = assert_valid_r4(
        bundle_json(supply_deliveries([record]), bundle_type="transaction", method="POST")
    )
    (entry,) = resources_by_type(document)["SupplyDelivery"]
    assert entry["request"]["ifNoneExist"] == (
        "identifier=https://doseflow.org/fhir/NamingSystem/shipment|A%5C%7CB%5C%2CC%26D"
    )


def test_names_come_from_the_hierarchy() -> None:
    resources = measure_reports(VALUES, DEFAULT_SCHEMA, hierarchy=make_hierarchy())
    document = assert_valid_r4(bundle_json(resources))
    names = {
        e["resource"]["identifier"][0]["value"]: e["resource"]["name"]
        for e in document["entry"]
        if e["resource"]["resourceType"] in ("Location", "Organization")
    }
    assert names == {"PRK": "DPR Korea", "PRK-SPY": "South Pyongan"}
    report = resources_by_type(document)["MeasureReport"][-1]["resource"]
    assert report["subject"]["display"] == "South Pyongan"


def test_post_with_a_base_url_and_unknown_options_are_refused() -> None:
    resources = supply_deliveries(SHIPMENTS)
    with pytest.raises(DoseflowError) as exc:
        bundle(resources, bundle_type="transaction", method="POST", base_url="https://x.org")
    assert exc.value.code == "REPORT_FHIR_OPTIONS"
    assert exc.value.detail.location.field == "base_url"
    with pytest.raises(DoseflowError) as exc:
        bundle(resources, bundle_type="batch")
    assert (exc.value.code, exc.value.detail.location.field) == (
        "REPORT_FHIR_OPTIONS",
        "bundle_type",
    )
    with pytest.raises(DoseflowError) as exc:
        bundle(resources, method="PATCH")
    assert (exc.value.code, exc.value.detail.location.field) == ("REPORT_FHIR_OPTIONS", "method")


def test_bundle_refuses_references_it_does_not_hold() -> None:
    resources = supply_deliveries(SHIPMENTS, nodes=NODES)
    deliveries = [r for r in resources if r.get_resource_type() == "SupplyDelivery"]
    with pytest.raises(ValueError, match="references not in the bundle"):
        bundle(deliveries)
    # built for one base URL, bundled for another: the references would not resolve
    with pytest.raises(ValueError, match="references not in the bundle"):
        bundle(resources, base_url="https://elsewhere.org/fhir")


def test_ids_stay_apart_when_cleaned_or_cut() -> None:
    long_a = "UNICEF:AFG:AZ-SII:2021-08:BILATERAL-MULTILATERAL-AGREEMENTS-ONE"
    long_b = "UNICEF:AFG:AZ-SII:2021-08:BILATERAL-MULTILATERAL-AGREEMENTS-TWO"
    records = [
        ShipmentRecord(sid, "AZ-SII", 10, "A", "B", "completed")
        for sid in ("S:1", "S-1", long_a, long_b)
    ]
    deliveries = [
        r for r in supply_deliveries(records) if r.get_resource_type() == "SupplyDelivery"
    ]
    ids = [str(r.id) for r in deliveries]
    assert len(set(ids)) == 4
    assert all(len(i) <= 64 for i in ids)
    assert_valid_r4(bundle_json(supply_deliveries(records)))


def test_full_url_is_a_name_based_uuid_of_type_and_id() -> None:
    assert full_url("Location", "node-PRK-NS") == full_url("Location", "node-PRK-NS")
    assert full_url("Location", "node-PRK-NS") != full_url("Organization", "node-PRK-NS")
    assert full_url("Location", "x", "https://s.org/fhir/") == "https://s.org/fhir/Location/x"


def test_media_type_declares_r4() -> None:
    assert MEDIA_TYPE == "application/fhir+json; fhirVersion=4.0"


# --- item 2: product codes ---------------------------------------------------------------


def delivery(document: dict, shipment: str) -> dict:  # type: ignore[type-arg]
    return next(
        e["resource"]
        for e in document["entry"]
        if e["resource"]["resourceType"] == "SupplyDelivery"
        and e["resource"]["identifier"][0]["value"] == shipment
    )


def test_products_coded_with_cvx_first_and_doseflow_code_second() -> None:
    text = bundle_json(supply_deliveries(SHIPMENTS, nodes=NODES, codes=bundled_product_codes()))
    document = assert_valid_r4(text)
    az = delivery(document, "SHP-7")["suppliedItem"]["itemCodeableConcept"]["coding"]
    assert [(c["system"], c["code"]) for c in az] == [
        (SYSTEM_CVX, "210"),
        (SYSTEM_PRODUCT, "AZ-SII"),
    ]
    assert az[0]["display"] == "COVID-19 vaccine, vector-nr, rS-ChAdOx1, PF, 0.5 mL"
    sinovac = delivery(document, "UNICEF:PRK:SINOVAC:2021-08:COVAX")
    assert sinovac["suppliedItem"]["itemCodeableConcept"]["coding"][0]["code"] == "511"
    # a product with no CVX code keeps only doseflow's own coding
    abdala = delivery(document, "SHP-8")["suppliedItem"]["itemCodeableConcept"]["coding"]
    assert [(c["system"], c["code"]) for c in abdala] == [(SYSTEM_PRODUCT, "ABDALA")]


def test_gtin_coding_when_the_table_has_one() -> None:
    codes = {"AZ-SII": ProductCodes("AZ-SII", "210", None, "04006381333931")}
    document = assert_valid_r4(bundle_json(supply_deliveries(SHIPMENTS[:1], codes=codes)))
    coding = delivery(document, "SHP-7")["suppliedItem"]["itemCodeableConcept"]["coding"]
    assert [c["system"] for c in coding] == [SYSTEM_CVX, SYSTEM_GTIN, SYSTEM_PRODUCT]
    assert coding[1]["code"] == "04006381333931"


#: CVX codes checked against the CDC CVX and CVX-to-trade-name tables (see the table's
#: header in data/files/product_codes.csv): a change of the table must be deliberate.
CDC_CVX = {
    "AZ-SII": "210",  # AstraZeneca; trade names include COVISHIELD
    "AZ-SKB": "210",  # AstraZeneca; trade names include VAXZEVRIA
    "AZ": "210",  # AstraZeneca, any manufacturing site (UNICEF's "AstraZeneca - Vaxzevria")
    "COVID19-UNSPECIFIED": "213",  # the UNICEF import's rows whose vaccine is "Unknown"
    "PFIZER": "208",
    "MODERNA": "207",
    "JANSSEN": "212",
    "NOVAVAX": "211",
    "SINOVAC": "511",
    "SINOPHARM": "510",
    "COVAXIN": "502",
    "SPUTNIK-V": "505",
    "SPUTNIK-LIGHT": "504",
    "CANSINO": "506",
    "ZIFIVAX": "513",
    "MEDIGEN": "515",
    "QAZCOVID": "501",
}


def test_bundled_table_gives_every_known_product_its_cvx() -> None:
    table = bundled_product_codes()
    assert {p: c.cvx for p, c in table.items() if c.cvx} == CDC_CVX
    # every product code doseflow ships or imports is in the table (with or without CVX)
    unicef = set(VACCINE_PRODUCTS.values()) | {UNSPECIFIED}
    covax = {p["code"] for p in yaml.safe_load(example("covax_2021.yaml").read_text())["products"]}
    assert covax == {"AZ-SII", "AZ-SKB", "PFIZER", "SINOVAC"}
    assert unicef | covax <= set(table)


def test_a_site_table_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "codes.csv"
    good.write_text("# site codes\nproduct,cvx,cvx_display,gtin\nAZ-SII,210,,04006381333931\n")
    assert load_product_codes(good)["AZ-SII"].gtin == "04006381333931"
    for row, field in (
        ("AZ-SII,210,,04006381333932", "gtin"),
        ("AZ-SII,21A,,", "cvx"),
        ("AZ-SII,,some display,", "cvx_display"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(f"product,cvx,cvx_display,gtin\n# note\n{row}\n")
        with pytest.raises(DoseflowError) as exc:
            load_product_codes(bad)
        assert exc.value.code == "PRODUCT_CODES_INVALID"
        assert exc.value.detail.location.line == 3
        assert exc.value.detail.location.field == field
    header = tmp_path / "header.csv"
    header.write_text("product,cvx\nAZ-SII,210\n")
    with pytest.raises(DoseflowError) as exc:
        load_product_codes(header)
    assert exc.value.detail.location.field == "header"


def test_gtin_check_digit() -> None:
    assert gtin_valid("4006381333931")
    assert gtin_valid("96385074")
    assert not gtin_valid("4006381333932")
    assert not gtin_valid("400638133393")
    assert not gtin_valid("40063813339A1")


# --- item 3: dates, supplier and destination ---------------------------------------------


def test_monthly_delivery_is_exported_as_its_month() -> None:
    document = assert_valid_r4(bundle_json(supply_deliveries(SHIPMENTS, nodes=NODES)))
    monthly = delivery(document, "UNICEF:PRK:SINOVAC:2021-08:COVAX")
    assert monthly["occurrenceDateTime"] == "2021-08"
    assert delivery(document, "SHP-7")["occurrenceDateTime"] == "2021-09-01"
    assert "occurrenceDateTime" not in delivery(document, "SHP-8")


def test_supplier_and_destination_are_resources_in_the_bundle() -> None:
    document = assert_valid_r4(bundle_json(supply_deliveries(SHIPMENTS, nodes=NODES)))
    by_url = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    shipped = delivery(document, "SHP-7")
    supplier = by_url[shipped["supplier"]["reference"]]
    destination = by_url[shipped["destination"]["reference"]]
    assert supplier["resourceType"] == "Organization"
    assert supplier["name"] == "Serum Institute Pune"
    assert supplier["address"] == [{"country": "IND"}]
    assert destination["resourceType"] == "Location"
    assert destination["name"] == "Pyongyang"
    assert destination["identifier"][0]["value"] == "PRK-NS"
    # a node the network does not describe is still a resource, named by its code
    channel = by_url[
        delivery(document, "UNICEF:PRK:SINOVAC:2021-08:COVAX")["supplier"]["reference"]
    ]
    assert channel["name"] == "UNICEF-COVAX"
    # one resource per node, however many shipments
    kinds = resources_by_type(document)
    assert len(kinds["Location"]) == 1
    assert len(kinds["Organization"]) == 2


# --- item 5: the R4 schema catches what R4B accepts ----------------------------------------


def test_r4_schema_refuses_what_only_r4b_has() -> None:
    r4b_only = Bundle(
        type="collection",
        entry=[
            {
                "fullUrl": "urn:uuid:" + "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                "resource": NutritionProduct(status="active"),
            }
        ],
    )
    document = json.loads(r4b_only.model_dump_json())
    Bundle.model_validate(document)  # R4B: fine
    assert r4_errors(document)  # R4: NutritionProduct does not exist
    bad = json.loads(bundle_json(supply_deliveries(SHIPMENTS)))
    delivery(bad, "SHP-7")["occurrenceDateTime"] = "2021-8"
    assert r4_errors(bad)


def test_docs_quote_the_bundled_cvx_codes() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "reporting.md").read_text()
    section = docs[docs.index("#### Product codes") : docs.index("## Data-entry templates")]
    quoted: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3 and cells[1].isdigit():
            for product in cells[0].split(","):
                quoted[product.strip().strip("`")] = cells[1]
    table = bundled_product_codes()
    assert quoted == {p: c.cvx for p, c in table.items() if c.cvx}
    without = section[section.index("**no CVX code**") : section.index("No GTIN is bundled")]
    named = {w.strip("`") for w in without.split() if w.startswith("`")}
    named = {n.rstrip("`,") for n in named}
    assert named == {p for p, c in table.items() if not c.cvx}
