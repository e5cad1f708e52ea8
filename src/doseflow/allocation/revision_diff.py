"""The difference between two revisions of a round, per participant and product, and why.

A :class:`RoundSnapshot` is what a revision keeps of its round: each pool's totals and one
:class:`Explanation` per participant and pool (zero lines included, so "not eligible" or
"already above the level" can be told). :func:`diff_rounds` compares two snapshots: doses
and coverage per participant x product before and after, and the reasons, each worked out
from the two explanations of a pool (never guessed): the common level moved, it reached or
left its ceiling, the cap or the floor held it, it declined, a pool was added or removed.

Results do not depend on the order of participants or pools: rows are sorted by product and
ISO3 code, reasons by pool id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from doseflow.allocation.explanation import Explanation
from doseflow.allocation.results import RoundResult

_SAME = 1e-12


@dataclass(frozen=True)
class PoolSummary:
    """One pool of a round: what it held and how it was shared."""

    pool: str
    product: str
    mode: str
    supply: int
    allocated: int
    level: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "product": self.product,
            "mode": self.mode,
            "supply": self.supply,
            "allocated": self.allocated,
            "level": self.level,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PoolSummary:
        level = data.get("level")
        return cls(
            str(data["pool"]),
            str(data["product"]),
            str(data["mode"]),
            int(data["supply"]),
            int(data["allocated"]),
            None if level is None else float(level),
        )


@dataclass(frozen=True)
class RoundSnapshot:
    """A round as one revision left it: pools in delivery order, every explanation."""

    round: int
    pools: tuple[PoolSummary, ...]
    explanations: tuple[Explanation, ...]

    @property
    def allocated(self) -> int:
        return sum(p.allocated for p in self.pools)

    @property
    def supply(self) -> int:
        return sum(p.supply for p in self.pools)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "pools": [p.to_dict() for p in self.pools],
            "explanations": [e.to_dict() for e in self.explanations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundSnapshot:
        return cls(
            int(data["round"]),
            tuple(PoolSummary.from_dict(p) for p in data["pools"]),
            tuple(Explanation.from_dict(dict(e)) for e in data["explanations"]),
        )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def snapshot(result: RoundResult) -> RoundSnapshot:
    """What a revision keeps of ``result``."""
    return RoundSnapshot(
        result.number,
        tuple(
            PoolSummary(
                pr.pool.id,
                pr.product.code,
                pr.mode.value,
                pr.supply,
                pr.allocated,
                _finite(pr.level),
            )
            for pr in result.pools
        ),
        tuple(line.explanation for line in result.lines(include_zero=True)),
    )


@dataclass(frozen=True)
class Reason:
    """Why a participant's doses from one pool changed: a stable code and the sentence."""

    code: str
    pool: str
    text: str


@dataclass(frozen=True)
class ParticipantChange:
    """One participant's doses of one product in the round, in two revisions."""

    iso3: str
    name: str
    product: str
    doses_from: int
    doses_to: int
    coverage_from: float
    coverage_to: float
    reasons: tuple[Reason, ...]

    @property
    def change(self) -> int:
        return self.doses_to - self.doses_from

    def why(self) -> str:
        return "; ".join(r.text for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iso3": self.iso3,
            "name": self.name,
            "product": self.product,
            "doses_from": self.doses_from,
            "doses_to": self.doses_to,
            "change": self.change,
            "coverage_from": self.coverage_from,
            "coverage_to": self.coverage_to,
            "reasons": [{"code": r.code, "pool": r.pool, "text": r.text} for r in self.reasons],
            "why": self.why(),
        }


@dataclass(frozen=True)
class PoolChange:
    """One pool's totals in two revisions (``None``: the pool was not in that revision)."""

    pool: str
    product: str
    supply_from: int | None
    supply_to: int | None
    allocated_from: int | None
    allocated_to: int | None
    level_from: float | None
    level_to: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "product": self.product,
            "supply_from": self.supply_from,
            "supply_to": self.supply_to,
            "allocated_from": self.allocated_from,
            "allocated_to": self.allocated_to,
            "level_from": self.level_from,
            "level_to": self.level_to,
        }


