"""The UNICEF deliveries mapping: names to ISO3 and products, unmapped names reported."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from doseflow.data.deliveries import DeliveryRow, delivery_rows
from doseflow.data.population import countries
from doseflow.domain.events import ShipmentDispatched, ShipmentReceived
from doseflow.ledger.unicef import (
    COUNTRY_ALIASES,
    PRODUCTS,
    UNSPECIFIED,
    VACCINE_PRODUCTS,
    UnicefImport,
    UnknownVaccine,
    country_index,
    plan_import,
)

AZ_NAME = "AstraZeneca - Vaxzevria"


def _row(line: int, country: str, vaccine: str, doses: int) -> DeliveryRow:
    return DeliveryRow(line, country, vaccine, date(2021, 7, 1), (("COVAX", doses),), doses)


def test_aliases_map_unicef_spellings() -> None:
    result = plan_import(
        [
            _row(2, "Côte d'Ivoire", "AstraZeneca - Vaxzevria", 100),
            _row(3, "Congo (DRC)", "SII - Covishield", 200),
            _row(4, "Türkiye", "Sinovac - CoronaVac", 300),
            _row(5, "Democratic Republic of the Congo", "Pfizer BioNTech - Comirnaty", 400),
        ],
        countries(),
    )
    received = [e for e in result.events if isinstance(e, ShipmentReceived)]
    assert [(e.node, e.lot.product, e.quantity) for e in received] == [
        ("CIV-NS-UNICEF", "AZ", 100),
        ("COD-NS-UNICEF", "AZ-SII", 200),
        ("TUR-NS-UNICEF", "SINOVAC", 300),
        ("COD-NS-UNICEF", "PFIZER", 400),
    ]
    dispatched = [e for e in result.events if isinstance(e, ShipmentDispatched)]
    assert {e.origin for e in dispatched} == {"UNICEF-COVAX"}
    assert result.unmapped == ()


def test_unmapped_names_are_reported_with_lines_and_doses() -> None:
    result = plan_import(
        [
            _row(2, "Humanitarian Buffer", "Moderna - Spikevax", 1000),
            _row(3, "Atlantis", "Moderna - Spikevax", 20),
            _row(4, "Kenya", "Unknown", 300),
            _row(5, "Kenya", "Unknown", 5),
            _row(6, "Kenya", "Moderna - Spikevax", 7),
        ],
        countries(),
    )
    got = {(u.kind, u.name): (u.lines, u.doses) for u in result.unmapped}
    assert got == {
        ("country", "Humanitarian Buffer"): ((2,), 1000),
        ("country", "Atlantis"): ((3,), 20),
        ("vaccine", "Unknown"): ((4, 5), 305),
    }
    assert result.doses_imported == 7
    assert result.doses_skipped == 1325
    assert result.rows_imported == 1


def test_the_bundled_file_maps_every_country_but_the_named_exceptions() -> None:
    result = plan_import(delivery_rows(), countries())
    countries_left = {u.name for u in result.unmapped if u.kind == "country"}
    assert countries_left == {"Humanitarian Buffer", "Hong Kong SAR and Macao"}
    vaccines_left = {u.name for u in result.unmapped if u.kind == "vaccine"}
    assert vaccines_left == {"Unknown"}
    total = sum(r.total_doses for r in delivery_rows())
    assert result.doses_imported + result.doses_skipped == total
    assert set(COUNTRY_ALIASES.values()) <= set(countries())
    assert len(set(VACCINE_PRODUCTS.values())) == len(VACCINE_PRODUCTS)


# -- issue 14 ---------------------------------------------------------------------------------


def test_vaxzevria_is_the_site_neutral_astrazeneca_product() -> None:
    """Vaxzevria rows name no manufacturing site: they go to AZ, not to SK Bioscience's AZ-SKB;
    Covishield rows name the Serum Institute and stay AZ-SII."""
    result = plan_import(
        [
            _row(2, "United Kingdom of Great Britain and Northern Ireland", AZ_NAME, 100),
            _row(3, "India", "SII - Covishield", 200),
        ],
        countries(),
    )
    received = [e for e in result.events if isinstance(e, ShipmentReceived)]
    assert [(e.lot.product, e.quantity) for e in received] == [("AZ", 100), ("AZ-SII", 200)]
    assert VACCINE_PRODUCTS[AZ_NAME] == "AZ"
    # no name in the file names SK Bioscience's AstraZeneca site
    assert "AZ-SKB" not in VACCINE_PRODUCTS.values()
    names = {r.vaccine_name for r in delivery_rows()}
    assert not [n for n in names if "AstraZeneca" in n and "SK" in n]


def test_the_neutral_product_has_the_astrazeneca_presentation() -> None:
    """AZ is a real product: 10-dose vials at 2-8 °C, two doses a course, as AZ-SKB."""
    from doseflow.allocation import load_scenario
    from doseflow.cli.demo import example_path

    skb = load_scenario(example_path("covax_2021.yaml")).products["AZ-SKB"]
    az = PRODUCTS["AZ"]
    assert az.code == "AZ"
    assert "any manufacturing site" in az.name
    for field in (
        "doses_per_course",
        "storage_band",
        "shelf_life_days",
        "doses_per_vial",
        "pack_doses",
        "vials_per_shipper",
        "kind",
    ):
        assert getattr(az, field) == getattr(skb, field), field
    assert az.manufacturer != skb.manufacturer
    # every product code the import can record is known (the unspecified one has no
    # presentation and says so)
    assert set(VACCINE_PRODUCTS.values()) | {UNSPECIFIED} >= set(PRODUCTS)
    assert UNSPECIFIED not in PRODUCTS


def test_unknown_vaccine_figures_of_the_bundled_file() -> None:
    rows = [r for r in delivery_rows() if r.doses_by_channel]
    total = sum(r.total_doses for r in rows)
    unknown = [r for r in rows if r.vaccine_name == "Unknown"]
    assert len(unknown) == 1_012
    doses = sum(r.total_doses for r in unknown)
    assert doses == 6_182_973_714
    assert round(100 * doses / total, 1) == 40.7
    result = plan_import(delivery_rows(), countries())
    (left,) = [u for u in result.unmapped if u.name == "Unknown"]
    assert (len(left.lines), left.doses) == (1_012, 6_182_973_714)


def test_unknown_vaccine_is_excluded_by_default_and_says_how_to_import_it() -> None:
    rows = [_row(2, "Kenya", "Unknown", 300), _row(3, "Kenya", "Moderna - Spikevax", 7)]
    result = plan_import(rows, countries())
    assert result.unknown_vaccine is UnknownVaccine.EXCLUDE
    (u,) = result.unmapped
    assert "unspecified" in u.reason
    assert (result.doses_imported, result.doses_skipped) == (7, 300)
    assert (result.unspecified_rows, result.unspecified_doses) == (0, 0)


def test_unknown_vaccine_can_be_imported_as_the_unspecified_product() -> None:
    rows = [
        _row(2, "Kenya", "Unknown", 300),
        _row(3, "Kenya", "Unknown", 5),
        _row(4, "Kenya", "Moderna - Spikevax", 7),
        _row(5, "Humanitarian Buffer", "Unknown", 1000),
    ]
    result = plan_import(rows, countries(), unknown_vaccine=UnknownVaccine.UNSPECIFIED)
    received = [e for e in result.events if isinstance(e, ShipmentReceived)]
    # two rows of one country, product, month and channel are one shipment of their sum
    assert [(e.node, e.lot.product, e.quantity) for e in received] == [
        ("KEN-NS-UNICEF", UNSPECIFIED, 305),
        ("KEN-NS-UNICEF", "MODERNA", 7),
    ]
    assert len({e.event_id for e in result.events}) == len(result.events)
    assert (result.unspecified_rows, result.unspecified_doses) == (2, 305)
    assert result.doses_imported == 312
    assert [(u.kind, u.name, u.doses) for u in result.unmapped] == [
        ("country", "Humanitarian Buffer", 1000)
    ]
    assert result.doses_skipped == 1000


def test_unicef_receipts_land_at_their_own_national_store_node() -> None:
    """Real deliveries never share a node with modelled shipments (``<ISO3>-NS``)."""
    result = plan_import([_row(2, "Nepal", "SII - Covishield", 100)], countries())
    received = [e for e in result.events if isinstance(e, ShipmentReceived)]
    assert [e.node for e in received] == ["NPL-NS-UNICEF"]
    store = next(n for n in result.nodes if n.code == "NPL-NS-UNICEF")
    assert store.country == "NPL"
    assert "UNICEF" in store.name


def _file_totals(rows: list[DeliveryRow], unknown: str | None) -> Counter[tuple[str, str, str]]:
    """Country x product x month doses straight from the file's rows (no ledger involved)."""
    names = country_index(countries())
    totals: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        iso3 = names.get(r.country_name)
        product = unknown if r.vaccine_name == "Unknown" else VACCINE_PRODUCTS.get(r.vaccine_name)
        if iso3 is not None and product is not None and r.total_doses:
            totals[(iso3, product, f"{r.month:%Y-%m}")] += r.total_doses
    return totals


