"""What a deployment plan holds, and readable views of it.

Results are kept as arrays (regions x groups, lots x regions) so that a national network
of thousands of service points stays cheap; the methods turn them into records
(:class:`ShipmentLine`, :class:`RegionLine`, :class:`HeldStock`) and explanations on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from doseflow.deployment.model import DeploymentInput, ProductPolicy, Region, StockLot
from doseflow.domain.errors import DoseflowError
from doseflow.domain.product import Product
from doseflow.domain.units import Unit, express

I64 = npt.NDArray[np.int64]


class Limit(StrEnum):
    """What decided a region's amount of a product."""

    NEED = "need"  # every person still to vaccinate there is covered
    SUPPLY = "supply"  # its fair share of scarce national supply
    COLD_CHAIN = "cold-chain"  # its free storage in the product's band
    ADMINISTRATION = "administration"  # doses it can give over the horizon
    EXPIRY = "expiry"  # the lots would expire before it could use more
    NO_NEED = "no-need"  # nobody left to vaccinate there


@dataclass(frozen=True)
class LotPlan:
    """How one lot is shared: whole packs per region (aligned with the plan's regions)."""

    lot: StockLot
    expiry_day: int  # last usable day, as a day index (thaw limit applied)
    packs_by_region: I64
    loose_doses: int  # doses beyond the last whole pack, kept at the national store
    unused_packs: int  # whole packs planned to nobody
    too_late_packs: int  # of which: no region wanting more could use them before expiry


@dataclass(frozen=True)
class ProductPlan:
    """One product's plan; arrays are per region (and per group for ``people``)."""

    product: Product
    policy: ProductPolicy
    packs: I64  # whole packs shipped per region
    people: I64  # people started per region and group
    need_people: I64  # people still to vaccinate per region before this product
    cold_room_doses: I64  # doses the free cold chain could take
    admin_room_doses: I64  # doses the region could still give over the horizon
    share_people: I64  # people its share of supply covered, before pack rounding
    rounded_packs: I64  # packs after rounding, before any cut for expiry
    lots: tuple[LotPlan, ...]

    @property
    def doses(self) -> I64:
        out: I64 = self.packs * self.product.pack_doses
        return out

    @property
    def doses_planned_for_people(self) -> I64:
        out: I64 = self.people.sum(axis=1) * self.policy.doses_per_person
        return out

    @property
    def available_doses(self) -> int:
        return sum(lp.lot.doses for lp in self.lots)


@dataclass(frozen=True)
class ShipmentLine:
    """Whole packs of one lot from the national store to one region."""

    region: str
    destination: str
    product: str
    lot: str
    expiry: date | None
    packs: int
    doses: int
    dispatch: date
    arrival: date


@dataclass(frozen=True)
class RegionLine:
    """One region's share of one product, with what decided it."""

    region: str
    product: str
    packs: int
    doses: int
    people_started: int
    courses_reserved: int  # people whose every dose is in the plan
    buffer_doses: int  # doses beyond the courses planned (pack rounding)
    limit: Limit


@dataclass(frozen=True)
class HeldStock:
    """Doses that stay at the national store, and why."""

    product: str
    lot: str
    doses: int
    reason: str


