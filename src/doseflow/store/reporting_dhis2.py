"""Stored values as DHIS2's ``GET /api/dataValueSets`` selects them, bounded.

The query (:class:`doseflow.reporting.dhis2_params.ExportQuery`) is cut by the database
(data elements of the data sets, org units, periods or dates, last updated, attribute option
combos) and, for a participant, by its own country. An answer is at most
:data:`MAX_EXPORT_VALUES` values: a query matching more is refused rather than cut short, so
a client never takes a part for the whole; a client that asks for the first N (DHIS2's
``limit``) gets the first N in key order. The complete data set registrations of the values
selected come with them, so the answer can say which reports are complete, as DHIS2's does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_params import ExportQuery, unknown_attribute, within_dates
from doseflow.reporting.registrations import CompleteRegistration
from doseflow.reporting.schema import DEFAULT_SCHEMA, Schema
from doseflow.reporting.values import DataValue
from doseflow.store import reporting_tables as t
from doseflow.store.reporting import as_date, load_values, lookup_chunks

MAX_EXPORT_VALUES = 200_000


def export_values(
    engine: Engine,
    query: ExportQuery,
    *,
    participant: str | None = None,
    limit: int = MAX_EXPORT_VALUES,
) -> list[DataValue]:
    """The stored values ``query`` selects (of ``participant`` only, when given): its first
    ``query.limit`` when it sets one up to ``limit`` (a larger one cuts nothing, so the cap
    still refuses). An attribute option combo the mapping does not know must be carried by
    a stored value (of ``participant``) to be asked for."""
    _check_attributes(engine, query, participant)
    first = query.limit if query.limit is not None and query.limit <= limit else None
    fetch = limit + 1
    if first is not None and query.start is None:  # no filtering after the database
        fetch = first
    found = load_values(
        engine,
        participants=None if participant is None else [participant],
        org_units=list(query.org_units),
        periods=None if query.periods is None else list(query.periods),
        data_elements=list(query.data_elements),
        start=query.start,
        end=query.end,
        updated_since=query.updated_since,
        attributes=None if query.attributes is None else list(query.attributes),
        limit=fetch,
    )
    kept = [v for v in found if within_dates(v.period, query)]
    if first is not None and len(kept) >= first:  # the first N in key order, whatever follows
        return kept[:first]
    if len(found) > limit:
        raise DoseflowError(
            "REPORT_DHIS2_TOO_MANY_VALUES",
            f"the query matches more than {limit:,} values",
            field="period",
            expected=f"a query matching at most {limit:,} values (fewer periods or org units)",
        )
    return kept


def _check_attributes(engine: Engine, query: ExportQuery, participant: str | None) -> None:
    if not query.unmapped_attributes:
        return
    dv = t.data_values
    wanted = [key for key, _ in query.unmapped_attributes]
    q = select(dv.c.attribute).where(dv.c.attribute.in_(wanted)).distinct()
    if participant is not None:
        q = q.where(dv.c.participant == participant)
    with engine.connect() as conn:
        stored = set(conn.scalars(q))
    for key, given in query.unmapped_attributes:
        if key not in stored:
            raise unknown_attribute(given)


def export_registrations(
    engine: Engine,
    values: Sequence[DataValue],
    *,
    schema: Schema = DEFAULT_SCHEMA,
    participant: str | None = None,
) -> list[CompleteRegistration]:
    """The stored completions of the reports ``values`` belong to (org unit, report, period
    and attribute option combo of at least one of them), of ``participant`` only when given."""
    wanted = {
        (v.org_unit, schema.elements[v.data_element].report, v.period, v.attribute)
        for v in values
        if v.data_element in schema.elements
    }
    if not wanted:
        return []
    c = t.complete_registrations
    found: list[CompleteRegistration] = []
    with engine.connect() as conn:
        for units in lookup_chunks(sorted({key[0] for key in wanted})):
            q = select(
                c.c.participant, c.c.org_unit, c.c.report, c.c.period, c.c.attribute, c.c.completed
            ).where(c.c.org_unit.in_(list(units)))
            if participant is not None:
                q = q.where(c.c.participant == participant)
            for p, o, r, per, attr, done in conn.execute(q):
                if (o, r, per, attr) in wanted:
                    found.append(CompleteRegistration(p, o, r, per, attr, as_date(done)))
    return sorted(found, key=lambda r: r.key)
