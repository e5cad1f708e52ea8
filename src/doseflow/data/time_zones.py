"""Time zones by IANA name, and the bundled default zone of each country.

Nodes and org units may name their zone (``time_zone: Asia/Pyongyang``); otherwise a node
takes its country's default from ``files/country_time_zones.csv`` (ISO3 -> IANA zone), and a
node without a country (an international supplier) UTC. The table is derived from the tz
database's ``zone.tab`` (as shipped by the ``tzdata`` package) with ISO 3166-1 alpha-2 ->
alpha-3 codes; a country with several zones gets its capital's (the USA New York for
Washington, Russia Moscow, Brazil Sao Paulo for Brasília: see ``chosen_because``, and
``tools/make_country_time_zones.py`` which writes it). Zone rules come from the system's tz
database or the ``tzdata`` package (a dependency, so Windows and slim images have them).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doseflow.data.files import open_bundled
from doseflow.domain.errors import DoseflowError

_FILE = "country_time_zones.csv"
#: The zone of a node with no country and no zone of its own.
FALLBACK_ZONE = "UTC"
EXPECTED = "an IANA time zone name such as Asia/Pyongyang, Europe/Berlin or UTC"


@cache
def country_time_zones() -> Mapping[str, str]:
    """ISO3 -> IANA zone name, every country in the bundled table."""
    with open_bundled(_FILE) as f:
        return MappingProxyType({row["iso3"]: row["time_zone"] for row in csv.DictReader(f)})


def country_time_zone(iso3: str | None) -> str | None:
    """The default zone of a country (its capital's where it has several), or None."""
    return None if iso3 is None else country_time_zones().get(iso3.upper())


@cache
def _zone(name: str) -> ZoneInfo | None:
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def is_zone_name(name: str) -> bool:
    return _zone(name) is not None


def load_zone(
    name: str,
    *,
    field: str = "time_zone",
    source: str | None = None,
    line: int | None = None,
) -> ZoneInfo:
    """The zone called ``name``; ``TIME_ZONE_UNKNOWN`` (located) when there is none."""
    found = _zone(name)
    if found is None:
        raise DoseflowError(
            "TIME_ZONE_UNKNOWN",
            f"'{name}' is not a time zone of the IANA tz database",
            source=source,
            line=line,
            field=field,
            expected=EXPECTED,
            value=name,
        )
    return found


def zone_for(time_zone: str | None, country: str | None) -> ZoneInfo:
    """The zone of a place: its own ``time_zone`` if given, else its country's default,
    else UTC."""
    name = time_zone or country_time_zone(country) or FALLBACK_ZONE
    return load_zone(name)
