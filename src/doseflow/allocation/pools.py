"""Pooling a round's tranches: one pool per product, origin, donor, earmark and expiry.

Doses a pool could not place (the rounding remainder, declined doses nobody could take) are
carried into the next round's matching pool, so supply is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


def _pool_id(
    product: str,
    origin: Origin,
    donor: str | None,
    earmarked: frozenset[str] | None,
    expiry: date | None,
) -> str:
    """A readable pool id: the product, then what tells its pools apart (``expiry`` only
    when given, i.e. when two pools differ by nothing else)."""
    parts = [product]
    if origin is Origin.DONATION:
        parts.append(f"donation-{donor}" if donor else "donation")
    if earmarked is not None:
        parts.append("for-" + "+".join(sorted(earmarked)))
    if expiry is not None:
        parts.append(f"exp-{expiry.isoformat()}")
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
    firsts = list(grouped.values())
    single = len(firsts) == len({f[0].product for f in firsts}) and not any(
        f[0].origin is Origin.DONATION or f[0].earmarked is not None for f in firsts
    )
    plain_ids: dict[str, int] = {}
    if not single:
        for f in firsts:
            plain = _pool_id(f[0].product, f[0].origin, f[0].donor, f[0].earmarked, None)
            plain_ids[plain] = plain_ids.get(plain, 0) + 1
    named: list[Pool] = []
    for first, doses, available, ids, carried_in in firsts:
        if single:
            pool_id = first.product
        else:
            plain = _pool_id(first.product, first.origin, first.donor, first.earmarked, None)
            expiry = first.expiry if plain_ids[plain] > 1 else None
            pool_id = _pool_id(first.product, first.origin, first.donor, first.earmarked, expiry)
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
            )
        )
    named.sort(key=lambda p: (p.available, p.product, p.id))
    return tuple(named)
