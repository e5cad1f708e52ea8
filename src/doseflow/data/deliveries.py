"""UNICEF COVID-19 Vaccine Market Dashboard: doses delivered by country, vaccine and month.

The raw rows are kept as UNICEF published them (names are UNICEF's spelling, not ISO
codes; numbers carry thousands separators). Mapping names to ISO3 codes and products is the
ledger importer's job, which reports every name it could not map.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from doseflow.data.files import bundled_name, open_bundled
from doseflow.domain.errors import DoseflowError

FILE_NAME = "unicef_covid19_vaccine_deliveries_2020_2022.csv.gz"
CHANNELS: tuple[str, ...] = (
    "Bilateral/multilateral agreements",
    "Donations",
    "COVAX",
    "AVAT",
    "Unknown",
)


@dataclass(frozen=True)
class DeliveryRow:
    """One row of the UNICEF file: doses of one vaccine delivered to one place in a month."""

    line: int
    country_name: str
    vaccine_name: str
    month: date
    doses_by_channel: tuple[tuple[str, int], ...]  # (channel, doses) for non-empty channels
    total_doses: int


def _number(text: str, *, line: int, field: str) -> int:
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return 0
    try:
        return int(cleaned)
    except ValueError:
        raise DoseflowError(
            "DATA_BAD_NUMBER",
            "not a whole number of doses",
            source=bundled_name(FILE_NAME),
            line=line,
            field=field,
            expected="digits with optional thousands separators",
            value=text,
        ) from None


def _month(text: str, *, line: int) -> date:
    try:
        m, d, y = (int(p) for p in text.split("/"))
        return date(y, m, d)
    except ValueError:
        raise DoseflowError(
            "DATA_BAD_DATE",
            "not a month date",
            source=bundled_name(FILE_NAME),
            line=line,
            field="mmm Year",
            expected="M/1/YYYY",
            value=text,
        ) from None


def delivery_rows() -> Iterator[DeliveryRow]:
    """Every row of the bundled UNICEF deliveries file, parsed but not mapped."""
    with open_bundled(FILE_NAME) as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            by_channel = tuple(
                (ch, n) for ch in CHANNELS if (n := _number(row[ch] or "", line=line, field=ch)) > 0
            )
            yield DeliveryRow(
                line=line,
                country_name=row["Country/territory"].strip(),
                vaccine_name=row["WHO Preferred Vaccine Name"].strip(),
                month=_month(row["mmm Year"], line=line),
                doses_by_channel=by_channel,
                total_doses=_number(
                    row["Total Doses Delivered"] or "", line=line, field="Total Doses Delivered"
                ),
            )
