"""Persistence of reporting: submitted values (idempotent upsert), period locks with an audited
reopening, requirements and compliance, plausibility over stored values.

``submit`` is the one way values get in: it loads what the submission is checked against
(stored values, locks, ledger figures), lets :func:`doseflow.reporting.validate_submission`
decide every value's outcome, then writes the accepted and updated values in one
transaction through the batch path (:func:`upsert_values`: one multi-row
``INSERT ... ON CONFLICT DO UPDATE`` statement executed many times, the same SQL on SQLite
and PostgreSQL), and removes the values the submission deleted (DHIS2 ``"deleted": true``
or the DELETE import strategy) in the same transaction. A dry run stops before writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.compliance import (
    Completions,
    ComplianceRow,
    GatePolicy,
    GateResult,
    Requirement,
    Submissions,
    compliance,
    readiness_gate,
)
from doseflow.reporting.crosscheck import ledger_needs
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.import_strategy import ImportStrategy
from doseflow.reporting.locks import LockAction, LockEvent, LockKey, PeriodLock
from doseflow.reporting.periods import Period, PeriodType, parse_period
from doseflow.reporting.plausibility import (
    PlausibilityOptions,
    PlausibilityReport,
    check_plausibility,
)
from doseflow.reporting.registrations import (
    CompleteRegistration,
    RegistrationRequest,
    check_registrations,
)
from doseflow.reporting.schema import DEFAULT_SCHEMA, Schema
from doseflow.reporting.submission import (
    ImportSummary,
    StoredValues,
    SubmissionContext,
    paused_gc,
    validate_submission,
)
from doseflow.reporting.values import (
    DEFAULT_ATTRIBUTE_KEY,
    DataValue,
    Origin,
    SubmittedValue,
    ValueKey,
)
from doseflow.store import reporting_tables as t
from doseflow.store.reporting_ledger import LedgerSource, ledger_figures

#: Rows per executemany call of the batch path.
BATCH_ROWS = 20_000
#: Rows per multi-row INSERT on PostgreSQL (12 parameters each; the limit is 65,535).
PG_ROWS_PER_STATEMENT = 1_000
#: SQLite page cache (KiB) on a connection that runs the batch path.
SQLITE_CACHE_KIB = 131_072
#: Items per IN (...) list when reading.
LOOKUP_CHUNK = 500
DEFAULT_GATE_POLICY = GatePolicy()
DEFAULT_PLAUSIBILITY = PlausibilityOptions()

_KEY_COLUMNS = ("participant", "org_unit", "period", "data_element", "category", "attribute")
_VALUE_COLUMNS = (
    *_KEY_COLUMNS,
    "value",
    "comment",
    "period_start",
    "stored_by",
    "created_at",
    "updated_at",
)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _epoch(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def _upsert_sql(conn: Connection, rows_per_statement: int = 1) -> str:
    """``INSERT ... VALUES (...)[, (...)] ON CONFLICT (key) DO UPDATE``: the same SQL on
    SQLite and PostgreSQL, with the driver's placeholders."""
    marker = "?" if conn.dialect.name == "sqlite" else "%s"
    cols = ", ".join(_VALUE_COLUMNS)
    one = "(" + ", ".join([marker] * len(_VALUE_COLUMNS)) + ")"
    keys = ", ".join(_KEY_COLUMNS)
    return (
        f"INSERT INTO {t.data_values.name} ({cols}) VALUES "
        + ", ".join([one] * rows_per_statement)
        + f" ON CONFLICT ({keys}) DO UPDATE SET value = excluded.value, "
        "comment = excluded.comment, stored_by = excluded.stored_by, "
        "updated_at = excluded.updated_at"
    )


