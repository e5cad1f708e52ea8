"""Small scenario builders for the allocation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from doseflow.allocation import Policy, RoundSpec, Scenario, SevereSupply
from doseflow.domain.participant import Participant
from doseflow.domain.product import Financing, Product
from doseflow.domain.supply import Tranche
from doseflow.domain.temperature import TemperatureBand

DAY = date(2021, 3, 1)


def product(code: str = "AZ", pack: int = 100, **kw: Any) -> Product:
    fields: dict[str, Any] = {
        "name": code,
        "manufacturer": "m",
        "doses_per_course": 2,
        "storage_band": TemperatureBand.CHILLED,
        "shelf_life_days": 180,
        "doses_per_vial": 10 if pack % 10 == 0 else 1,
        "pack_doses": pack,
    }
    fields.update(kw)
    return Product(code=code, **fields)


def participant(iso3: str, population: int = 1_000_000, **kw: Any) -> Participant:
    kw.setdefault("financing", Financing.AMC)
    return Participant(iso3=iso3, population=population, **kw)


def tranche(product_code: str, doses: int, tid: str | None = None, **kw: Any) -> Tranche:
    kw.setdefault("available", DAY)
    return Tranche(id=tid or f"{product_code}-{doses}", product=product_code, doses=doses, **kw)


def scenario(
    products: Sequence[Product],
    participants: Sequence[Participant],
    rounds: Sequence[Sequence[Tranche]] | Sequence[RoundSpec],
    policy: Policy | None = None,
    **kw: Any,
) -> Scenario:
    specs: list[RoundSpec] = []
    for i, r in enumerate(rounds):
        if isinstance(r, RoundSpec):
            specs.append(r)
        else:
            specs.append(RoundSpec(number=i + 1, name=f"R{i + 1}", date=DAY, tranches=tuple(r)))
    return Scenario(
        name=kw.pop("name", "test"),
        products={p.code: p for p in products},
        participants=tuple(participants),
        policy=policy or Policy(severe=SevereSupply(enabled=False)),
        rounds=tuple(specs),
        **kw,
    )
