"""Write ``src/doseflow/data/files/country_time_zones.csv``: one IANA time zone per country.

Sources: the tz database's ``zone.tab`` as shipped by the ``tzdata`` package (country codes
are ISO 3166-1 alpha-2; one row per zone in use in a country) and ISO 3166-1 alpha-2 <->
alpha-3 from Debian's ``iso-codes`` (``/usr/share/iso-codes/json/iso_3166-1.json``, the data
pycountry also ships). A country with one zone takes it; a country with several takes the
zone of its capital (:data:`CAPITAL_ZONES`, chosen by hand from zone.tab's comments);
Antarctica and the US Minor Outlying Islands have no capital and are left out (UTC).
Kosovo (``XKX``, no ISO 3166-1 code) and the Channel Islands (``CHI``, a WPP aggregate of
Jersey and Guernsey) are added for the WPP places doseflow bundles.

Run from the repository root: ``python tools/make_country_time_zones.py``.
"""

from __future__ import annotations

import csv
import importlib.resources
import json
from collections import defaultdict
from pathlib import Path

ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")
OUT = Path("src/doseflow/data/files/country_time_zones.csv")

#: ISO2 -> (zone, capital) for countries with several zones in zone.tab.
CAPITAL_ZONES: dict[str, tuple[str, str]] = {
    "AR": ("America/Argentina/Buenos_Aires", "Buenos Aires"),
    "AU": ("Australia/Sydney", "Canberra"),
    "BR": ("America/Sao_Paulo", "Brasília"),
    "CA": ("America/Toronto", "Ottawa"),
    "CD": ("Africa/Kinshasa", "Kinshasa"),
    "CL": ("America/Santiago", "Santiago"),
    "CN": ("Asia/Shanghai", "Beijing"),
    "CY": ("Asia/Nicosia", "Nicosia"),
    "DE": ("Europe/Berlin", "Berlin"),
    "EC": ("America/Guayaquil", "Quito"),
    "ES": ("Europe/Madrid", "Madrid"),
    "FM": ("Pacific/Pohnpei", "Palikir"),
    "GL": ("America/Nuuk", "Nuuk"),
    "ID": ("Asia/Jakarta", "Jakarta"),
    "KI": ("Pacific/Tarawa", "South Tarawa"),
    "KZ": ("Asia/Almaty", "Astana"),
    "MH": ("Pacific/Majuro", "Majuro"),
    "MN": ("Asia/Ulaanbaatar", "Ulaanbaatar"),
    "MX": ("America/Mexico_City", "Mexico City"),
    "MY": ("Asia/Kuala_Lumpur", "Kuala Lumpur"),
    "NZ": ("Pacific/Auckland", "Wellington"),
    "PF": ("Pacific/Tahiti", "Papeete"),
    "PG": ("Pacific/Port_Moresby", "Port Moresby"),
    "PS": ("Asia/Hebron", "Ramallah"),
    "PT": ("Europe/Lisbon", "Lisbon"),
    "RU": ("Europe/Moscow", "Moscow"),
    "UA": ("Europe/Kyiv", "Kyiv"),
    "US": ("America/New_York", "Washington, D.C."),
    "UZ": ("Asia/Tashkent", "Tashkent"),
}
NO_CAPITAL = {"AQ", "UM"}
#: WPP places without an ISO 3166-1 entry in zone.tab: iso3 -> (zone, note).
EXTRA: dict[str, tuple[str, str]] = {
    "XKX": ("Europe/Belgrade", "Kosovo: zone1970.tab's Europe/Belgrade region"),
    "CHI": ("Europe/Jersey", "Channel Islands: Jersey, the larger island (same as Guernsey)"),
}


def main() -> None:
    text = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    zones: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            parts = line.split("\t")
            zones[parts[0]].append(parts[2])
    iso3 = {c["alpha_2"]: c["alpha_3"] for c in json.loads(ISO_CODES.read_text())["3166-1"]}
    rows: list[tuple[str, str, str, int, str]] = []
    for iso2, found in zones.items():
        if iso2 in NO_CAPITAL:
            continue
        if len(found) == 1:
            rows.append((iso3[iso2], iso2, found[0], 1, "the only zone"))
            continue
        zone, capital = CAPITAL_ZONES[iso2]
        assert zone in found, (iso2, zone)
        rows.append((iso3[iso2], iso2, zone, len(found), f"capital: {capital}"))
    for code, (zone, note) in EXTRA.items():
        rows.append((code, "", zone, 1, note))
    with OUT.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["iso3", "iso2", "time_zone", "zones_in_country", "chosen_because"])
        writer.writerows(sorted(rows))


if __name__ == "__main__":
    main()
