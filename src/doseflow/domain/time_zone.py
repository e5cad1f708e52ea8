"""Civil days at a place: the one rule that turns a date into instants.

Events keep their instant (UTC). Reports, periods, due dates and "stock at a date" speak of
civil days, and a day begins at local midnight where the stock is: a dose received in
Pyongyang at 07:00 on 1 July (22:00 UTC on 30 June) was received on 1 July. Every cut of
time into days in doseflow goes through :func:`day_start`, so the ledger views, the report
cross-checks and compliance agree on which day an instant belongs to.

Zones are ``tzinfo`` objects (``zoneinfo.ZoneInfo`` in practice); loading one by name and
the bundled default per country live in :mod:`doseflow.data.time_zones`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo


def zone_name(zone: tzinfo) -> str:
    """The IANA name of ``zone`` (``str`` of a ``ZoneInfo`` is its key), ``UTC`` for UTC."""
    return "UTC" if zone is UTC else str(zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant (UTC) of ``day`` in ``zone``: local midnight, or, where a DST change
    skips midnight (e.g. America/Santiago), the moment the clocks jump. With ``fold=0``
    Python gives a skipped local time the offset before the change, which lands exactly on
    that moment; an ambiguous midnight takes its first occurrence."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_span(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants from the start of ``first`` (inclusive) to the end of ``last``
    (exclusive: the start of the next day) in ``zone``."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The civil date of ``moment`` in ``zone`` (a naive moment is read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def zones_by_node(zones: Mapping[str, tzinfo], nodes: Iterable[str]) -> str:
    """Which zone's days apply to which of ``nodes`` (a node not in ``zones``: UTC), as the
    CLI and the API state it: ``Asia/Pyongyang (PRK-NS, PRK-R1); UTC (SII)``, by zone name."""
    by_zone: dict[str, list[str]] = {}
    for code in sorted(set(nodes)):
        by_zone.setdefault(zone_name(zones.get(code, UTC)), []).append(code)
    return "; ".join(f"{zone} ({', '.join(codes)})" for zone, codes in sorted(by_zone.items()))
