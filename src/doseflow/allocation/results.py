"""Results of allocation rounds: per pool arrays, per participant lines and explanations.

A :class:`PoolResult` keeps its numbers as NumPy arrays indexed like the participant table;
:class:`AllocationLine` objects and their :class:`Explanation` are made on request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from doseflow.allocation.eligibility import describe, reasons
from doseflow.allocation.explanation import (
    BINDING_TEXT,
    Binding,
    CeilingFacts,
    DeclineNote,
    Explanation,
    Mode,
)
from doseflow.allocation.explanation import (
    binding_text as describe_binding,
)
from doseflow.allocation.policy import Phase, Policy
from doseflow.allocation.pools import Pool
from doseflow.allocation.rounding import ceiling_packs
from doseflow.allocation.scenario import Decline, RoundKind
from doseflow.allocation.table import ParticipantTable
from doseflow.domain.product import Product, ProductKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SmallArray = npt.NDArray[np.int8]


@dataclass(frozen=True)
class RunContext:
    """What every round of a run shares: participants, products (in a fixed order), policy."""

    table: ParticipantTable
    products: Mapping[str, Product]
    order: tuple[str, ...]

    def column(self, product: str) -> int:
        return self._columns[product]

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {code: j for j, code in enumerate(self.order)}

    @cached_property
    def courses_per_dose(self) -> FloatArray:
        """Per product column: courses one dose makes (0 for non-vaccine supplies)."""
        return np.array(
            [
                1.0 / self.products[c].doses_per_course
                if self.products[c].kind is ProductKind.VACCINE
                else 0.0
                for c in self.order
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class AllocationState:
    """Pooled doses each participant has received so far, per product (``[n, products]``),
    and how many of them came from second-dose top-up rounds."""

    doses: IntArray
    topped_up: IntArray
    #: The doses at the start of the round being shared (None: the round starts here), so a
    #: request, which is per round, shrinks as the round's pools fill it.
    round_start: IntArray | None = None

    @classmethod
    def empty(cls, participants: int, products: int) -> AllocationState:
        zeros = np.zeros((participants, products), dtype=np.int64)
        return cls(zeros, zeros.copy())

    def received_in_round(self, column: int) -> IntArray | None:
        """Doses of one product column received so far in the round (None: none yet)."""
        if self.round_start is None:
            return None
        return np.asarray(self.doses[:, column] - self.round_start[:, column], dtype=np.int64)


def per_person(product: Product, policy: Policy) -> float:
    """Doses (or units) one person needs: a course, or the policy's unit of need."""
    if product.kind is ProductKind.SUPPLY:
        return policy.need_per_1000.get(product.code, 1000.0) / 1000.0
    return float(product.doses_per_course)


def coverage_share(
    ctx: RunContext, state: AllocationState, product: Product, policy: Policy
) -> FloatArray:
    """Coverage of the group ``product`` belongs to: vaccines share one number (people
    covered by a full course of any vaccine, other sources counted if the policy says so);
    each other supply has its own (units against need)."""
    pop = ctx.table.population
    if product.kind is ProductKind.SUPPLY:
        col = ctx.column(product.code)
        return state.doses[:, col] / (pop * per_person(product, policy))
    courses = state.doses @ ctx.courses_per_dose
    if policy.count_other_sources:
        courses = courses + ctx.table.other_courses(policy.other_sources_doses_per_course)
    return np.asarray(courses / pop, dtype=np.float64)


@dataclass(frozen=True)
class DeclineRecord:
    """A decline applied to a pool: how much, and who received the doses (index, doses)."""

    decline: Decline
    declined: int
    given: tuple[tuple[int, int], ...]
    held: int
    level: float | None


