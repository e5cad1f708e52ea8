"""The UNICEF deliveries mapping: names to ISO3 and products, unmapped names reported."""

from __future__ import annotations

from datetime import date

from doseflow.data.deliveries import DeliveryRow, delivery_rows
from doseflow.data.population import countries
from doseflow.domain.events import ShipmentDispatched, ShipmentReceived
from doseflow.ledger.unicef import COUNTRY_ALIASES, VACCINE_PRODUCTS, plan_import


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
        ("CIV-NS", "AZ-SKB", 100),
        ("COD-NS", "AZ-SII", 200),
        ("TUR-NS", "SINOVAC", 300),
        ("COD-NS", "PFIZER", 400),
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