def _send(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """One chunk of rows. SQLite: ``executemany`` of the one-row statement (it reuses one
    prepared statement, the fastest path there). PostgreSQL: multi-row statements of
    :data:`PG_ROWS_PER_STATEMENT` rows (one round trip per statement, not per row)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_upsert_sql(conn), rows)
        return
    per = PG_ROWS_PER_STATEMENT
    full, rest = divmod(len(rows), per)
    if full:
        sql = _upsert_sql(conn, per)
        params = [
            tuple(x for row in rows[i * per : (i + 1) * per] for x in row) for i in range(full)
        ]
        conn.exec_driver_sql(sql, params)
    if rest:
        tail = rows[full * per :]
        conn.exec_driver_sql(_upsert_sql(conn, rest), tuple(x for row in tail for x in row))


def upsert_values(
    conn: Connection,
    values: Sequence[DataValue],
    *,
    stored_by: str | None = None,
    now: datetime | None = None,
) -> int:
    """The batch path: insert or replace ``values`` by key, :data:`BATCH_ROWS` rows at a
    time (see :func:`_send`). Keys must be unique within ``values`` (``submit`` guarantees
    it). Runs in the caller's transaction; does no validation (use :func:`submit`).
    Returns the number of rows sent."""
    if not values:
        return 0
    stamp = _epoch(now or _utcnow())
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    starts: dict[str, Any] = {}
    rows: list[tuple[Any, ...]] = []
    with paused_gc():
        _upsert_rows(conn, values, rows, starts, stored_by, stamp, sqlite)
    return len(values)


def _upsert_rows(
    conn: Connection,
    values: Sequence[DataValue],
    rows: list[tuple[Any, ...]],
    starts: dict[str, Any],
    stored_by: str | None,
    stamp: int,
    sqlite: bool,
) -> None:
    for v in values:
        start = starts.get(v.period)
        if start is None:
            day = parse_period(v.period).start
            start = starts[v.period] = day.isoformat() if sqlite else day
        rows.append(
            (
                v.participant,
                v.org_unit,
                v.period,
                v.data_element,
                v.category,
                v.attribute,
                v.value,
                v.comment,
                start,
                stored_by,
                stamp,
                stamp,
            )
        )
        if len(rows) >= BATCH_ROWS:
            _send(conn, rows)
            rows = []
    if rows:
        _send(conn, rows)


def lookup_chunks(items: Sequence[str], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[str]]:
    """``items`` in slices small enough for one ``IN (...)`` list on every backend."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def stored_values_for(
    conn: Connection, values: Sequence[SubmittedValue], hierarchy: Hierarchy
) -> dict[ValueKey, tuple[float, str | None]]:
    """Stored values a submission may touch: every stored value of its participants in its
    periods (read by key prefix), kept when the org unit is one of the submission's."""
    found: dict[ValueKey, tuple[float, str | None]] = {}
    dv = t.data_values
    if conn.execute(select(dv.c.participant).limit(1)).first() is None:
        return found  # an empty table: nothing to compare with
    periods: set[str] = set()
    for text in {v.period for v in values}:
        try:
            periods.add(parse_period(text).code)
        except DoseflowError:
            continue
    org_units = {v.org_unit for v in values}
    participants = {v.participant for v in values if v.participant is not None}
    for org_unit in org_units:
        owner = hierarchy.participant_of(org_unit)
        if owner is not None:
            participants.add(owner)
    if not periods or not participants:
        return found
    for pchunk in lookup_chunks(sorted(participants)):
        for perchunk in lookup_chunks(sorted(periods)):
            q = select(
                dv.c.participant,
                dv.c.org_unit,
                dv.c.period,
                dv.c.data_element,
                dv.c.category,
                dv.c.attribute,
                dv.c.value,
                dv.c.comment,
            ).where(dv.c.participant.in_(pchunk), dv.c.period.in_(perchunk))
            for p, o, per, de, cat, attr, value, comment in conn.execute(q):
                if o in org_units:
                    found[(p, o, per, de, cat, attr)] = (float(value), comment)
    return found


def _lock_rows(conn: Connection, participant: str | None = None) -> dict[LockKey, PeriodLock]:
    q = select(t.period_locks)
    if participant is not None:
        q = q.where(t.period_locks.c.participant == participant)
    return {
        (r.participant, r.report, r.period): PeriodLock(
            r.participant, r.report, r.period, r.locked_at, r.locked_by, r.note
        )
        for r in conn.execute(q)
    }