@dataclass(frozen=True)
class DeploymentPlan:
    """A deployment plan (from :func:`doseflow.deployment.plan_deployment`)."""

    input: DeploymentInput
    target: I64  # target population per region and group
    demand: I64  # people to vaccinate per region and group (target x coverage)
    levels: tuple[tuple[int, ...], ...]
    products: tuple[ProductPlan, ...]
    sim_days: int

    # -- lookups -----------------------------------------------------------------------
    @property
    def regions(self) -> tuple[Region, ...]:
        return self.input.regions

    def region_index(self, code: str) -> int:
        for i, region in enumerate(self.input.regions):
            if region.code == code:
                return i
        raise DoseflowError(
            "DEPLOY_UNKNOWN_REGION",
            f"no region '{code}' in this plan",
            field="region",
            expected="a region code of the plan",
            value=code,
        )

    def product_plan(self, code: str) -> ProductPlan:
        for plan in self.products:
            if plan.product.code == code:
                return plan
        raise DoseflowError(
            "DEPLOY_UNKNOWN_PRODUCT",
            f"no product '{code}' in this plan",
            field="product",
            expected="one of " + ", ".join(p.product.code for p in self.products),
            value=code,
        )

    def day(self, index: int) -> date:
        return self.input.start + timedelta(days=index)

    # -- totals ------------------------------------------------------------------------
    @property
    def people_by_cell(self) -> I64:
        """People started per region and group, all products."""
        total = np.zeros(self.demand.shape, dtype=np.int64)
        for plan in self.products:
            total += plan.people
        return total

    def planned_doses(self, product: str | None = None) -> int:
        plans = self.products if product is None else (self.product_plan(product),)
        return int(sum(int(p.doses.sum()) for p in plans))

    def available_doses(self, product: str | None = None) -> int:
        plans = self.products if product is None else (self.product_plan(product),)
        return sum(p.available_doses for p in plans)

    # -- records -----------------------------------------------------------------------
    def shipments(self) -> list[ShipmentLine]:
        """Every (region, lot) with packs planned, in plan order (product, lot, region)."""
        lines: list[ShipmentLine] = []
        regions = self.input.regions
        for plan in self.products:
            pack = plan.product.pack_doses
            for lp in plan.lots:
                for r in np.flatnonzero(lp.packs_by_region):
                    region = regions[int(r)]
                    packs = int(lp.packs_by_region[r])
                    lines.append(
                        ShipmentLine(
                            region=region.code,
                            destination=region.destination,
                            product=plan.product.code,
                            lot=lp.lot.lot,
                            expiry=lp.lot.expiry,
                            packs=packs,
                            doses=packs * pack,
                            dispatch=self.input.start,
                            arrival=self.day(region.lead_days),
                        )
                    )
        return lines

    def region_lines(self) -> list[RegionLine]:
        """One line per region and product with doses or unmet need."""
        lines: list[RegionLine] = []
        for plan in self.products:
            for r in range(len(self.input.regions)):
                packs = int(plan.packs[r])
                if packs == 0 and plan.need_people[r] == 0:
                    continue
                lines.append(self.region_line(plan, r))
        return lines

    def region_line(self, plan: ProductPlan, r: int) -> RegionLine:
        doses = int(plan.doses[r])
        people = int(plan.people[r].sum())
        policy = plan.policy
        complete = people if policy.doses_per_person == policy.doses_per_course else 0
        return RegionLine(
            region=self.input.regions[r].code,
            product=plan.product.code,
            packs=int(plan.packs[r]),
            doses=doses,
            people_started=people,
            courses_reserved=complete,
            buffer_doses=doses - people * policy.doses_per_person,
            limit=self.limit(plan, r),
        )

    def limit(self, plan: ProductPlan, r: int) -> Limit:
        """What decided region ``r``'s amount of ``plan``'s product."""
        kp = plan.policy.doses_per_person
        pack = plan.product.pack_doses
        if plan.need_people[r] == 0:
            return Limit.NO_NEED
        if plan.packs[r] < plan.rounded_packs[r]:
            return Limit.EXPIRY
        if plan.people[r].sum() >= plan.need_people[r]:
            return Limit.NEED
        room = min(int(plan.cold_room_doses[r]), int(plan.admin_room_doses[r]))
        if int(plan.doses[r]) + max(pack, kp) > room:
            if plan.cold_room_doses[r] <= plan.admin_room_doses[r]:
                return Limit.COLD_CHAIN
            return Limit.ADMINISTRATION
        return Limit.SUPPLY

    def held(self) -> list[HeldStock]:
        """Stock not planned to any region, per lot, with the reason."""
        out: list[HeldStock] = []
        for plan in self.products:
            pack = plan.product.pack_doses
            for lp in plan.lots:
                code, lot = plan.product.code, lp.lot.lot
                if lp.expiry_day < 0 and lp.lot.doses:
                    out.append(HeldStock(code, lot, lp.lot.doses, "expired before the plan"))
                    continue
                if lp.too_late_packs:
                    out.append(
                        HeldStock(
                            code,
                            lot,
                            lp.too_late_packs * pack,
                            f"no region wanting more could use it before it expires "
                            f"({self.day(lp.expiry_day).isoformat()})",
                        )
                    )
                rest = lp.unused_packs - lp.too_late_packs
                if rest:
                    out.append(
                        HeldStock(
                            code,
                            lot,
                            rest * pack,
                            "no region has further need, cold-chain room or capacity",
                        )
                    )
                if lp.loose_doses:
                    out.append(
                        HeldStock(code, lot, lp.loose_doses, f"not a whole pack ({pack} doses)")
                    )
        return out

    # -- explanations ------------------------------------------------------------------
    def explain(self, region: str, product: str) -> str:
        """Why ``region`` got what it got of ``product``, in words and figures."""
        plan = self.product_plan(product)
        r = self.region_index(region)
        reg = self.input.regions[r]
        pol = plan.policy
        prod = plan.product
        kp = pol.doses_per_person
        line = self.region_line(plan, r)
        pack_q = express(prod, int(plan.doses[r]), Unit.PACK)
        course = (
            f"{pol.doses_per_course}-dose course"
            + (f", {pol.interval_days} days apart" if pol.doses_per_course > 1 else "")
            + (
                f"; later doses reserved, so each person counts {kp} dose{'s' if kp > 1 else ''}"
                if pol.reserve_later_doses and pol.doses_per_course > 1
                else (
                    "; first doses only (later doses not reserved)"
                    if kp == 1 and pol.doses_per_course > 1
                    else ""
                )
            )
        )
        parts = [
            f"{reg.name} ({reg.code}) gets {pack_q} = {int(plan.doses[r]):,} doses of "
            f"{prod.name} ({course}).",
            f"Still to vaccinate there before {prod.code}: {int(plan.need_people[r]):,} people; "
            f"it starts {self._started_by_group(plan, r)}.",
            f"Room: cold chain {pol.store_band.label} holds {int(plan.cold_room_doses[r]):,} "
            f"doses at {pol.cm3_per_dose:g} cm³ per dose; administration "
            f"{reg.doses_per_day:,} doses/day over {self.input.horizon_days} days leaves "
            f"{int(plan.admin_room_doses[r]):,} doses.",
            f"Strategy '{self.input.strategy.value}' gave it {int(plan.share_people[r]):,} "
            f"people ({int(plan.share_people[r]) * kp:,} doses) of the national "
            f"{plan.available_doses:,} doses.",
        ]
        rounded = int(plan.rounded_packs[r]) * prod.pack_doses
        diff = rounded - int(plan.share_people[r]) * kp
        if diff:
            parts.append(
                f"Whole packs of {prod.pack_doses:,} doses: {'+' if diff > 0 else ''}{diff:,} "
                "doses."
            )
        cut = int(plan.rounded_packs[r] - plan.packs[r])
        if cut:
            parts.append(
                f"Cut by {cut} pack(s): the lots available would expire before it could give them."
            )
        lots = [
            f"{lp.lot.lot} x{int(lp.packs_by_region[r])} (use by "
            f"{self.day(lp.expiry_day).isoformat() if lp.expiry_day < 10**8 else 'no expiry'})"
            for lp in plan.lots
            if lp.packs_by_region[r]
        ]
        if lots:
            parts.append("Lots, first expiry first out: " + ", ".join(lots) + ".")
        parts.append(
            f"Decided by: {line.limit.value}. {line.people_started:,} people start, "
            f"{line.courses_reserved:,} with every dose reserved; {line.buffer_doses:,} doses "
            "spare."
        )
        return " ".join(parts)

    def _started_by_group(self, plan: ProductPlan, r: int) -> str:
        shares = []
        after = plan.people[r]
        for g, group in enumerate(self.input.groups):
            got = int(after[g])
            if got:
                shares.append(f"{group.name} {got:,}")
        return ", ".join(shares) if shares else "nobody"