def _import_totals(result: UnicefImport) -> Counter[tuple[str, str, str]]:
    """The same totals from the import's receipts: node's country x lot product x month."""
    country_of = {n.code: n.country for n in result.nodes}
    totals: Counter[tuple[str, str, str]] = Counter()
    for e in result.events:
        if isinstance(e, ShipmentReceived):
            iso3 = country_of[e.node]
            assert iso3 is not None
            totals[(iso3, e.lot.product, f"{e.occurred_at:%Y-%m}")] += e.quantity
    return totals


@pytest.mark.parametrize("option", list(UnknownVaccine))
def test_reconciliation_with_the_bundled_file(option: UnknownVaccine) -> None:
    """Country x product x month totals of the import equal the file's; what is left out is
    reported with a reason and its doses, and imported + left out = the file's total."""
    rows = list(delivery_rows())
    result = plan_import(rows, countries(), unknown_vaccine=option)
    unknown = UNSPECIFIED if option is UnknownVaccine.UNSPECIFIED else None
    want = _file_totals(rows, unknown)
    assert _import_totals(result) == want
    assert sum(want.values()) == result.doses_imported
    total = sum(r.total_doses for r in rows)
    assert result.doses_imported + result.doses_skipped == total
    assert all(u.reason and u.doses > 0 for u in result.unmapped)
    by_name = {u.name: u for u in result.unmapped}
    if option is UnknownVaccine.EXCLUDE:
        assert set(by_name) == {"Humanitarian Buffer", "Hong Kong SAR and Macao", "Unknown"}
        assert result.unspecified_doses == 0
    else:
        assert set(by_name) == {"Humanitarian Buffer", "Hong Kong SAR and Macao"}
        assert result.unspecified_doses == 6_182_973_714
        assert result.unspecified_rows == 1_012
    # every row left out is in the exclusions once (a row can be named for both reasons)
    left_lines = {line for u in result.unmapped for line in u.lines}
    left_doses = sum(r.total_doses for r in rows if r.line in left_lines)
    assert left_doses == result.doses_skipped
    # Vaxzevria under AZ, nothing under AZ-SKB
    products = {key[1] for key in want}
    assert "AZ" in products
    assert "AZ-SKB" not in products
    az = sum(d for (_i, p, _m), d in want.items() if p == "AZ")
    assert az == 1_135_281_569


def test_the_data_sources_page_quotes_the_file() -> None:
    """docs/data-sources.md's figures for the UNICEF file, recomputed from the bundled file."""
    from pathlib import Path

    doc = " ".join(
        (Path(__file__).parents[2] / "docs" / "data-sources.md").read_text("utf-8").split()
    )
    rows = [r for r in delivery_rows() if r.doses_by_channel]
    total = sum(r.total_doses for r in rows)
    vax = [r for r in rows if r.vaccine_name == AZ_NAME]
    unknown = [r for r in rows if r.vaccine_name == "Unknown"]
    doses = sum(r.total_doses for r in unknown)
    assert f"({len(vax):,} rows, {sum(r.total_doses for r in vax):,} doses," in doc
    assert f"carry {100 * doses / total:.1f}% of the file's doses" in doc
    assert f"({len(unknown):,} rows with doses, {doses:,} of {total:,})" in doc