@dataclass(frozen=True)
class JointShare:
    """A pool shared jointly with the other pools available on its date: the group's pool
    ids (in delivery order), and per participant the common level it stopped at (+inf: it
    was stopped by its ceiling or caps, or took nothing) and the pools that stopped it (a
    bit mask over ``pools``: those that ran out at that level)."""

    pools: tuple[str, ...]
    levels: FloatArray
    bound_by: IntArray

    def bound_names(self, i: int) -> tuple[str, ...]:
        mask = int(self.bound_by[i])
        return tuple(p for b, p in enumerate(self.pools) if mask >> b & 1)


def _joint_reason(
    pool: PoolResult,
    joint: JointShare,
    i: int,
    binding: Binding,
    level: float | None,
    reason: str,
) -> tuple[float | None, str]:
    """The level and reason of a participant of a pool shared jointly with the other pools
    of its date: its own common level and the pools that ran out at it."""
    others = ", ".join(joint.pools)
    shared = (
        f"shared jointly with the pools available on {pool.pool.available} ({others}); "
        "where its doses could come from several of its pools, the most restricted pool "
        "is drawn on first (fewest eligible participants, then the larger pool)"
    )
    own = float(joint.levels[i])
    if binding in (Binding.LEVEL, Binding.ABOVE_LEVEL) and math.isfinite(own):
        bound = ", ".join(joint.bound_names(i))
        text = (
            BINDING_TEXT[binding]
            .replace(" of the pool", "")
            .replace("this pool reached", "its pools reached")
        )
        return own, f"{text} where pool(s) {bound} ran out, {shared}"
    return level, f"{reason} ({shared})"


_CEILING_MODES = (Mode.EQUAL_COVERAGE, Mode.FLOOR_SHORTFALL, Mode.THREAT_WEIGHTED)


def _ceiling_facts(pool: PoolResult, i: int, policy: Policy) -> CeilingFacts | None:
    """The room under participant ``i``'s ceiling when ``pool`` was shared, in doses and in
    packs by the policy's rounding (the same function the engine used), and its floor."""
    if pool.ceiling is None or pool.mode not in _CEILING_MODES or pool.exclusions[i] != 0:
        return None
    pack = pool.product.pack_doses
    room = (pool.ceiling[i : i + 1] - pool.coverage_before[i : i + 1]) * pool.doses_per_coverage[
        i : i + 1
    ]
    packs = int(ceiling_packs(room.copy(), pack, policy.ceiling_rounding)[0])
    floor = 0 if pool.floors is None else int(pool.floors[i])
    return CeilingFacts(
        max(float(room[0]), 0.0),
        packs,
        pack,
        policy.ceiling_rounding.value,
        floor,
        policy.floors_prevail,
    )


@dataclass(frozen=True)
class PoolResult:
    """How one pool was shared. Arrays are indexed like the run's participant table."""

    pool: Pool
    product: Product
    mode: Mode
    level: float | None
    buffer: int
    exclusions: IntArray
    coverage_before: FloatArray
    doses_per_coverage: FloatArray
    ceiling: FloatArray | None
    unrounded: FloatArray
    rule_doses: IntArray
    doses: IntArray
    classify: Callable[[], SmallArray]
    rounding: SmallArray
    threat: FloatArray | None = None
    weights: FloatArray | None = None
    ranks: IntArray | None = None
    declines: tuple[DeclineRecord, ...] = ()
    joint: JointShare | None = None
    #: Doses each participant still requested of the product when the pool was shared (inf:
    #: no request), or None when nobody limited its request.
    request: FloatArray | None = None
    #: Each participant's share of the common level (None: everyone at the level).
    share_of_level: FloatArray | None = None
    #: per participant, the floor the rules asked for it (doses, whole packs; the severe
    #: supply minimum in a threat-weighted pool), before a ceiling clipped it; None: no floor
    floors: FloatArray | None = None

    @cached_property
    def binding(self) -> SmallArray:
        """What limited each participant (:class:`Binding` codes), worked out on first use
        so a run of many rounds pays for it only where someone looks."""
        return self.classify()

    @property
    def supply(self) -> int:
        return self.pool.doses

    @cached_property
    def allocated(self) -> int:
        return int(np.add.reduce(self.doses))

    @property
    def held(self) -> int:
        """Doses neither allocated nor in the humanitarian buffer (carried to the next round)."""
        return self.pool.doses - self.buffer - self.allocated

    @property
    def eligible(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.exclusions == 0, dtype=np.bool_)