def _record_submissions(conn: Connection, reports: Iterable[LockKey], now: datetime) -> None:
    """First and last submission time per participant, report and period: one multi-row
    upsert (the first time is kept, the count goes up)."""
    rows = [
        {
            "participant": p,
            "report": r,
            "period": per,
            "first_submitted_at": now,
            "last_submitted_at": now,
            "submission_count": 1,
        }
        for p, r, per in sorted(set(reports))
    ]
    if not rows:
        return
    s = t.submissions
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = dialect_insert(s)
    stmt = stmt.on_conflict_do_update(
        index_elements=[s.c.participant, s.c.report, s.c.period],
        set_={
            "last_submitted_at": stmt.excluded.last_submitted_at,
            "submission_count": s.c.submission_count + 1,
        },
    )
    conn.execute(stmt, rows)


def submit(
    engine: Engine,
    values: Sequence[SubmittedValue],
    *,
    hierarchy: Hierarchy,
    schema: Schema = DEFAULT_SCHEMA,
    as_of: date | None = None,
    dry_run: bool = False,
    atomic: bool = False,
    ledger: LedgerSource | None = None,
    stored_by: str | None = None,
    now: datetime | None = None,
    data_sets: Sequence[RegistrationRequest] = (),
    strategy: ImportStrategy = ImportStrategy.CREATE_AND_UPDATE,
) -> ImportSummary:
    """Validate ``values`` and store the accepted and updated ones, delete the deleted ones
    (unless ``dry_run``); ``strategy`` is DHIS2's ``importStrategy``.

    ``as_of`` (default: today, UTC) decides which periods are open. ``ledger`` turns on the
    ledger cross-checks. Returns the per-value :class:`ImportSummary`; a submission's first
    arrival per participant, report and period is recorded for compliance.

    ``data_sets`` are the data sets an exchange file names (:class:`ExchangeDocument`): an
    unknown one or a bad completion raises before anything is written; completions are
    stored with the values (not in a dry run, nor when the summary's status is ERROR).
    """
    moment = now or _utcnow()
    today = as_of or moment.date()
    with engine.connect() as conn, paused_gc():
        stored: StoredValues = stored_values_for(conn, values, hierarchy)
        locks = _lock_rows(conn)
    completed = check_registrations(data_sets, schema, hierarchy, locks)
    figures = None
    if ledger is not None:
        figures = ledger_figures(ledger, hierarchy, ledger_needs(values, schema))
    ctx = SubmissionContext(
        schema=schema,
        hierarchy=hierarchy,
        as_of=today,
        stored=stored,
        locks=locks,
        ledger=figures,
    )
    summary = validate_submission(values, ctx, dry_run=dry_run, atomic=atomic, strategy=strategy)
    if completed:
        summary = replace(summary, completed=tuple(completed))
    if dry_run or (atomic and summary.conflicts):
        return summary
    with engine.begin() as conn:
        upsert_values(conn, summary.writes, stored_by=stored_by, now=moment)
        delete_keys(conn, summary.deletes)
        _record_submissions(conn, summary.reports, moment)
        if summary.completions_written:
            _upsert_registrations(conn, completed, stored_by, moment)
    return summary


# -- complete data set registrations ---------------------------------------------------


def _upsert_registrations(
    conn: Connection,
    registrations: Sequence[CompleteRegistration],
    stored_by: str | None,
    now: datetime,
) -> None:
    """Insert or replace registrations by key (the later completion date wins, as in DHIS2
    where completing again updates the registration)."""
    rows = {
        r.key: {
            "participant": r.participant,
            "org_unit": r.org_unit,
            "report": r.report,
            "period": r.period,
            "attribute": r.attribute,
            "completed": r.completed,
            "stored_by": stored_by,
            "stored_at": now,
        }
        for r in registrations
    }
    if not rows:
        return
    c = t.complete_registrations
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = dialect_insert(c)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.c.participant, c.c.org_unit, c.c.report, c.c.period, c.c.attribute],
        set_={
            "completed": stmt.excluded.completed,
            "stored_by": stmt.excluded.stored_by,
            "stored_at": stmt.excluded.stored_at,
        },
    )
    conn.execute(stmt, list(rows.values()))


