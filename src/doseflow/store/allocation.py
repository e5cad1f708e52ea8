"""Persistence of allocation scenarios, rounds, lines (with explanations) and declines.

:class:`AllocationStore` is the one API the CLI and the REST service both call: save a
scenario, run it (every round, with the declines recorded so far), record a decline (the
declined doses are redistributed at once and the rounds re-run), publish a round, and read
rounds, pools, lines, coverage and explanations back.

Writes validate first and happen in one transaction, so a :class:`DoseflowError` means
nothing was written. Re-running an unchanged scenario changes nothing (a round's lines are
rewritten, and its revision raised, only when they differ), so the demo is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from doseflow.allocation import (
    AllocationRun,
    Decline,
    Explanation,
    Redirect,
    RoundResult,
    Scenario,
    run_rounds,
    scenario_from_document,
)
from doseflow.allocation.revision import tranche_from_dict, with_round_supply
from doseflow.domain.errors import DoseflowError
from doseflow.domain.supply import Membership
from doseflow.store.allocation_gates import compliance_gates
from doseflow.store.allocation_tables import (
    CoverageRowDB,
    DeclineRow,
    LineRow,
    PoolRow,
    RevisionRow,
    RoundRow,
    ScenarioRow,
)


class RoundStatus(StrEnum):
    PREVIEW = "preview"  # computed for review, not yet the round of record
    RUN = "run"  # the round of record
    PUBLISHED = "published"  # communicated to participants


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    description: str
    source: str | None
    rounds: int
    declines: int
    updated_at: datetime


@dataclass(frozen=True)
class RoundInfo:
    scenario: str
    number: int
    name: str
    date: date
    kind: str
    phase: int
    status: str
    revision: int
    supply: int
    allocated: int
    buffer: int
    held: int


@dataclass(frozen=True)
class PoolInfo:
    round: int
    pool: str
    product: str
    origin: str
    donor: str | None
    mode: str
    level: float | None
    supply: int
    carried_in: int
    buffer: int
    allocated: int
    held: int
    #: who may draw from the pool, ``{"financing": [...], "iso3": [...]}``; None: everyone
    members: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class LineInfo:
    round: int
    pool: str
    product: str
    iso3: str
    doses: int
    packs: int
    explanation: Explanation


@dataclass(frozen=True)
class CoverageInfo:
    round: int
    iso3: str
    population: int
    doses: int
    doses_per_100: float
    fully_covered: float
    coverage: float


def _members(members: Membership | None) -> dict[str, list[str]] | None:
    if members is None:
        return None
    return {
        "financing": sorted(f.value for f in members.financing),
        "iso3": sorted(members.iso3),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _unknown_scenario(name: str) -> DoseflowError:
    return DoseflowError(
        "ALLOC_UNKNOWN_SCENARIO",
        f"no scenario named '{name}' in the database",
        field="scenario",
        expected="the name of a stored scenario (see `doseflow allocate list`)",
        value=name,
    )


#: Columns a page of allocation lines can be sorted by (then round and line order).
LINE_SORTS = ("pool", "participant", "product", "doses", "packs")


def _line_sort_column(sort: str) -> Any:
    """The column of one of :data:`LINE_SORTS` (callers check the name first)."""
    columns: dict[str, Any] = {
        "pool": LineRow.pool,
        "participant": LineRow.iso3,
        "product": LineRow.product,
        "doses": LineRow.doses,
        "packs": LineRow.packs,
    }
    return columns[sort]


def _line_payload(result: RoundResult) -> list[dict[str, Any]]:
    return [
        {
            "pool": line.pool,
            "product": line.product,
            "iso3": line.iso3,
            "doses": line.doses,
            "packs": line.packs,
            "explanation": line.explanation.to_dict(),
        }
        for line in result.lines()
    ]


def _recorded_source(at: datetime, by: str) -> str:
    """How a recorded decline is shown: when (UTC, to the minute) and how/by whom."""
    when = (at if at.tzinfo is None else at.astimezone(UTC)).strftime("%Y-%m-%d %H:%M")
    return f"recorded {when} UTC" + (f" {by}" if by else "")


def _level(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class AllocationStore:
    """Scenarios and their rounds in a doseflow database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- scenarios -----------------------------------------------------------------------

    def save_scenario(self, scenario: Scenario) -> bool:
        """Store ``scenario`` under its name (replacing an older version). True if changed."""
        document = dict(scenario.document)
        digest = _hash(document)
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(ScenarioRow).where(ScenarioRow.name == scenario.name))
            now = _now()
            if row is None:
                session.add(
                    ScenarioRow(
                        name=scenario.name,
                        description=scenario.description,
                        source=scenario.source,
                        document=document,
                        content_hash=digest,
                        created_at=now,
                        updated_at=now,
                    )
                )
                return True
            if row.content_hash == digest:
                return False
            row.document = document
            row.description = scenario.description
            row.source = scenario.source
            row.content_hash = digest
            row.updated_at = now
            return True

    def scenario(self, name: str) -> Scenario:
        """The stored scenario (its file's declines included; recorded declines are not)."""
        with Session(self.engine) as session:
            row = session.scalar(select(ScenarioRow).where(ScenarioRow.name == name))
            if row is None:
                raise _unknown_scenario(name)
            return scenario_from_document(row.document, source=row.source, check_unused=False)

    def effective_scenario(self, name: str) -> Scenario:
        """The stored scenario with each revised round's supply of record: the tranches of
        its latest revision made against the scenario as stored now (a changed scenario
        file starts afresh; its earlier revisions stay listed). See
        :mod:`doseflow.store.allocation_revisions`."""
        with Session(self.engine) as session:
            row = session.scalar(select(ScenarioRow).where(ScenarioRow.name == name))
            if row is None:
                raise _unknown_scenario(name)
            scenario = scenario_from_document(row.document, source=row.source, check_unused=False)
            latest: dict[int, list[dict[str, Any]]] = {}
            revisions = session.scalars(
                select(RevisionRow)
                .where(
                    RevisionRow.scenario_id == row.id,
                    RevisionRow.scenario_hash == row.content_hash,
                )
                .order_by(RevisionRow.round_number, RevisionRow.revision)
            )
            for rev in revisions:
                latest[rev.round_number] = rev.tranches
        supply = {n: [tranche_from_dict(t) for t in ts] for n, ts in latest.items()}
        return with_round_supply(scenario, supply)

    def scenarios(self) -> list[ScenarioInfo]:
        with Session(self.engine) as session:
            out = []
            for row in session.scalars(select(ScenarioRow).order_by(ScenarioRow.name)):
                rounds = session.scalars(
                    select(RoundRow.id).where(RoundRow.scenario_id == row.id)
                ).all()
                declines = session.scalars(
                    select(DeclineRow.id).where(DeclineRow.scenario_id == row.id)
                ).all()
                in_file = row.document.get("declines") if isinstance(row.document, dict) else None
                out.append(
                    ScenarioInfo(
                        row.name,
                        row.description,
                        row.source,
                        len(rounds),
                        len(declines) + (len(in_file) if isinstance(in_file, list) else 0),
                        row.updated_at,
                    )
                )
            return out

    # -- running -------------------------------------------------------------------------

    def declines(self, name: str) -> list[Decline]:
        """Every decline applied to the scenario: its file's (in file order), then those
        recorded through the CLI, API or dashboard (in recording order), each with its
        ``source``. The one list the CLI, API and dashboard show."""
        return [*self.scenario(name).declines, *self.recorded_declines(name)]

    def recorded_declines(self, name: str) -> list[Decline]:
        with Session(self.engine) as session:
            sid = self._scenario_id(session, name)
            rows = session.scalars(
                select(DeclineRow).where(DeclineRow.scenario_id == sid).order_by(DeclineRow.id)
            )
            return [
                Decline(
                    round=r.round_number,
                    product=r.product,
                    iso3=r.iso3,
                    doses=r.doses,
                    reason=r.reason,
                    redirect=Redirect(r.redirect),
                    recipients=frozenset(r.recipients),
                    pool=r.pool or None,
                    source=_recorded_source(r.recorded_at, r.recorded_by),
                )
                for r in rows
            ]

    def compute(self, name: str, extra: Sequence[Decline] = ()) -> AllocationRun:
        """Run the stored scenario with its file's and recorded declines (writes nothing).

        When the scenario's policy enables the reporting compliance gate, each round's
        verdicts are read from the reporting data as of the round's date."""
        scenario = self.effective_scenario(name)
        declines = [*scenario.declines, *self.recorded_declines(name), *extra]
        return self._run_rounds(scenario, declines)

    def _run_rounds(self, scenario: Scenario, declines: Sequence[Decline]) -> AllocationRun:
        return run_rounds(scenario, declines, gates=compliance_gates(self.engine, scenario))

    def run(self, name: str, *, status: RoundStatus = RoundStatus.RUN) -> AllocationRun:
        """Run every round of the stored scenario and store the results.

        A published round stays published; a preview run never downgrades a round of record.
        """
        result = self.compute(name)
        with Session(self.engine) as session, session.begin():
            self._write(session, self._scenario_id(session, name), result, status)
        return result

    def record_decline(
        self, name: str, decline: Decline, *, recorded_by: str = ""
    ) -> AllocationRun:
        """Record ``decline``, redistribute its doses and store the re-run rounds.

        Recording the same decline (same round, product, participant, pool) again replaces
        it, so repeating a command does not decline twice. ``recorded_by`` says how and by
        whom (e.g. "via the API by participant-KEN"); it is shown as the decline's source.
        """
        now = _now()
        recorded_by = recorded_by[:300]  # the column's bound (a user name is shorter)
        decline = replace(decline, source=_recorded_source(now, recorded_by))
        others = [
            d
            for d in self.recorded_declines(name)
            if (d.round, d.product, d.iso3, d.pool)
            != (decline.round, decline.product, decline.iso3, decline.pool)
        ]
        scenario = self.effective_scenario(name)
        result = self._run_rounds(scenario, [*scenario.declines, *others, decline])  # validates
        with Session(self.engine) as session, session.begin():
            sid = self._scenario_id(session, name)
            row = session.scalar(
                select(DeclineRow).where(
                    DeclineRow.scenario_id == sid,
                    DeclineRow.round_number == decline.round,
                    DeclineRow.product == decline.product,
                    DeclineRow.iso3 == decline.iso3,
                    DeclineRow.pool == (decline.pool or ""),
                )
            )
            if row is None:
                row = DeclineRow(
                    scenario_id=sid,
                    round_number=decline.round,
                    product=decline.product,
                    iso3=decline.iso3,
                    pool=decline.pool or "",
                )
                session.add(row)
            row.doses = decline.doses
            row.reason = decline.reason
            row.redirect = decline.redirect.value
            row.recipients = sorted(decline.recipients)
            row.recorded_at = now
            row.recorded_by = recorded_by
            self._write(session, sid, result, RoundStatus.RUN)
        return result

    def publish(self, name: str, number: int) -> RoundInfo:
        """Mark a round as published (communicated to participants)."""
        with Session(self.engine) as session, session.begin():
            row = self._round(session, name, number)
            row.status = RoundStatus.PUBLISHED.value
        return next(r for r in self.rounds(name) if r.number == number)

    # -- reading -------------------------------------------------------------------------

    def rounds(self, name: str) -> list[RoundInfo]:
        with Session(self.engine) as session:
            sid = self._scenario_id(session, name)
            rows = session.scalars(
                select(RoundRow).where(RoundRow.scenario_id == sid).order_by(RoundRow.number)
            )
            return [
                RoundInfo(
                    name,
                    r.number,
                    r.name,
                    r.date,
                    r.kind,
                    r.phase,
                    r.status,
                    r.revision,
                    r.supply,
                    r.allocated,
                    r.buffer,
                    r.held,
                )
                for r in rows
            ]

    def pools(self, name: str, number: int | None = None) -> list[PoolInfo]:
        with Session(self.engine) as session:
            sid = self._scenario_id(session, name)
            query = (
                select(PoolRow, RoundRow.number)
                .join(RoundRow, PoolRow.round_id == RoundRow.id)
                .where(RoundRow.scenario_id == sid)
                .order_by(RoundRow.number, PoolRow.id)
            )
            if number is not None:
                query = query.where(RoundRow.number == number)
            return [
                PoolInfo(
                    n,
                    p.pool,
                    p.product,
                    p.origin,
                    p.donor,
                    p.mode,
                    p.level,
                    p.supply,
                    p.carried_in,
                    p.buffer,
                    p.allocated,
                    p.held,
                    p.members,
                )
                for p, n in session.execute(query).all()
            ]

    def pool_availability(self, name: str, number: int) -> dict[str, date]:
        """When each pool of round ``number`` becomes available: its latest tranche's date
        (a pool only carried in from an earlier round keeps that round's date).

        Stored pool rows do not keep the date, so it comes from running the stored scenario
        with its declines again, which gives the same pools as the stored lines (a run is
        deterministic); the date of a pool is then that of the engine's own :class:`Pool`."""
        self.scenario(name).round(number)  # ALLOC_UNKNOWN_SCENARIO / ALLOC_UNKNOWN_ROUND
        return {pr.pool.id: pr.pool.available for pr in self.compute(name).round(number).pools}

    def lines(
        self, name: str, number: int | None = None, iso3: str | None = None
    ) -> list[LineInfo]:
        return self.lines_page(name, number, iso3)[0]

    def lines_page(
        self,
        name: str,
        number: int | None = None,
        iso3: str | None = None,
        *,
        rounds: Collection[int] | None = None,
        limit: int | None = None,
        offset: int = 0,
        pool: str | None = None,
        product: str | None = None,
        sort: str | None = None,
        descending: bool = False,
    ) -> tuple[list[LineInfo], int]:
        """Lines in round and line order (only ``rounds`` if given; only a ``pool`` or a
        ``product`` if given), or by one of :data:`LINE_SORTS` first (``descending``: the
        other way): ``limit`` of them after ``offset``, filtered, sorted and cut by the
        database, and how many there are in all."""
        with Session(self.engine) as session:
            sid = self._scenario_id(session, name)
            if number is not None:
                self._round(session, name, number)
            query = (
                select(LineRow, RoundRow.number)
                .join(RoundRow, LineRow.round_id == RoundRow.id)
                .where(RoundRow.scenario_id == sid)
            )
            if number is not None:
                query = query.where(RoundRow.number == number)
            if iso3 is not None:
                query = query.where(LineRow.iso3 == iso3.upper())
            if rounds is not None:
                query = query.where(RoundRow.number.in_(sorted(rounds)))
            if pool is not None:
                query = query.where(LineRow.pool == pool)
            if product is not None:
                query = query.where(LineRow.product == product)
            # counted only for a page: unpaged, the total is the number of lines read
            total = (
                None
                if limit is None
                else session.scalar(select(func.count()).select_from(query.subquery())) or 0
            )
            order: list[Any] = [RoundRow.number, LineRow.id]
            if sort is not None:
                column = _line_sort_column(sort)
                order = [column.desc() if descending else column, *order]
            query = query.order_by(*order).offset(offset).limit(limit)
            lines = [
                LineInfo(
                    n,
                    r.pool,
                    r.product,
                    r.iso3,
                    r.doses,
                    r.packs,
                    Explanation.from_dict(r.explanation),
                )
                for r, n in session.execute(query).all()
            ]
            return lines, len(lines) + offset if total is None else int(total)

    def export_lines(self, name: str, number: int | None = None) -> list[LineInfo]:
        """Every participant x pool of the stored rounds (one round, or all), as an export
        lists them: the stored line where there is one, otherwise a line of 0 doses with its
        explanation worked out afresh (not eligible, above the level, a floor the ceiling
        clipped to nothing...), so an export drops nobody that has an explanation. The
        stored lines stay those with doses: shipping and the ledger read only those."""
        kept = {(line.round, line.pool, line.iso3): line for line in self.lines(name, number)}
        numbers = {r.number for r in self.rounds(name)}
        run = self.compute(name)
        out: list[LineInfo] = []
        for result in run.rounds:
            if result.number not in numbers or number not in (None, result.number):
                continue
            for line in result.lines(include_zero=True):
                stored = kept.get((line.round, line.pool, line.iso3))
                out.append(
                    stored
                    or LineInfo(
                        line.round,
                        line.pool,
                        line.product,
                        line.iso3,
                        line.doses,
                        line.packs,
                        line.explanation,
                    )
                )
        return out

    def coverage(self, name: str, number: int | None = None) -> list[CoverageInfo]:
        """Coverage after round ``number`` (default: the last round)."""
        with Session(self.engine) as session:
            sid = self._scenario_id(session, name)
            if number is None:
                last = session.scalar(
                    select(RoundRow.number)
                    .where(RoundRow.scenario_id == sid)
                    .order_by(RoundRow.number.desc())
                )
                if last is None:
                    return []
                number = last
            rnd = self._round(session, name, number)
            rows = session.scalars(
                select(CoverageRowDB)
                .where(CoverageRowDB.round_id == rnd.id)
                .order_by(CoverageRowDB.id)
            )
            return [
                CoverageInfo(
                    number,
                    c.iso3,
                    c.population,
                    c.doses,
                    c.doses_per_100,
                    c.fully_covered,
                    c.coverage,
                )
                for c in rows
            ]

    def explain(self, name: str, iso3: str, number: int | None = None) -> list[Explanation]:
        """Explanations of every line stored for ``iso3`` (one round, or all)."""
        code = iso3.upper()
        scenario = self.scenario(name)
        if code not in {p.iso3 for p in scenario.participants}:
            raise DoseflowError(
                "ALLOC_UNKNOWN_PARTICIPANT",
                f"{iso3} is not a participant of scenario '{name}'",
                field="iso3",
                expected="the ISO3 code of a participant",
                value=iso3,
            )
        stored = self.rounds(name)
        if not stored:
            raise DoseflowError(
                "ALLOC_NO_RESULTS",
                f"scenario '{name}' has not been run yet",
                field="scenario",
                expected="a scenario run with `doseflow allocate run`",
                value=name,
            )
        kept = {  # lines() raises ALLOC_UNKNOWN_ROUND for a round that does not exist
            (line.round, line.pool): line.explanation for line in self.lines(name, number, code)
        }
        # one explanation per pool of each stored round: the stored line where there is one,
        # otherwise (nothing received: not eligible, above the level...) worked out afresh
        run = self.compute(name)
        numbers = {r.number for r in stored}
        return [
            kept.get((e.round, e.pool), e) for e in run.explain(code, number) if e.round in numbers
        ]

    # -- internals -----------------------------------------------------------------------

    def _scenario_id(self, session: Session, name: str) -> int:
        sid = session.scalar(select(ScenarioRow.id).where(ScenarioRow.name == name))
        if sid is None:
            raise _unknown_scenario(name)
        return sid

    def _round(self, session: Session, name: str, number: int) -> RoundRow:
        sid = self._scenario_id(session, name)
        row = session.scalar(
            select(RoundRow).where(RoundRow.scenario_id == sid, RoundRow.number == number)
        )
        if row is None:
            raise DoseflowError(
                "ALLOC_UNKNOWN_ROUND",
                f"scenario '{name}' has no stored round {number}",
                field="round",
                expected="the number of a round that was run",
                value=number,
            )
        return row

    def _write(self, session: Session, sid: int, run: AllocationRun, status: RoundStatus) -> None:
        existing = {
            r.number: r
            for r in session.scalars(select(RoundRow).where(RoundRow.scenario_id == sid))
        }
        keep = {r.number for r in run.rounds}
        for number, row in existing.items():
            if number not in keep:
                session.delete(row)
        for result in run.rounds:
            payload = _line_payload(result)
            coverage = result.coverage()
            digest = _hash([payload, [c.__dict__ for c in coverage]])
            found = existing.get(result.number)
            if found is not None and found.digest == digest:
                if status is RoundStatus.RUN and found.status == RoundStatus.PREVIEW.value:
                    found.status = status.value
                continue
            if found is None:
                row = RoundRow(
                    scenario_id=sid, number=result.number, revision=0, status=status.value
                )
                session.add(row)
            else:
                row = found
                promotes = status is RoundStatus.RUN or row.status == RoundStatus.PREVIEW.value
                if promotes and row.status != RoundStatus.PUBLISHED.value:
                    row.status = status.value
            row.name = result.name
            row.date = result.date
            row.kind = result.kind.value
            row.phase = int(result.phase)
            row.revision = row.revision + 1
            row.digest = digest
            row.supply = result.supply
            row.allocated = result.allocated
            row.buffer = result.buffer
            row.held = result.held
            row.run_at = _now()
            session.flush()
            for table in (LineRow, PoolRow, CoverageRowDB):
                session.execute(delete(table).where(table.round_id == row.id))
            session.add_all(
                PoolRow(
                    round_id=row.id,
                    pool=pr.pool.id,
                    product=pr.product.code,
                    origin=pr.pool.origin.value,
                    donor=pr.pool.donor,
                    members=_members(pr.pool.members),
                    mode=pr.mode.value,
                    level=_level(pr.level),
                    supply=pr.supply,
                    carried_in=pr.pool.carried_in,
                    buffer=pr.buffer,
                    allocated=pr.allocated,
                    held=pr.held,
                )
                for pr in result.pools
            )
            session.add_all(LineRow(round_id=row.id, **item) for item in payload)
            session.add_all(
                CoverageRowDB(
                    round_id=row.id,
                    iso3=c.iso3,
                    population=c.population,
                    doses=c.doses,
                    doses_per_100=c.doses_per_100,
                    fully_covered=c.fully_covered,
                    coverage=c.coverage,
                )
                for c in coverage
            )
