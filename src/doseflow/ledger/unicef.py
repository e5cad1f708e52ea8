"""UNICEF COVID-19 vaccine deliveries as received shipments in the ledger.

Each row of the UNICEF Market Dashboard file (country x vaccine x month, doses per channel)
becomes, per channel, a shipment dispatched by that channel's supply node and received at
the country's UNICEF-data national store (``<ISO3>-NS-UNICEF``) in that month. The store is
not the network's ``<ISO3>-NS``: shipments modelled from allocation rounds arrive there, and
stock that mixed modelled and reported doses would be neither. Country names are UNICEF's
spelling: they are matched to ISO3 codes through the bundled population table's names plus
:data:`COUNTRY_ALIASES`; vaccine names go through :data:`VACCINE_PRODUCTS`. A name that
cannot be mapped is never dropped silently: it is reported with every line it appears on
and the doses it carries. Rows whose vaccine is ``Unknown`` (40.7% of the file's doses) are
left out unless the caller asks for them under :data:`UNSPECIFIED` (:class:`UnknownVaccine`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from doseflow.data.deliveries import DeliveryRow
from doseflow.data.population import Country
from doseflow.domain.events import LedgerEvent, ShipmentDispatched, ShipmentReceived
from doseflow.domain.lot import Lot
from doseflow.domain.network import Node, NodeKind
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand

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

#: The site-neutral AstraZeneca product: ``AstraZeneca - Vaxzevria`` rows name no
#: manufacturing site (they hold the UK's and Germany's bilateral supply as much as COVAX's
#: SK Bioscience doses), so they cannot be SK Bioscience's ``AZ-SKB``.
ASTRAZENECA = "AZ"

#: The product of rows whose vaccine UNICEF does not name, when the caller imports them.
UNSPECIFIED = "COVID19-UNSPECIFIED"

#: UNICEF "WHO preferred vaccine name" -> doseflow product code. ``AZ-SII``, ``PFIZER`` and
#: ``SINOVAC`` are codes of the bundled allocation example (``data/examples/covax_2021.yaml``);
#: a name maps to a site-specific product only when it names the site (``SII - Covishield``:
#: the Serum Institute of India). No name in the file names SK Bioscience's AstraZeneca
#: (``SK Bio - SKYCovione`` is SK Bioscience's own vaccine), so no row lands under ``AZ-SKB``.
VACCINE_PRODUCTS: dict[str, str] = {
    "SII - Covishield": "AZ-SII",
    "AstraZeneca - Vaxzevria": ASTRAZENECA,
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

#: The name UNICEF gives rows whose vaccine it does not know.
UNKNOWN_VACCINE = "Unknown"

#: Why a vaccine name has no product.
NOT_PRODUCTS: dict[str, str] = {
    UNKNOWN_VACCINE: "the vaccine is not named in the UNICEF data (the unknown-vaccine "
    f"option 'unspecified' imports it as {UNSPECIFIED})"
}

#: Products the import introduces that the allocation example does not define, with their
#: presentation. ``AZ`` is presented as every AstraZeneca site's AZD1222 (the allocation
#: example's AZ-SKB and AZ-SII): 10-dose vials at 2-8 °C, two doses a course, packs of 2,400.
#: :data:`UNSPECIFIED` has no presentation (vial size, storage band, course are unknown):
#: it is counted in doses only, never in vials or packs.
PRODUCTS: dict[str, Product] = {
    ASTRAZENECA: Product(
        code=ASTRAZENECA,
        name="AZD1222 (AstraZeneca, any manufacturing site)",
        manufacturer="AstraZeneca (any manufacturing site)",
        doses_per_course=2,
        storage_band=TemperatureBand.CHILLED,
        shelf_life_days=180,
        doses_per_vial=10,
        pack_doses=2400,
        vials_per_shipper=240,
    ),
}


class UnknownVaccine(StrEnum):
    """What to do with rows whose vaccine is ``Unknown``: leave them out (reported, with
    their doses), or import them under :data:`UNSPECIFIED` so a country's total is right."""

    EXCLUDE = "exclude"
    UNSPECIFIED = "unspecified"


RECORDED_BY = "unicef-import"


def channel_code(channel: str) -> str:
    """``Bilateral/multilateral agreements`` -> ``BILATERAL-MULTILATERAL-AGREEMENTS``."""
    return re.sub(r"[^A-Z0-9]+", "-", channel.upper()).strip("-")


def supply_node(channel: str) -> str:
    """The supply node doses of ``channel`` come from."""
    return f"UNICEF-{channel_code(channel)}"