def register_complete(
    engine: Engine,
    org_unit: str,
    report: str,
    period: str,
    *,
    hierarchy: Hierarchy,
    completed: date | None = None,
    attribute: str = DEFAULT_ATTRIBUTE_KEY,
    by: str | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    now: datetime | None = None,
) -> CompleteRegistration:
    """Mark a report complete by hand (``doseflow report complete``); ``completed`` defaults
    to today (UTC). Replaces an earlier registration of the same key."""
    moment = now or _utcnow()
    request = RegistrationRequest(
        data_set=report,
        period=period,
        org_unit=org_unit,
        attribute=attribute,
        completed=(completed or moment.date()).isoformat(),
        origin=Origin(columns={"data_set": "--report", "period": "--period"}),
    )
    with engine.begin() as conn:
        (registration,) = check_registrations([request], schema, hierarchy, _lock_rows(conn))
        _upsert_registrations(conn, [registration], by, moment)
    return registration


def unregister_complete(
    engine: Engine,
    org_unit: str,
    report: str,
    period: str,
    *,
    attribute: str = DEFAULT_ATTRIBUTE_KEY,
) -> int:
    """Remove a completion (``doseflow report incomplete``); how many were removed (0 or 1).
    The report then counts by its values again. Refused while the report is locked."""
    c = t.complete_registrations
    code = parse_period(period).code
    with engine.begin() as conn:
        owners = conn.execute(
            select(c.c.participant).where(
                c.c.org_unit == org_unit,
                c.c.report == report,
                c.c.period == code,
                c.c.attribute == attribute,
            )
        ).scalars()
        locks = _lock_rows(conn)
        for owner in owners:
            lock = locks.get((owner, report, code))
            if lock is not None:
                raise DoseflowError(
                    "REPORT_PERIOD_LOCKED",
                    f"the {report} report of {owner} for {code} was approved and locked by "
                    f"{lock.locked_by} on {lock.locked_at:%Y-%m-%d}; its completion cannot "
                    "change; reopen it first",
                    field="period",
                    expected="an open period (or `doseflow report reopen` with a reason)",
                    value=code,
                )
        result = conn.execute(
            delete(c).where(
                c.c.org_unit == org_unit,
                c.c.report == report,
                c.c.period == code,
                c.c.attribute == attribute,
            )
        )
    return int(result.rowcount or 0)


def stored_registrations(
    engine: Engine | Connection, participant: str | None = None
) -> list[CompleteRegistration]:
    """Stored completions, ordered by key."""
    c = t.complete_registrations
    q = select(c.c.participant, c.c.org_unit, c.c.report, c.c.period, c.c.attribute, c.c.completed)
    if participant is not None:
        q = q.where(c.c.participant == participant)
    q = q.order_by(c.c.participant, c.c.org_unit, c.c.report, c.c.period, c.c.attribute)

    def read(conn: Connection) -> list[CompleteRegistration]:
        return [
            CompleteRegistration(p, o, r, per, attr, as_date(done))
            for p, o, r, per, attr, done in conn.execute(q)
        ]

    if isinstance(engine, Connection):
        return read(engine)
    with engine.connect() as conn:
        return read(conn)


