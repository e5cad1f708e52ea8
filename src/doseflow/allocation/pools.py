"""Pooling a round's tranches: one pool per product, origin, donor, earmark and expiry.

Doses a pool could not place (the rounding remainder, declined doses nobody could take) are
carried into the next round's matching pool, so supply is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from doseflow.domain.supply import Origin, Tranche


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

    @property
    def new_doses(self) -> int:
        return self.doses - self.carried_in

    @property
    def key(self) -> tuple[str, str, str, tuple[str, ...], str]:
        return _key(self.product, self.origin, self.donor, self.earmarked, self.expiry)


def _key(
    product: str,
    origin: Origin,
    donor: str | None,
    earmarked: frozenset[str] | None,
    expiry: date | None,
) -> tuple[str, str, str, tuple[str, ...], str]:
    return (
        product,
        origin.value,
        donor or "",
        tuple(sorted(earmarked)) if earmarked is not None else (),
        expiry.isoformat() if expiry else "",
    )


def _pool_id(pool: Pool, expiry_needed: bool) -> str:
    parts = [pool.product]
    if pool.origin is Origin.DONATION:
        parts.append(f"donation-{pool.donor}" if pool.donor else "donation")
    if pool.earmarked is not None:
        parts.append("for-" + "+".join(sorted(pool.earmarked)))
    if expiry_needed and pool.expiry is not None:
        parts.append(f"exp-{pool.expiry.isoformat()}")
    return "/".join(parts)


def build_pools(tranches: Iterable[Tranche], carried: Iterable[Pool] = ()) -> tuple[Pool, ...]:
    """Pools of a round, in delivery order (date available, then product, then id)."""
    grouped: dict[tuple[str, str, str, tuple[str, ...], str], list[Any]] = {}
    for t in tranches:
        k = _key(t.product, t.origin, t.donor, t.earmarked, t.expiry)
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
    pools = [
        Pool(
            id="",
            product=first.product,
            doses=doses,
            available=available,
            origin=first.origin,
            donor=first.donor,
            earmarked=first.earmarked,
            expiry=first.expiry,
            tranches=tuple(ids),
            carried_in=carried_in,
        )
        for first, doses, available, ids, carried_in in grouped.values()
    ]
    if len(pools) == len({p.product for p in pools}) and not any(
        p.origin is Origin.DONATION or p.earmarked is not None for p in pools
    ):
        named = [replace(p, id=p.product) for p in pools]
    else:
        plain_ids: dict[str, int] = {}
        for p in pools:
            plain = _pool_id(p, expiry_needed=False)
            plain_ids[plain] = plain_ids.get(plain, 0) + 1
        named = [
            replace(p, id=_pool_id(p, expiry_needed=plain_ids[_pool_id(p, False)] > 1))
            for p in pools
        ]
    named.sort(key=lambda p: (p.available, p.product, p.id))
    return tuple(named)
