"""UNICEF COVID-19 vaccine deliveries as received shipments in the ledger.

Each row of the UNICEF Market Dashboard file (country x vaccine x month, doses per channel)
becomes, per channel, a shipment dispatched by that channel's supply node and received at
the country's national store (``<ISO3>-NS``) in that month. Country names are UNICEF's
spelling: they are matched to ISO3 codes through the bundled population table's names plus
:data:`COUNTRY_ALIASES`; vaccine names go through :data:`VACCINE_PRODUCTS`. A name that
cannot be mapped is never dropped silently: it is reported with every line it appears on
and the doses it carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time

from doseflow.data.deliveries import DeliveryRow
from doseflow.data.population import Country
from doseflow.domain.events import LedgerEvent, ShipmentDispatched, ShipmentReceived
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind

#: UNICEF spellings that differ from the population table's country names.
COUNTRY_ALIASES: dict[str, str] = {
    "Bolivia (Plurinational State of)": "BOL",
    "China, Hong Kong SAR": "HKG",
    "China, Macao SAR": "MAC",
    "Congo (DRC)": "COD",
    "Democratic Republic of the Congo": "COD",
    "the republic of the Congo": "COG",
    "Congo": "COG",
    "Côte d'Ivoire": "CIV",
    "Iran (Islamic Republic of)": "IRN",
    "Kyrgyzstan": "KGZ",
    "Lao People's Democratic Republic": "LAO",
    "Republic of Korea": "KOR",
    "Democratic People's Republic of Korea": "PRK",
    "Republic of Moldova": "MDA",
    "Russian Federation": "RUS",
    "Saint Lucia": "LCA",
    "Saint Vincent and the Grenadines": "VCT",
    "Syrian Arab Republic": "SYR",
    "Taiwan": "TWN",
    "Türkiye": "TUR",
    "United Kingdom of Great Britain and Northern Ireland": "GBR",
    "United Republic of Tanzania": "TZA",
    "United States of America": "USA",
    "Venezuela (Bolivarian Republic of)": "VEN",
    "Viet Nam": "VNM",
    "West Bank and Gaza": "PSE",
    "State of Palestine": "PSE",
}

#: Names in the file that are not one country, and why (reported, never imported).
NOT_COUNTRIES: dict[str, str] = {
    "Humanitarian Buffer": "the COVAX Humanitarian Buffer is a reserve, not a country",
    "Hong Kong SAR and Macao": "two territories combined; the doses cannot be split",
}

#: UNICEF "WHO preferred vaccine name" -> doseflow product code. The first four are the
#: codes of the bundled allocation example (``data/examples/covax_2021.yaml``).
VACCINE_PRODUCTS: dict[str, str] = {
    "SII - Covishield": "AZ-SII",
    "AstraZeneca - Vaxzevria": "AZ-SKB",
    "Pfizer BioNTech - Comirnaty": "PFIZER",
    "Sinovac - CoronaVac": "SINOVAC",
    "Moderna - Spikevax": "MODERNA",
    "Janssen - Ad26.COV 2.S": "JANSSEN",
    "Sinopharm (Beijing) - BBIBP-CorV": "SINOPHARM",
    "Novavax - Nuvaxovid": "NOVAVAX",
    "SII - Covavax": "COVAVAX",
    "Gamaleya - Sputnik V": "SPUTNIK-V",
    "Gamaleya - Sputnik Light": "SPUTNIK-LIGHT",
    "BBIL - Covaxin": "COVAXIN",
    "CanSino - CONVIDECIA": "CANSINO",
    "Anhui Zhifei - Zifivax": "ZIFIVAX",
    "CIGB - Abdala": "ABDALA",
    "Soberana 2": "SOBERANA-2",
    "CovIran Barekat": "COVIRAN",
    "SK Bio - SKYCovione": "SKYCOVIONE",
    "Medigen - MVC-COV1901": "MEDIGEN",
    "Chumakov - Covi-Vac": "COVIVAC",
    "Turkovac": "TURKOVAC",
    "Razi Cov Pars": "RAZI-COV-PARS",
    "RIBSP - QazCovid": "QAZCOVID",
}

#: Why a vaccine name has no product.
NOT_PRODUCTS: dict[str, str] = {"Unknown": "the vaccine is not named in the UNICEF data"}

RECORDED_BY = "unicef-import"


def channel_code(channel: str) -> str:
    """``Bilateral/multilateral agreements`` -> ``BILATERAL-MULTILATERAL-AGREEMENTS``."""
    return re.sub(r"[^A-Z0-9]+", "-", channel.upper()).strip("-")


def supply_node(channel: str) -> str:
    """The supply node doses of ``channel`` come from."""
    return f"UNICEF-{channel_code(channel)}"


def national_store(iso3: str) -> str:
    return f"{iso3}-NS"


@dataclass(frozen=True)
class Unmapped:
    """A name that could not be mapped, where it appears, and the doses it carries."""

    kind: str  # "country" or "vaccine"
    name: str
    reason: str
    lines: tuple[int, ...]
    doses: int


@dataclass(frozen=True)
class UnicefImport:
    """What the file turns into: nodes to register, events, and what could not be mapped."""

    nodes: tuple[Node, ...]
    events: tuple[LedgerEvent, ...]
    rows_read: int
    rows_imported: int
    rows_empty: int  # rows with no doses in any channel
    doses_imported: int
    unmapped: tuple[Unmapped, ...]
    doses_skipped: int  # doses in rows left out (a row with both names unmapped counts once)
    unit: str = "dose"


def country_index(countries: Mapping[str, Country]) -> dict[str, str]:
    """Name -> ISO3 from the population table, plus the aliases."""
    index = {c.name: c.iso3 for c in countries.values()}
    index.update(COUNTRY_ALIASES)
    return index


def plan_import(rows: Iterable[DeliveryRow], countries: Mapping[str, Country]) -> UnicefImport:
    """Map every row; the events are idempotent (ids derive from country, product, month and
    channel), so importing the same file twice records nothing new."""
    names = country_index(countries)
    nodes: dict[str, Node] = {}
    events: list[LedgerEvent] = []
    problems: dict[tuple[str, str], tuple[str, list[int], list[int]]] = {}
    read = imported = empty = doses_in = doses_out = 0

    def report(kind: str, name: str, reason: str, row: DeliveryRow) -> None:
        entry = problems.setdefault((kind, name), (reason, [], []))
        entry[1].append(row.line)
        entry[2].append(row.total_doses)

    for row in rows:
        read += 1
        if not row.doses_by_channel:
            empty += 1
            continue
        iso3 = names.get(row.country_name)
        product = VACCINE_PRODUCTS.get(row.vaccine_name)
        if iso3 is None:
            reason = NOT_COUNTRIES.get(
                row.country_name, "no ISO3 code for this name (add it to COUNTRY_ALIASES)"
            )
            report("country", row.country_name, reason, row)
        if product is None:
            reason = NOT_PRODUCTS.get(
                row.vaccine_name, "no product for this name (add it to VACCINE_PRODUCTS)"
            )
            report("vaccine", row.vaccine_name, reason, row)
        if iso3 is None or product is None:
            doses_out += row.total_doses
            continue
        store = national_store(iso3)
        if store not in nodes:
            country = countries.get(iso3)
            label = country.name if country else row.country_name
            nodes[store] = Node(store, f"{label} national store", NodeKind.NATIONAL_STORE, iso3)
        lot = Lot(product, f"UNICEF-{row.month:%Y-%m}")
        start = datetime.combine(row.month, time(0, 0), tzinfo=UTC)
        for channel, doses in row.doses_by_channel:
            source = supply_node(channel)
            if source not in nodes:
                nodes[source] = Node(source, f"{channel} (UNICEF data)", NodeKind.SUPPLIER)
            key = f"{iso3}:{product}:{row.month:%Y-%m}:{channel_code(channel)}"
            shipment = f"UNICEF:{key}"
            events.append(
                ShipmentDispatched(
                    event_id=f"unicef:{key}:dispatched",
                    occurred_at=start,
                    recorded_by=RECORDED_BY,
                    shipment_id=shipment,
                    origin=source,
                    destination=store,
                    lot=lot,
                    quantity=doses,
                )
            )
            events.append(
                ShipmentReceived(
                    event_id=f"unicef:{key}:received",
                    occurred_at=start.replace(hour=12),
                    recorded_by=RECORDED_BY,
                    shipment_id=shipment,
                    node=store,
                    lot=lot,
                    quantity=doses,
                )
            )
            doses_in += doses
        imported += 1
    unmapped = tuple(
        Unmapped(kind, name, reason, tuple(lines), sum(doses))
        for (kind, name), (reason, lines, doses) in sorted(problems.items())
    )
    return UnicefImport(
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.code)),
        events=tuple(events),
        rows_read=read,
        rows_imported=imported,
        rows_empty=empty,
        doses_imported=doses_in,
        unmapped=unmapped,
        doses_skipped=doses_out,
    )