@dataclass(frozen=True)
class RoundDiff:
    """Who gained and who lost between two revisions of a round, and why."""

    round: int
    allocated_from: int
    allocated_to: int
    participants: tuple[ParticipantChange, ...]
    pools: tuple[PoolChange, ...]

    @property
    def allocated_change(self) -> int:
        return self.allocated_to - self.allocated_from

    @property
    def empty(self) -> bool:
        return not self.participants and not self.pools

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON (``allocate diff --format json`` and the API give this)."""
        return {
            "round": self.round,
            "allocated_from": self.allocated_from,
            "allocated_to": self.allocated_to,
            "allocated_change": self.allocated_change,
            "participants": [r.to_dict() for r in self.participants],
            "pools": [p.to_dict() for p in self.pools],
        }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _more(n: int) -> str:
    if n > 0:
        return f"with {n:,} more doses in the pool"
    if n < 0:
        return f"with {-n:,} fewer doses in the pool"
    return "with the same doses in the pool"


def _received(e: Explanation) -> int:
    return sum(n.doses for n in e.received)


def _declined(e: Explanation) -> int:
    return sum(n.doses for n in e.declined)


def _supply(pools: Mapping[str, PoolSummary], ids: Iterable[str]) -> int:
    return sum(pools[p].supply for p in ids if p in pools)


def pool_reason(
    a: Explanation | None,
    b: Explanation | None,
    pools_a: Mapping[str, PoolSummary],
    pools_b: Mapping[str, PoolSummary],
) -> Reason:
    """Why a participant's doses from one pool differ between two revisions, from the pool's
    explanation in each (``None``: the pool was not in that revision) and the pools' totals
    (for a pool shared jointly with others of its date, the supply of them all counts)."""
    e = b or a
    assert e is not None
    pool = e.pool
    pool_a, pool_b = pools_a.get(pool), pools_b.get(pool)
    if a is None or pool_a is None:
        supply = 0 if pool_b is None else pool_b.supply
        return Reason("pool-added", pool, f"new pool {pool} ({supply:,} doses) gave it {e.doses:,}")
    if b is None or pool_b is None:
        return Reason("pool-removed", pool, f"pool {pool} is gone (it gave {a.doses:,})")
    joint = sorted(set(a.shared_with) | set(b.shared_with))
    if joint:
        names = ", ".join(joint)
        change = _supply(pools_b, joint) - _supply(pools_a, joint)
        more = _more(change).replace("in the pool", f"in the pools shared jointly ({names})")
    else:
        more = _more(pool_b.supply - pool_a.supply)
    if b.binding == "declined" or a.binding == "declined":
        was, now = _declined(a), _declined(b)
        return Reason(
            "declined", pool, f"declined {now:,} doses of pool {pool} (was {was:,}), {more}"
        )
    if _received(a) != _received(b):
        return Reason(
            "received-declined",
            pool,
            f"received {_received(b):,} doses others declined in pool {pool} "
            f"(was {_received(a):,})",
        )
    if not b.eligible:
        why = "; ".join(b.exclusion_text) or "excluded"
        return Reason("not-eligible", pool, f"not eligible for pool {pool}: {why}")
    if not a.eligible:
        return Reason("now-eligible", pool, f"now eligible for pool {pool} ({b.binding_text})")
    if b.binding == "ceiling":
        if a.binding == "ceiling":
            return Reason(
                "ceiling",
                pool,
                f"at its ceiling of {_pct(b.ceiling)} in both, from coverage "
                f"{_pct(a.coverage_before)} -> {_pct(b.coverage_before)} before pool {pool}",
            )
        return Reason(
            "ceiling", pool, f"now at its ceiling of {_pct(b.ceiling)} in pool {pool}, {more}"
        )
    if a.binding == "ceiling":
        return Reason(
            "left-ceiling",
            pool,
            f"no longer at its ceiling of {_pct(a.ceiling)} in pool {pool}: "
            f"{b.binding_text}, {more}",
        )
    if b.binding == "cap":
        state = "limited by the cap in both" if a.binding == "cap" else "now limited by the cap"
        return Reason("cap", pool, f"{state} in pool {pool}, {more}")
    if b.binding == "floor":
        state = "at the floor in both" if a.binding == "floor" else "now raised to the floor"
        return Reason("floor", pool, f"{state} in pool {pool}, {more}")
    if a.binding == "floor":
        return Reason(
            "left-floor", pool, f"no longer at the floor in pool {pool}: {b.binding_text}, {more}"
        )
    la, lb = _finite(a.level), _finite(b.level)
    if b.binding in ("level", "above-level") and la is not None and lb is not None:
        if lb > la + _SAME:
            verb = "rose"
        elif lb < la - _SAME:
            verb = "fell"
        else:
            verb = "stayed"
        code = {"rose": "level-rose", "fell": "level-fell", "stayed": "level-same"}[verb]
        what = f"its level in pool {pool}" if joint else f"common level of pool {pool}"
        if verb == "stayed":
            text = f"{what} stayed at {_pct(lb)}, {more}"
        else:
            text = f"{what} {verb} from {_pct(la)} to {_pct(lb)} {more}"
        if b.binding == "above-level":
            text += " (it was already above it)"
        if b.rounding != a.rounding:
            text += f"; pack rounding {a.rounding} -> {b.rounding}"
        return Reason(code, pool, text)
    if a.binding != b.binding:
        return Reason(
            "binding",
            pool,
            f"in pool {pool}: {a.binding} -> {b.binding} ({b.binding_text}), {more}",
        )
    return Reason("supply", pool, f"{b.binding_text} in pool {pool}, {more}")


def _index(snap: RoundSnapshot) -> dict[tuple[str, str], list[Explanation]]:
    """Explanations per (product, ISO3), in the round's delivery order of pools (however
    the explanations are listed)."""
    position = {p.pool: k for k, p in enumerate(snap.pools)}
    out: dict[tuple[str, str], list[Explanation]] = {}
    for e in snap.explanations:
        out.setdefault((e.product, e.iso3), []).append(e)
    for found in out.values():
        found.sort(key=lambda e: position.get(e.pool, len(position)))
    return out


def _coverage(found: Sequence[Explanation]) -> float:
    """Coverage after the round's last pool of the product (pools are in delivery order)."""
    return found[-1].coverage_after if found else 0.0


