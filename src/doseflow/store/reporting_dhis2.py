"""Stored values as DHIS2's ``GET /api/dataValueSets`` selects them, bounded.

The query (:class:`doseflow.reporting.dhis2_params.ExportQuery`) is cut by the database
(data elements of the data sets, org units, periods or dates, last updated) and, for a
participant, by its own country. An answer is at most :data:`MAX_EXPORT_VALUES` values: a
query matching more is refused rather than cut short, so a client never takes a part for
the whole.
"""

from __future__ import annotations

from sqlalchemy import Engine

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_params import ExportQuery, within_dates
from doseflow.reporting.values import DataValue
from doseflow.store.reporting import load_values

MAX_EXPORT_VALUES = 200_000


def export_values(
    engine: Engine,
    query: ExportQuery,
    *,
    participant: str | None = None,
    limit: int = MAX_EXPORT_VALUES,
) -> list[DataValue]:
    """The stored values ``query`` selects (of ``participant`` only, when given)."""
    found = load_values(
        engine,
        participants=None if participant is None else [participant],
        org_units=list(query.org_units),
        periods=None if query.periods is None else list(query.periods),
        data_elements=list(query.data_elements),
        start=query.start,
        end=query.end,
        updated_since=query.updated_since,
        limit=limit + 1,
    )
    if len(found) > limit:
        raise DoseflowError(
            "REPORT_DHIS2_TOO_MANY_VALUES",
            f"the query matches more than {limit:,} values",
            field="period",
            expected=f"a query matching at most {limit:,} values (fewer periods or org units)",
        )
    return [v for v in found if within_dates(v.period, query)]
