"""Days at a node in queries: the API reads a date as the CLI does.

``at=2021-06-30`` (a bare date) is the end of 30 June at each node, in the node's time zone
(``ledger_nodes.time_zone``), or in the ``zone=`` a caller gives; ``at=2021-06-30T22:00Z``
(a date-time) is that exact instant everywhere. ``doseflow ledger stock --at`` and
``GET /api/stock?at=`` therefore give the same figures. When a bare date was cut into
instants, the response names the zone(s) in :data:`DAY_ZONE_HEADER`, in the words of the
CLI's "Day ends at local midnight: Asia/Pyongyang (PRK-NS)" caption.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Response
from pydantic import PlainValidator, TypeAdapter, ValidationError, WithJsonSchema

from doseflow.data.time_zones import load_zone
from doseflow.domain.limits import EARLIEST_DATE, LATEST_DATE
from doseflow.domain.time_zone import zone_name, zones_by_node
from doseflow.service.queries import BoundedDate, BoundedMoment

#: Names the zone whose midnight ended (or began) each day a bare date stood for.
DAY_ZONE_HEADER = "X-Doseflow-Day-Zone"

_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE: TypeAdapter[date] = TypeAdapter(BoundedDate)
_MOMENT: TypeAdapter[datetime] = TypeAdapter(BoundedMoment)
_EXPECTED = (
    f"YYYY-MM-DD (a day at each node) or an ISO 8601 date-time (an exact instant; UTC "
    f"without an offset), {EARLIEST_DATE} to {LATEST_DATE}"
)


def day_or_moment(value: object) -> date | datetime:
    """A bare ``YYYY-MM-DD`` is a day (a ``date``); anything else must be a moment (a
    ``datetime``), so ``2021-06-30T00:00Z`` stays midnight UTC, never a day."""
    if isinstance(value, datetime | date):
        return value
    text = str(value)
    try:
        if _BARE_DATE.fullmatch(text):
            return _DATE.validate_python(text)
        return _MOMENT.validate_python(text)
    except ValidationError:
        raise ValueError(f"expected {_EXPECTED}") from None


#: A day (bare date: read at each node) or an exact instant (date-time).
DayOrMoment = Annotated[
    date | datetime,
    PlainValidator(day_or_moment),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
    ),
]
DayOrMomentQuery = Annotated[
    DayOrMoment | None,
    Query(
        description="a date (YYYY-MM-DD: the end of that day at each node, in the node's time "
        "zone or in `zone`) or a date-time (an exact instant; UTC without an offset), "
        f"{EARLIEST_DATE} to {LATEST_DATE}"
    ),
]
ZoneQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="read dates in this IANA time zone (e.g. UTC) instead of each node's own",
    ),
]


def zone_of(name: str | None) -> tzinfo | None:
    """The ``zone`` parameter's zone; ``TIME_ZONE_UNKNOWN`` naming the parameter."""
    return None if name is None else load_zone(name, field="zone")


def is_day(value: date | datetime | None) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def state_zones(
    response: Response,
    days: bool,
    zone: tzinfo | None,
    zones: Callable[[], Mapping[str, tzinfo]],
    nodes: Iterable[str],
) -> None:
    """Name, in :data:`DAY_ZONE_HEADER`, the zone that cut the days asked: ``zone`` if given,
    else each node's (``Asia/Pyongyang (PRK-NS); UTC (SII)``; ``zones`` is read only then).
    Nothing when the query spoke of no day (``days`` false: instants need no zone) or no
    node is shown."""
    if not days:
        return
    shown = set(nodes)
    if zone is not None:
        text = zone_name(zone)
    elif shown:
        text = zones_by_node(zones(), shown)
    else:
        return
    response.headers[DAY_ZONE_HEADER] = quote(text, safe=" ();,/_-+:")


#: The header, described in the OpenAPI document of the endpoints that send it.
_HEADER_DOC = {
    DAY_ZONE_HEADER: {
        "description": "when a bare date was given: the zone whose days it was read in, "
        "per node shown, e.g. `Asia/Pyongyang (PRK-NS); UTC (SII)`, or the `zone` asked",
        "schema": {"type": "string"},
    }
}


def with_day_zone(responses: Mapping[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """``responses`` with :data:`DAY_ZONE_HEADER` among the 200 response's headers."""
    out = copy.deepcopy(dict(responses))
    ok = out.setdefault(200, {"description": "Successful Response"})
    ok.setdefault("headers", {}).update(_HEADER_DOC)
    return out