def diff_rounds(a: RoundSnapshot, b: RoundSnapshot) -> RoundDiff:
    """Per participant x product and per pool, what changed from ``a`` to ``b`` and why.

    A participant appears when its doses of the product changed, or its coverage did (a
    vaccine's coverage counts every vaccine, so it moves with the others' pools)."""
    ia, ib = _index(a), _index(b)
    pools_a = {p.pool: p for p in a.pools}
    pools_b = {p.pool: p for p in b.pools}
    rows: list[ParticipantChange] = []
    for key in sorted(ia.keys() | ib.keys()):
        ea, eb = ia.get(key, []), ib.get(key, [])
        doses_a, doses_b = sum(e.doses for e in ea), sum(e.doses for e in eb)
        cov_a, cov_b = _coverage(ea), _coverage(eb)
        if doses_a == doses_b and abs(cov_a - cov_b) <= _SAME:
            continue
        by_a, by_b = {e.pool: e for e in ea}, {e.pool: e for e in eb}
        reasons = tuple(
            pool_reason(by_a.get(p), by_b.get(p), pools_a, pools_b)
            for p in sorted(by_a.keys() | by_b.keys())
            if (by_a[p].doses if p in by_a else 0) != (by_b[p].doses if p in by_b else 0)
        )
        if not reasons:
            reasons = (
                Reason(
                    "coverage-only",
                    "",
                    "same doses of this product; its coverage moved with other products' pools",
                ),
            )
        name = (eb or ea)[0].name
        rows.append(
            ParticipantChange(key[1], name, key[0], doses_a, doses_b, cov_a, cov_b, reasons)
        )
    pools: list[PoolChange] = []
    for pid in sorted(pools_a.keys() | pools_b.keys()):
        pa, pb = pools_a.get(pid), pools_b.get(pid)
        if pa is not None and pb is not None and pa == pb:
            continue
        product = (pb or pa).product  # type: ignore[union-attr]
        pools.append(
            PoolChange(
                pid,
                product,
                None if pa is None else pa.supply,
                None if pb is None else pb.supply,
                None if pa is None else pa.allocated,
                None if pb is None else pb.allocated,
                None if pa is None else pa.level,
                None if pb is None else pb.level,
            )
        )
    return RoundDiff(b.round, a.allocated, b.allocated, tuple(rows), tuple(pools))


def diff_rows(diff: RoundDiff, iso3: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The diff's participant rows as plain dicts (CLI JSON/CSV, the API, the dashboard),
    only those of ``iso3`` when given."""
    keep = None if iso3 is None else set(iso3)
    return [r.to_dict() for r in diff.participants if keep is None or r.iso3 in keep]