#: Ends the code of every national store the import receives at.
STORE_SUFFIX = "-NS-UNICEF"


def national_store(iso3: str) -> str:
    """The country's store of UNICEF-reported deliveries: apart from ``<ISO3>-NS``, where
    shipments modelled from allocation rounds arrive."""
    return f"{iso3}{STORE_SUFFIX}"


def is_unicef_node(code: str) -> bool:
    """Whether the import registered this node (its stores and its channels' supply nodes)."""
    return code.endswith(STORE_SUFFIX) or code.startswith("UNICEF-")


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
    unknown_vaccine: UnknownVaccine = UnknownVaccine.EXCLUDE
    unspecified_rows: int = 0  # rows imported under UNSPECIFIED
    unspecified_doses: int = 0
    unit: str = "dose"


def country_index(countries: Mapping[str, Country]) -> dict[str, str]:
    """Name -> ISO3 from the population table, plus the aliases."""
    index = {c.name: c.iso3 for c in countries.values()}
    index.update(COUNTRY_ALIASES)
    return index


def plan_import(
    rows: Iterable[DeliveryRow],
    countries: Mapping[str, Country],
    *,
    unknown_vaccine: UnknownVaccine = UnknownVaccine.EXCLUDE,
) -> UnicefImport:
    """Map every row; the events are idempotent (ids derive from country, product, month and
    channel), so importing the same file twice records nothing new. Rows that map to the same
    country, product, month and channel (two spellings of one country) are one shipment of
    their sum, never two events with one id."""
    names = country_index(countries)
    nodes: dict[str, Node] = {}
    doses_by_key: dict[tuple[str, str, date, str], int] = {}
    problems: dict[tuple[str, str], tuple[str, list[int], list[int]]] = {}
    read = imported = empty = doses_out = unspecified_rows = unspecified_doses = 0

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
        if row.vaccine_name == UNKNOWN_VACCINE and unknown_vaccine is UnknownVaccine.UNSPECIFIED:
            product = UNSPECIFIED
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
            nodes[store] = Node(
                store,
                f"{label} national store (UNICEF deliveries data)",
                NodeKind.NATIONAL_STORE,
                iso3,
            )
        for channel, doses in row.doses_by_channel:
            source = supply_node(channel)
            if source not in nodes:
                nodes[source] = Node(source, f"{channel} (UNICEF data)", NodeKind.SUPPLIER)
            key = (iso3, product, row.month, channel)
            doses_by_key[key] = doses_by_key.get(key, 0) + doses
        imported += 1
        if product == UNSPECIFIED:
            unspecified_rows += 1
            unspecified_doses += row.total_doses
    events: list[LedgerEvent] = []
    for (iso3, product, month, channel), doses in doses_by_key.items():
        events.extend(_shipment(iso3, product, month, channel, doses))
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
        doses_imported=sum(doses_by_key.values()),
        unmapped=unmapped,
        doses_skipped=doses_out,
        unknown_vaccine=unknown_vaccine,
        unspecified_rows=unspecified_rows,
        unspecified_doses=unspecified_doses,
    )


def _shipment(
    iso3: str, product: str, month: date, channel: str, doses: int
) -> tuple[ShipmentDispatched, ShipmentReceived]:
    """The dispatch by the channel's supply node and the receipt at the country's store."""
    lot = Lot(product, f"UNICEF-{month:%Y-%m}")
    start = datetime.combine(month, time(0, 0), tzinfo=UTC)
    key = f"{iso3}:{product}:{month:%Y-%m}:{channel_code(channel)}"
    shipment = f"UNICEF:{key}"
    return (
        ShipmentDispatched(
            event_id=f"unicef:{key}:dispatched",
            occurred_at=start,
            recorded_by=RECORDED_BY,
            shipment_id=shipment,
            origin=supply_node(channel),
            destination=national_store(iso3),
            lot=lot,
            quantity=doses,
        ),
        ShipmentReceived(
            event_id=f"unicef:{key}:received",
            # noon UTC on the 1st is in that month locally from UTC-12 (00:00 on the 1st) to
            # UTC+14 (02:00 on the 2nd): every bundled country zone (tests/ledger/
            # test_unicef_local_month.py), so the receipt counts in its month at the store
            occurred_at=start.replace(hour=12),
            recorded_by=RECORDED_BY,
            shipment_id=shipment,
            node=national_store(iso3),
            lot=lot,
            quantity=doses,
        ),
    )