def as_date(value: Any) -> date:
    """A stored date as a date (SQLite hands back text, PostgreSQL a date)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def stored_completions(engine: Engine, participant: str | None = None) -> Completions:
    """Per participant, report and period, every completion and when it was stored (what
    :func:`doseflow.reporting.compliance` takes)."""
    c = t.complete_registrations
    q = select(c.c.participant, c.c.report, c.c.period, c.c.completed, c.c.stored_at)
    if participant is not None:
        q = q.where(c.c.participant == participant)
    found: dict[tuple[str, str, str], list[tuple[date, datetime]]] = {}
    with engine.connect() as conn:
        for p, r, per, done, at in conn.execute(q):
            found.setdefault((p, r, per), []).append((as_date(done), at))
    return found


def _values_query(
    participants: Sequence[str] | None,
    org_units: Sequence[str] | None,
    periods: Sequence[str] | None,
    data_elements: Sequence[str] | None,
    start: date | None,
    end: date | None,
    updated_since: datetime | None = None,
    attributes: Sequence[str] | None = None,
) -> Any:
    dv = t.data_values
    q = select(
        dv.c.participant,
        dv.c.org_unit,
        dv.c.period,
        dv.c.data_element,
        dv.c.category,
        dv.c.value,
        dv.c.comment,
        dv.c.attribute,
    )
    if participants is not None:
        q = q.where(dv.c.participant.in_(list(participants)))
    if org_units is not None:
        q = q.where(dv.c.org_unit.in_(list(org_units)))
    if periods is not None:
        q = q.where(dv.c.period.in_([parse_period(p).code for p in periods]))
    if data_elements is not None:
        q = q.where(dv.c.data_element.in_(list(data_elements)))
    if start is not None:
        q = q.where(dv.c.period_start >= start)
    if end is not None:
        q = q.where(dv.c.period_start <= end)
    if updated_since is not None:
        q = q.where(dv.c.updated_at >= _epoch(updated_since))
    if attributes is not None:
        q = q.where(dv.c.attribute.in_(list(attributes)))
    return q


def _read_values(conn: Connection, query: Any) -> list[DataValue]:
    return [
        DataValue(p, o, per, de, cat, float(value), comment, attr)
        for p, o, per, de, cat, value, comment, attr in conn.execute(query)
    ]


def load_values(
    engine: Engine | Connection,
    *,
    participants: Sequence[str] | None = None,
    org_units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    data_elements: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    updated_since: datetime | None = None,
    limit: int | None = None,
    attributes: Sequence[str] | None = None,
) -> list[DataValue]:
    """Stored values matching every filter given, ordered by key (``updated_since``: stored
    or changed at or after that moment, UTC when naive; ``limit``: at most that many;
    ``attributes``: of these attribute option combo keys only)."""
    dv = t.data_values
    q = _values_query(
        participants, org_units, periods, data_elements, start, end, updated_since, attributes
    )
    q = q.order_by(*(dv.c[c] for c in _KEY_COLUMNS))
    if limit is not None:
        q = q.limit(limit)
    if isinstance(engine, Connection):
        return _read_values(engine, q)
    with engine.connect() as conn:
        return _read_values(conn, q)


def values_page(
    engine: Engine,
    *,
    limit: int,
    offset: int = 0,
    participants: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    data_elements: Sequence[str] | None = None,
) -> tuple[list[DataValue], int]:
    """One page of :func:`load_values` (the same order), cut by the database, and how many
    values match in all."""
    dv = t.data_values
    q = _values_query(participants, None, periods, data_elements, None, None)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        ordered = q.order_by(*(dv.c[c] for c in _KEY_COLUMNS)).limit(limit).offset(offset)
        return _read_values(conn, ordered), int(total)


def count_values(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.data_values)).scalar_one())


# -- period locks -----------------------------------------------------------------------


def _checked_report_period(schema: Schema, report: str, period: str) -> Period:
    rt = schema.report_types.get(report)
    if rt is None:
        raise DoseflowError(
            "REPORT_UNKNOWN_REPORT_TYPE",
            f"'{report}' is not a report type of the schema",
            field="report",
            expected="one of " + ", ".join(sorted(schema.report_types)),
            value=report,
        )
    found = parse_period(period)
    if found.type not in rt.period_types:
        raise DoseflowError(
            "REPORT_WRONG_PERIOD_TYPE",
            f"report '{report}' is not kept per {found.type.value} period",
            field="period",
            expected=" or ".join(p.value for p in rt.period_types) + " periods",
            value=period,
        )
    return found


def lock_period(
    engine: Engine,
    participant: str,
    report: str,
    period: str,
    *,
    by: str,
    note: str | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    now: datetime | None = None,
) -> PeriodLock:
    """Lock a participant's report for a period after approval (audited)."""
    p = _checked_report_period(schema, report, period)
    moment = now or _utcnow()
    with engine.begin() as conn:
        held = _lock_rows(conn, participant).get((participant, report, p.code))
        if held is not None:
            raise DoseflowError(
                "REPORT_PERIOD_ALREADY_LOCKED",
                f"the {report} report of {participant} for {p.code} is already locked "
                f"(by {held.locked_by} on {held.locked_at:%Y-%m-%d})",
                field="period",
                expected="an open period",
                value=p.code,
            )
        conn.execute(
            insert(t.period_locks).values(
                participant=participant,
                report=report,
                period=p.code,
                locked_at=moment,
                locked_by=by,
                note=note,
            )
        )
        _audit(conn, participant, report, p.code, LockAction.LOCK, by, note, moment)
    return PeriodLock(participant, report, p.code, moment, by, note)


