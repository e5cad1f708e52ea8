"""Pooling a round's tranches: one pool per product, origin, donor, earmark, membership and
expiry.

Doses a pool could not place (the rounding remainder, declined doses nobody could take) are
carried into the next round's matching pool, so supply is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from doseflow.domain.supply import Membership, Origin, Tranche

PoolKey = tuple[str, str, str, tuple[str, ...], tuple[str, ...], str]


@dataclass(frozen=True)
class Pool:
    """Supply of one product shared in one round. ``doses`` includes ``carried_in``."""

    id: str
    product: str
    doses: int
    available: date
    origin: Origin = Origin.PURCHASE
    donor: str | None = None
    earmarked: frozenset[str] | None = None
    expiry: date | None = None
    tranches: tuple[str, ...] = ()
    carried_in: int = 0
    #: who may draw from the pool (``None``: every participant); carried pools keep it
    members: Membership | None = None

    @property
    def new_doses(self) -> int:
        return self.doses - self.carried_in

    @property
    def key(self) -> PoolKey:
        return _key(self)


def _key(p: Pool | Tranche) -> PoolKey:
    return (
        p.product,
        p.origin.value,
        p.donor or "",
        tuple(sorted(p.earmarked)) if p.earmarked is not None else (),
        p.members.key if p.members is not None else (),
        p.expiry.isoformat() if p.expiry else "",
    )


def _pool_id(
    first: Pool | Tranche, members: Membership | None = None, expiry: date | None = None
) -> str:
    """A readable pool id: the product, then what tells its pools apart (``members`` and
    ``expiry`` only when given, i.e. when two pools differ by nothing else)."""
    parts = [first.product]
    if first.origin is Origin.DONATION:
        parts.append(f"donation-{first.donor}" if first.donor else "donation")
    if first.earmarked is not None:
        parts.append("for-" + "+".join(sorted(first.earmarked)))
    if members is not None:
        parts.append("members-" + members.slug())
    if expiry is not None:
        parts.append(f"exp-{expiry.isoformat()}")
    return "/".join(parts)


def _counts(ids: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in ids:
        out[i] = out.get(i, 0) + 1
    return out


def build_pools(tranches: Iterable[Tranche], carried: Iterable[Pool] = ()) -> tuple[Pool, ...]:
    """Pools of a round, in delivery order (date available, then product, then id)."""
    grouped: dict[PoolKey, list[Any]] = {}
    for t in tranches:
        k = _key(t)
        found = grouped.get(k)
        if found is None:
            grouped[k] = [t, t.doses, t.available, [t.id], 0]
        else:
            found[1] += t.doses
            found[2] = max(found[2], t.available)
            found[3].append(t.id)
    for c in carried:
        if c.doses <= 0:
            continue
        found = grouped.get(c.key)
        if found is None:
            grouped[c.key] = [c, c.doses, c.available, [f"carried-from-{c.id}"], c.doses]
        else:
            found[1] += c.doses
            found[3].append(f"carried-from-{c.id}")
            found[4] += c.doses
    firsts = list(grouped.values())
    single = len(firsts) == len({f[0].product for f in firsts}) and not any(
        f[0].origin is Origin.DONATION or f[0].earmarked is not None for f in firsts
    )
    # the membership, then the expiry, is named only where pools differ by nothing else
    plain = _counts(_pool_id(f[0]) for f in firsts)
    members = [f[0].members if plain[_pool_id(f[0])] > 1 else None for f in firsts]
    with_members = _counts(_pool_id(f[0], m) for f, m in zip(firsts, members, strict=True))
    named: list[Pool] = []
    for (first, doses, available, ids, carried_in), m in zip(firsts, members, strict=True):
        if single:
            pool_id = first.product
        else:
            expiry = first.expiry if with_members[_pool_id(first, m)] > 1 else None
            pool_id = _pool_id(first, m, expiry)
        named.append(
            Pool(
                id=pool_id,
                product=first.product,
                doses=doses,
                available=available,
                origin=first.origin,
                donor=first.donor,
                earmarked=first.earmarked,
                expiry=first.expiry,
                tranches=tuple(ids),
                carried_in=carried_in,
                members=first.members,
            )
        )
    named.sort(key=lambda p: (p.available, p.product, p.id))
    return tuple(named)
