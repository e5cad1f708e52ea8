"""Issue 14: a UNICEF monthly receipt (recorded at 12:00 UTC on the 1st) falls in its month
at the receiving store under every bundled country zone, so "stock received in March" at a
``<ISO3>-NS-UNICEF`` store counts March's deliveries whatever the country's offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from doseflow.data.deliveries import DeliveryRow
from doseflow.data.population import countries
from doseflow.data.time_zones import country_time_zone, country_time_zones
from doseflow.domain.events import ShipmentReceived
from doseflow.domain.time_zone import local_date
from doseflow.ledger.unicef import STORE_SUFFIX, plan_import

#: Every month of the UNICEF file's span and beyond (DST rules changed in between).
MONTHS = [date(2020 + i // 12, 1 + i % 12, 1) for i in range(60)]


def _receipts(iso3_names: dict[str, str]) -> list[ShipmentReceived]:
    rows = [
        DeliveryRow(line, name, "AstraZeneca - Vaxzevria", month, (("COVAX", 10),), 10)
        for line, (name, month) in enumerate(
            ((name, month) for name in iso3_names.values() for month in MONTHS), start=2
        )
    ]
    events = plan_import(rows, countries()).events
    return [e for e in events if isinstance(e, ShipmentReceived)]


def _offsets(zone: ZoneInfo, month: date) -> timedelta:
    offset = datetime.combine(month, datetime.min.time(), tzinfo=UTC).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def test_the_bundled_zones_span_utc_minus_11_to_plus_14() -> None:
    """What the check below covers: the table's offsets reach both ends of the world."""
    offsets = {
        _offsets(ZoneInfo(name), month)
        for name in set(country_time_zones().values())
        for month in MONTHS
    }
    assert min(offsets) <= timedelta(hours=-11)
    assert max(offsets) >= timedelta(hours=13)


def test_every_receipt_falls_in_its_month_at_the_receiving_store() -> None:
    wpp = countries()
    names = {iso3: wpp[iso3].name for iso3 in country_time_zones() if iso3 in wpp}
    receipts = _receipts(names)
    assert len(receipts) == len(names) * len(MONTHS)
    wrong = []
    for r in receipts:
        iso3 = r.node.removesuffix(STORE_SUFFIX)
        zone = ZoneInfo(country_time_zone(iso3) or "UTC")
        month = date.fromisoformat(r.lot.number.removeprefix("UNICEF-") + "-01")
        here = local_date(r.occurred_at, zone)
        if (here.year, here.month) != (month.year, month.month):
            wrong.append((r.node, month, str(zone), here))
    assert wrong == []


def test_the_receipt_is_in_its_month_at_any_offset_from_utc_minus_12_to_plus_14() -> None:
    """Any offset, not only today's table: a country may move (Samoa crossed the date line
    in 2011), so the import's instant must leave room on both sides."""
    for r in _receipts({"PRK": countries()["PRK"].name}):
        month = date.fromisoformat(r.lot.number.removeprefix("UNICEF-") + "-01")
        for quarter_hours in range(-12 * 4, 14 * 4 + 1):
            local = r.occurred_at + timedelta(minutes=15 * quarter_hours)
            assert (local.year, local.month) == (month.year, month.month), (r.occurred_at, local)