def reopen_period(
    engine: Engine,
    participant: str,
    report: str,
    period: str,
    *,
    by: str,
    reason: str,
    schema: Schema = DEFAULT_SCHEMA,
    now: datetime | None = None,
) -> LockEvent:
    """Reopen a locked period for correction; ``reason`` is required and audited."""
    p = _checked_report_period(schema, report, period)
    if not reason or not reason.strip():
        raise DoseflowError(
            "REPORT_REOPEN_NEEDS_REASON",
            f"reopening the {report} report of {participant} for {p.code} needs a reason",
            field="reason",
            expected="a reason for the audit trail (e.g. 'district figures corrected')",
            value=reason,
        )
    moment = now or _utcnow()
    with engine.begin() as conn:
        key = (participant, report, p.code)
        if key not in _lock_rows(conn, participant):
            raise DoseflowError(
                "REPORT_PERIOD_NOT_LOCKED",
                f"the {report} report of {participant} for {p.code} is not locked",
                field="period",
                expected="a locked period",
                value=p.code,
            )
        pl = t.period_locks
        conn.execute(
            delete(pl).where(
                pl.c.participant == participant, pl.c.report == report, pl.c.period == p.code
            )
        )
        _audit(conn, participant, report, p.code, LockAction.REOPEN, by, reason, moment)
    return LockEvent(participant, report, p.code, LockAction.REOPEN, by, moment, reason)


def _audit(
    conn: Connection,
    participant: str,
    report: str,
    period: str,
    action: LockAction,
    actor: str,
    reason: str | None,
    at: datetime,
) -> None:
    conn.execute(
        insert(t.lock_audit).values(
            participant=participant,
            report=report,
            period=period,
            action=action.value,
            actor=actor,
            reason=reason,
            at=at,
        )
    )


def period_locks(engine: Engine, participant: str | None = None) -> dict[LockKey, PeriodLock]:
    with engine.connect() as conn:
        return _lock_rows(conn, participant)


def lock_history(engine: Engine, participant: str | None = None) -> list[LockEvent]:
    """The audit trail of locks and reopenings, oldest first."""
    a = t.lock_audit
    q = select(a).order_by(a.c.id)
    if participant is not None:
        q = q.where(a.c.participant == participant)
    with engine.connect() as conn:
        return [
            LockEvent(
                r.participant, r.report, r.period, LockAction(r.action), r.actor, r.at, r.reason
            )
            for r in conn.execute(q)
        ]


# -- requirements and compliance --------------------------------------------------------


def save_requirements(engine: Engine, reqs: Iterable[Requirement]) -> int:
    """Insert or replace requirements, one per participant and report type."""
    r = t.requirements
    moment = _utcnow()
    count = 0
    with engine.begin() as conn:
        for req in reqs:
            conn.execute(
                delete(r).where(r.c.participant == req.participant, r.c.report == req.report)
            )
            conn.execute(
                insert(r).values(
                    participant=req.participant,
                    report=req.report,
                    frequency=req.frequency.value,
                    due_days=req.due_days,
                    first_period=req.first_period.code,
                    last_period=None if req.last_period is None else req.last_period.code,
                    updated_at=moment,
                )
            )
            count += 1
    return count


def stored_requirements(engine: Engine, participant: str | None = None) -> list[Requirement]:
    r = t.requirements
    q = select(r).order_by(r.c.participant, r.c.report)
    if participant is not None:
        q = q.where(r.c.participant == participant)
    with engine.connect() as conn:
        return [
            Requirement(
                row.participant,
                row.report,
                PeriodType(row.frequency),
                int(row.due_days),
                parse_period(row.first_period),
                None if row.last_period is None else parse_period(row.last_period),
            )
            for row in conn.execute(q)
        ]


