"""Revisions of a round's supply, kept append-only, and the difference between two of them.

``revise`` re-runs a round with revised supply (and the rounds after it, since coverage
carries), stores the re-run rounds as the rounds of record and appends a revision: its
number, when (server time) and how/by whom, what changed in the supply, the round's whole
supply and the round as it left it (pools and every explanation). A revision row is never
updated or deleted (except with its scenario), so any two can be compared later, whatever
the engine or the scenario became since.

The first revision of a round made against the scenario as stored now is preceded by one
recording the round as it stood ("as stored"), so the first change has something to be
compared with. The latest revision's supply is the round's supply of record
(:meth:`AllocationStore.effective_scenario`); saving a changed scenario starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doseflow.allocation.results import AllocationRun
from doseflow.allocation.revision import (
    SupplyChange,
    TrancheChange,
    revise_round,
    supply_changes,
    tranche_to_dict,
)
from doseflow.allocation.revision_diff import RoundDiff, RoundSnapshot, diff_rounds, snapshot
from doseflow.allocation.scenario import Decline, Scenario
from doseflow.domain.errors import DoseflowError
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.allocation_tables import RevisionRow, ScenarioRow

ORIGINAL = "the round as stored before its first revision"


@dataclass(frozen=True)
class RevisionInfo:
    scenario: str
    round: int
    revision: int
    created_at: datetime
    created_by: str
    supply: int
    allocated: int
    changes: tuple[TrancheChange, ...]
    #: made against the scenario as stored now (its supply is the round's of record when
    #: it is the latest such revision)
    current: bool

    def change_text(self) -> str:
        return "; ".join(c.text() for c in self.changes) or ORIGINAL


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _info(name: str, row: RevisionRow, digest: str) -> RevisionInfo:
    return RevisionInfo(
        scenario=name,
        round=row.round_number,
        revision=row.revision,
        created_at=_utc(row.created_at),
        created_by=row.created_by,
        supply=row.supply,
        allocated=row.allocated,
        changes=tuple(TrancheChange.from_dict(c) for c in row.changes),
        current=row.scenario_hash == digest,
    )


def _conflict(name: str, number: int) -> DoseflowError:
    return DoseflowError(
        "ALLOC_REVISION_CONFLICT",
        f"another revision of round {number} of '{name}' was stored at the same time",
        field="round",
        expected="the revision made again, on the latest supply",
        value=number,
    )


class RevisionStore:
    """Revisions of the rounds of stored scenarios (SQLite or PostgreSQL)."""

    def __init__(self, store: AllocationStore) -> None:
        self.store = store

    def revise(
        self, name: str, number: int, change: SupplyChange, *, created_by: str = ""
    ) -> tuple[RevisionInfo, RoundDiff]:
        """Re-run round ``number`` with ``change`` applied to its supply of record, store
        the re-run rounds and append the revision. Returns it and its difference from the
        revision before. Validates first: a :class:`DoseflowError` means nothing was
        written."""
        store = self.store
        base = store.effective_scenario(name)
        revised = revise_round(base, number, change)  # validates (every problem at once)
        declines = [*base.declines, *store.recorded_declines(name)]
        run = store._run_rounds(revised, declines)
        after = snapshot(run.round(number))
        created_by = created_by[:300]  # the column's bound
        try:
            with Session(store.engine) as session, session.begin():
                info, before = self._append(
                    session, name, number, base, revised, run, after, declines, created_by
                )
        except IntegrityError:  # another revision of the round was stored meanwhile
            raise _conflict(name, number) from None
        return info, diff_rounds(before, after)

    def _append(
        self,
        session: Session,
        name: str,
        number: int,
        base: Scenario,
        revised: Scenario,
        run: AllocationRun,
        after: RoundSnapshot,
        declines: list[Decline],
        created_by: str,
    ) -> tuple[RevisionInfo, RoundSnapshot]:
        """Append the revision (and revision 0 first if the round has none yet against the
        scenario as stored now) and store the re-run rounds, in ``session``'s transaction."""
        store = self.store
        scenario_row = self._scenario_row(session, name)
        digest = scenario_row.content_hash
        last = self._latest(session, scenario_row.id, number, digest)
        top = session.scalar(
            select(func.max(RevisionRow.revision)).where(
                RevisionRow.scenario_id == scenario_row.id,
                RevisionRow.round_number == number,
            )
        )
        next_number = 0 if top is None else top + 1
        if last is None:  # the round as it stood, to compare the first change with
            before = snapshot(store._run_rounds(base, declines).round(number))
            session.add(self._row(scenario_row, number, next_number, base, (), before, ""))
            next_number += 1
        else:
            if last.tranches != [tranche_to_dict(t) for t in base.round(number).tranches]:
                raise _conflict(name, number)  # revised meanwhile: this one was on old supply
            before = RoundSnapshot.from_dict(last.snapshot)
        changes = supply_changes(base, revised, number)
        row = self._row(scenario_row, number, next_number, revised, changes, after, created_by)
        session.add(row)
        store._write(session, scenario_row.id, run, RoundStatus.RUN)
        session.flush()
        return _info(name, row, digest), before

    def revisions(self, name: str, number: int | None = None) -> list[RevisionInfo]:
        """Every revision of the scenario's rounds (one round if given), oldest first."""
        with Session(self.store.engine) as session:
            scenario_row = self._scenario_row(session, name)
            query = select(RevisionRow).where(RevisionRow.scenario_id == scenario_row.id)
            if number is not None:
                query = query.where(RevisionRow.round_number == number)
            rows = session.scalars(query.order_by(RevisionRow.round_number, RevisionRow.revision))
            return [_info(name, r, scenario_row.content_hash) for r in rows]

    def snapshot(self, name: str, number: int, revision: int, *, field: str) -> RoundSnapshot:
        """The round as revision ``revision`` left it (``field`` names the option or
        parameter that gave the number, for the error)."""
        with Session(self.store.engine) as session:
            scenario_row = self._scenario_row(session, name)
            row = session.scalar(
                select(RevisionRow).where(
                    RevisionRow.scenario_id == scenario_row.id,
                    RevisionRow.round_number == number,
                    RevisionRow.revision == revision,
                )
            )
            if row is None:
                known = session.scalars(
                    select(RevisionRow.revision)
                    .where(
                        RevisionRow.scenario_id == scenario_row.id,
                        RevisionRow.round_number == number,
                    )
                    .order_by(RevisionRow.revision)
                ).all()
                raise DoseflowError(
                    "ALLOC_UNKNOWN_REVISION",
                    f"round {number} of scenario '{name}' has no revision {revision}",
                    field=field,
                    expected=(
                        "one of " + ", ".join(str(k) for k in known)
                        if known
                        else "a revision made with `doseflow allocate revise`"
                    ),
                    value=revision,
                )
            return RoundSnapshot.from_dict(row.snapshot)

    def diff(self, name: str, number: int, from_revision: int, to_revision: int) -> RoundDiff:
        """What changed for each participant (and pool) of round ``number`` between two
        stored revisions, and why."""
        a = self.snapshot(name, number, from_revision, field="from")
        b = self.snapshot(name, number, to_revision, field="to")
        return diff_rounds(a, b)

    # -- internals -----------------------------------------------------------------------

    def _scenario_row(self, session: Session, name: str) -> ScenarioRow:
        row = session.scalar(select(ScenarioRow).where(ScenarioRow.name == name))
        if row is None:
            self.store.scenario(name)  # raises ALLOC_UNKNOWN_SCENARIO
            raise AssertionError(name)
        return row

    @staticmethod
    def _latest(session: Session, sid: int, number: int, digest: str) -> RevisionRow | None:
        return session.scalar(
            select(RevisionRow)
            .where(
                RevisionRow.scenario_id == sid,
                RevisionRow.round_number == number,
                RevisionRow.scenario_hash == digest,
            )
            .order_by(RevisionRow.revision.desc())
            .limit(1)
        )

    @staticmethod
    def _row(
        scenario_row: ScenarioRow,
        number: int,
        revision: int,
        scenario: Scenario,
        changes: tuple[TrancheChange, ...],
        snap: RoundSnapshot,
        created_by: str,
    ) -> RevisionRow:
        return RevisionRow(
            scenario_id=scenario_row.id,
            round_number=number,
            revision=revision,
            scenario_hash=scenario_row.content_hash,
            tranches=[tranche_to_dict(t) for t in scenario.round(number).tranches],
            changes=[c.to_dict() for c in changes],
            supply=snap.supply,
            allocated=snap.allocated,
            snapshot=snap.to_dict(),
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