@dataclass(frozen=True)
class AllocationLine:
    """One participant's quantity from one pool in one round."""

    round: int
    pool: str
    product: str
    iso3: str
    doses: int
    packs: int
    explanation: Explanation


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of one participant after a round, both ways the press reports it.

    ``doses_per_100`` counts every pooled dose; ``fully_covered`` counts people with a full
    course (1.9 M two-dose doses for 26 M people: 7.3 per 100 but 3.7% fully covered).
    ``coverage`` is the allocation's own measure (courses, incl. other sources if counted).
    """

    iso3: str
    name: str
    population: int
    doses: int
    doses_per_100: float
    fully_covered: float
    coverage: float


@dataclass(frozen=True)
class RoundResult:
    """A round's pools (in delivery order) with the state before and after."""

    number: int
    name: str
    date: date
    kind: RoundKind
    phase: Phase
    policy: Policy
    context: RunContext
    pools: tuple[PoolResult, ...]
    state_before: AllocationState
    #: participant index -> reasons it failed an extra readiness gate this round
    gate_notes: Mapping[int, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @cached_property
    def state_after(self) -> AllocationState:
        doses = self.state_before.doses.copy()
        topped = self.state_before.topped_up.copy()
        for pr in self.pools:
            col = self.context.column(pr.product.code)
            doses[:, col] += pr.doses
            if pr.mode is Mode.TOP_UP:
                topped[:, col] += pr.doses
        return AllocationState(doses, topped)

    def carry_out(self) -> tuple[Pool, ...]:
        """What this round could not place, to be carried into the next round."""
        out: list[Pool] = []
        for pr in self.pools:
            held = pr.held
            if held > 0:
                p = pr.pool
                out.append(
                    Pool(
                        p.id,
                        p.product,
                        held,
                        p.available,
                        p.origin,
                        p.donor,
                        p.earmarked,
                        p.expiry,
                        members=p.members,
                    )
                )
        return tuple(out)

    @property
    def supply(self) -> int:
        return sum(pr.supply for pr in self.pools)

    @property
    def allocated(self) -> int:
        return sum(pr.allocated for pr in self.pools)

    @property
    def held(self) -> int:
        return sum(pr.held for pr in self.pools)

    @property
    def buffer(self) -> int:
        return sum(pr.buffer for pr in self.pools)

    def pool(self, pool_id: str) -> PoolResult:
        for pr in self.pools:
            if pr.pool.id == pool_id:
                return pr
        raise KeyError(pool_id)

    @cached_property
    def _coverage_before(self) -> dict[int, FloatArray]:
        """Per pool (by identity): each participant's coverage just before it, from the
        doses actually placed in delivery order (declines included), so a line's coverage
        after is the coverage table's number, however the pools were shared."""
        ctx = self.context
        doses = self.state_before.doses.copy()
        state = AllocationState(doses, self.state_before.topped_up)
        out: dict[int, FloatArray] = {}
        for pr in self.pools:
            out[id(pr)] = coverage_share(ctx, state, pr.product, self.policy)
            doses[:, ctx.column(pr.product.code)] += pr.doses
        return out

    def explanation(self, pool: PoolResult, i: int) -> Explanation:
        """The explanation of participant ``i``'s quantity from ``pool``."""
        table = self.context.table
        participant = table.participants[i]
        flags = int(pool.exclusions[i])
        doses = int(pool.doses[i])
        start = self._coverage_before.get(id(pool), pool.coverage_before)
        before = float(start[i])
        after = before + doses / float(pool.doses_per_coverage[i])
        binding = Binding(int(pool.binding[i]))
        direction = int(pool.rounding[i])
        declined: list[DeclineNote] = []
        received: list[DeclineNote] = []
        iso3 = participant.iso3
        names = table.participants
        for rec in pool.declines:
            d = rec.decline
            if d.iso3 == iso3:
                given = tuple((names[j].iso3, q) for j, q in rec.given)
                declined.append(
                    DeclineNote(
                        iso3,
                        None,
                        rec.declined,
                        d.reason,
                        d.redirect_text,
                        d.source,
                        given,
                        rec.held,
                    )
                )
            for j, q in rec.given:
                if j == i:
                    received.append(
                        DeclineNote(d.iso3, iso3, q, d.reason, d.redirect_text, d.source)
                    )
        facts = _ceiling_facts(pool, i, self.policy)
        binding_text = describe_binding(binding, pool.mode.value, facts)
        if declined:
            binding = Binding.DECLINED
            total = sum(note.doses for note in declined)
            sources = "; ".join(note.source for note in declined if note.source)
            binding_text = (
                f"declined {total:,} doses of the {int(pool.rule_doses[i]):,} the pool's rules "
                "gave it" + (f" (decline from {sources})" if sources else "")
            )
        if binding is Binding.REQUEST:
            binding_text = self._request_text(pool, i)
        ceiling = None if pool.ceiling is None else float(pool.ceiling[i])
        level = pool.level if pool.level is None or not math.isnan(pool.level) else None
        shared_with: tuple[str, ...] = ()
        if pool.joint is not None and flags == 0 and not declined:
            level, binding_text = _joint_reason(pool, pool.joint, i, binding, level, binding_text)
            shared_with = tuple(pool.joint.pools)
        return Explanation(
            round=self.number,
            round_name=self.name,
            pool=pool.pool.id,
            product=pool.product.code,
            iso3=iso3,
            name=participant.name,
            eligible=flags == 0,
            exclusions=tuple(e.name or "" for e in reasons(flags)),
            exclusion_text=tuple(describe(flags, self.gate_notes.get(i, ()), pool.pool.members)),
            mode=pool.mode.value,
            level=level,
            coverage_before=before,
            coverage_after=after,
            ceiling=ceiling,
            rung_reached=self.policy.rung_reached(after),
            ladder=self.policy.ladder if pool.mode is Mode.EQUAL_COVERAGE else (),
            binding=binding.label,
            binding_text=binding_text,
            unrounded_doses=float(pool.unrounded[i]),
            rule_doses=int(pool.rule_doses[i]),
            doses=doses,
            packs=doses // pool.product.pack_doses,
            pack_doses=pool.product.pack_doses,
            rounding={1: "up", -1: "down", -2: "cut"}.get(direction, "none"),
            threat_score=None if pool.threat is None else float(pool.threat[i]),
            weight=None if pool.weights is None else float(pool.weights[i]),
            delivery_rank=None if pool.ranks is None or pool.ranks[i] == 0 else int(pool.ranks[i]),
            declined=tuple(declined),
            received=tuple(received),
            shared_with=shared_with,
            share_of_level=None
            if pool.share_of_level is None or float(pool.share_of_level[i]) == 1.0 or flags
            else float(pool.share_of_level[i]),
            ceiling_doses=None if facts is None else facts.room,
            ceiling_packs=None if facts is None else facts.packs,
            ceiling_rounding="" if facts is None else facts.rounding,
            floor_doses=0 if facts is None else facts.floor,
        )

    def _request_text(self, pool: PoolResult, i: int) -> str:
        """Why a request bound, with its numbers (the request, in doses or coverage, what
        the round's earlier pools gave, and the whole packs it allows)."""
        participant = self.context.table.participants[i]
        code = pool.product.code
        asked = float(self.context.table.requests(code, per_person(pool.product, self.policy))[i])
        left = asked if pool.request is None else float(pool.request[i])
        pack = pool.product.pack_doses
        share = participant.demand.requested_coverage.get(code)
        doses = participant.demand.requests.get(code)
        if share is not None and (doses is None or asked < doses):
            what = f"{share:.2%} of its population covered with {code} ({asked:,.0f} doses)"
        else:
            what = f"{asked:,.0f} doses of {code}"
        text = f"limited by its request: {what} in this round"
        if asked - left > 0.5:
            text += f", {asked - left:,.0f} already received from the round's earlier pools"
        allowed = int(left // pack + 1e-9) * pack if math.isfinite(left) else 0
        return text + f"; at most {allowed:,} doses in whole packs of {pack:,} (rounded down)"

    def lines(self, *, include_zero: bool = False) -> list[AllocationLine]:
        """Every participant's line per pool (those with doses, or all with ``include_zero``)."""
        out: list[AllocationLine] = []
        for pr in self.pools:
            touched = {i for rec in pr.declines for i, _ in rec.given}
            touched |= {
                self.context.table.index[rec.decline.iso3]
                for rec in pr.declines
                if rec.decline.iso3 in self.context.table.index
            }
            for i in range(len(self.context.table)):
                if include_zero or pr.doses[i] > 0 or i in touched:
                    e = self.explanation(pr, i)
                    out.append(
                        AllocationLine(
                            self.number, pr.pool.id, pr.product.code, e.iso3, e.doses, e.packs, e
                        )
                    )
        return out

    def explain(self, iso3: str) -> list[Explanation]:
        """One explanation per pool of this round for ``iso3``."""
        i = self.context.table.index[iso3]
        return [self.explanation(pr, i) for pr in self.pools]

    def coverage(self) -> list[CoverageRow]:
        """Cumulative coverage after this round, one row per participant."""
        return coverage_rows(self.context, self.state_after, self.policy)


def coverage_rows(ctx: RunContext, state: AllocationState, policy: Policy) -> list[CoverageRow]:
    table = ctx.table
    vaccine_cols = [
        j for j, c in enumerate(ctx.order) if ctx.products[c].kind is ProductKind.VACCINE
    ]
    dpc = np.array(
        [ctx.products[ctx.order[j]].doses_per_course for j in vaccine_cols], dtype=np.int64
    )
    doses = state.doses[:, vaccine_cols]
    total = doses.sum(axis=1)
    courses = (doses // dpc).sum(axis=1) if vaccine_cols else np.zeros(len(table), dtype=np.int64)
    pop = table.population
    share = (
        coverage_share(ctx, state, ctx.products[ctx.order[vaccine_cols[0]]], policy)
        if vaccine_cols
        else np.zeros(len(table))
    )
    return [
        CoverageRow(
            iso3=p.iso3,
            name=p.name,
            population=p.population,
            doses=int(total[i]),
            doses_per_100=float(total[i] / pop[i] * 100.0),
            fully_covered=float(courses[i] / pop[i]),
            coverage=float(share[i]),
        )
        for i, p in enumerate(table.participants)
    ]


@dataclass(frozen=True)
class AllocationRun:
    """Every round of a scenario run, in order, with the declines applied."""

    scenario: str
    rounds: tuple[RoundResult, ...]

    def round(self, number: int) -> RoundResult:
        for r in self.rounds:
            if r.number == number:
                return r
        raise KeyError(number)

    @property
    def final_state(self) -> AllocationState:
        return self.rounds[-1].state_after

    def coverage(self) -> list[CoverageRow]:
        last = self.rounds[-1]
        return coverage_rows(last.context, last.state_after, last.policy)

    def lines(self) -> list[AllocationLine]:
        return [line for r in self.rounds for line in r.lines()]

    def explain(self, iso3: str, round_number: int | None = None) -> list[Explanation]:
        rounds = self.rounds if round_number is None else (self.round(round_number),)
        return [e for r in rounds for e in r.explain(iso3)]