def stored_submissions(engine: Engine, participant: str | None = None) -> Submissions:
    s = t.submissions
    q = select(s.c.participant, s.c.report, s.c.period, s.c.first_submitted_at)
    if participant is not None:
        q = q.where(s.c.participant == participant)
    with engine.connect() as conn:
        return {(p, r, per): at for p, r, per, at in conn.execute(q)}


def compliance_view(
    engine: Engine,
    as_of: date | None = None,
    participant: str | None = None,
    zones: Mapping[str, str] | None = None,
) -> list[ComplianceRow]:
    """On time / late / missing / not yet due, per requirement and owed period; days are
    the participant's (``zones``, else its country's default zone)."""
    today = as_of or _utcnow().date()
    return compliance(
        stored_requirements(engine, participant),
        stored_submissions(engine, participant),
        today,
        stored_completions(engine, participant),
        zones,
    )


def readiness(
    engine: Engine,
    participants: Iterable[str],
    policy: GatePolicy = DEFAULT_GATE_POLICY,
    as_of: date | None = None,
    zones: Mapping[str, str] | None = None,
) -> dict[str, GateResult]:
    """Per participant, pass/fail of the reporting readiness gate (off by default): the
    input the allocation engine's readiness gate takes."""
    wanted = list(participants)
    rows = [r for r in compliance_view(engine, as_of, zones=zones) if r.participant in set(wanted)]
    return readiness_gate(rows, wanted, policy)


# -- plausibility -----------------------------------------------------------------------


def plausibility(
    engine: Engine,
    hierarchy: Hierarchy,
    *,
    schema: Schema = DEFAULT_SCHEMA,
    participants: Sequence[str] | None = None,
    options: PlausibilityOptions = DEFAULT_PLAUSIBILITY,
    start: date | None = None,
    end: date | None = None,
) -> PlausibilityReport:
    """Plausibility flags over stored values (of ``participants`` and their neighbours), with
    notes on the checks that could not run."""
    wanted: list[str] | None = None
    if participants is not None:
        found = set(participants)
        for p in participants:
            found.update(hierarchy.neighbours_of(p))
        wanted = sorted(found)
    values = load_values(engine, participants=wanted, start=start, end=end)
    only = None if participants is None else set(participants)
    return check_plausibility(values, schema, hierarchy, options, only)


def delete_keys(conn: Connection, keys: Sequence[ValueKey]) -> None:
    """Remove the stored values under ``keys`` in the caller's transaction (one statement
    executed for every key)."""
    if not keys:
        return
    dv = t.data_values
    stmt = delete(dv).where(
        dv.c.participant == bindparam("k_p"),
        dv.c.org_unit == bindparam("k_o"),
        dv.c.period == bindparam("k_per"),
        dv.c.data_element == bindparam("k_de"),
        dv.c.category == bindparam("k_cat"),
        dv.c.attribute == bindparam("k_attr"),
    )
    conn.execute(
        stmt,
        [
            {"k_p": p, "k_o": o, "k_per": per, "k_de": de, "k_cat": cat, "k_attr": attr}
            for p, o, per, de, cat, attr in keys
        ],
    )


def delete_values(engine: Engine, keys: Iterable[ValueKey]) -> int:
    """Remove stored values by key (a correction of a value sent by mistake)."""
    dv = t.data_values
    removed = 0
    with engine.begin() as conn:
        for p, o, per, de, cat, attr in keys:
            result = conn.execute(
                delete(dv).where(
                    and_(
                        dv.c.participant == p,
                        dv.c.org_unit == o,
                        dv.c.period == per,
                        dv.c.data_element == de,
                        dv.c.category == cat,
                        dv.c.attribute == attr,
                    )
                )
            )
            removed += result.rowcount or 0
    return removed


__all__ = [
    "BATCH_ROWS",
    "as_date",
    "compliance_view",
    "count_values",
    "delete_keys",
    "delete_values",
    "load_values",
    "lock_history",
    "lock_period",
    "lookup_chunks",
    "period_locks",
    "plausibility",
    "readiness",
    "register_complete",
    "reopen_period",
    "save_requirements",
    "stored_completions",
    "stored_registrations",
    "stored_requirements",
    "stored_submissions",
    "stored_values_for",
    "submit",
    "unregister_complete",
    "upsert_values",
]
