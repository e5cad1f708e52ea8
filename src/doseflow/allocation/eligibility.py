"""Who may receive from a pool, and why not: one reason flag per failed condition.

Checks run column-wise over the participant table (NumPy), so a pool's eligibility costs a
handful of vector operations whatever the number of participants.
"""

from __future__ import annotations

from datetime import date
from enum import IntFlag

import numpy as np
import numpy.typing as npt

from doseflow.allocation.pools import Pool
from doseflow.allocation.table import ParticipantTable
from doseflow.domain.product import Product
from doseflow.domain.supply import Membership


class Exclusion(IntFlag):
    """Why a participant cannot receive from a pool (several may apply at once)."""

    NOT_LICENSED = 1
    NO_COLD_CHAIN = 2
    NOT_AUTHORISED = 4
    NOT_INDEMNIFIED = 8
    NO_DEPLOYMENT_PLAN = 16
    NO_IMPORT_PERMIT = 32
    OPTED_OUT = 64
    NOT_EARMARKED = 128
    EXPIRES_BEFORE_USE = 256
    DELAYED = 512
    DECLINED = 1024
    NOT_NAMED = 2048
    NO_STARTED_COURSES = 4096
    NO_REQUEST = 8192
    FAILED_GATE = 16384
    NOT_A_MEMBER = 32768


EXCLUSION_TEXT: dict[Exclusion, str] = {
    Exclusion.NOT_LICENSED: "outside the product's licence territory",
    Exclusion.NO_COLD_CHAIN: "no cold-chain capacity in the product's storage band",
    Exclusion.NOT_AUTHORISED: "no regulatory authorisation for the product",
    Exclusion.NOT_INDEMNIFIED: "no indemnification and liability agreement for the product",
    Exclusion.NO_DEPLOYMENT_PLAN: "no national deployment plan",
    Exclusion.NO_IMPORT_PERMIT: "no import permit",
    Exclusion.OPTED_OUT: "opted out of the product",
    Exclusion.NOT_EARMARKED: "the supply is earmarked for other recipients",
    Exclusion.EXPIRES_BEFORE_USE: "the supply would expire too soon after delivery",
    Exclusion.DELAYED: "asked for the product only from a later date",
    Exclusion.DECLINED: "declined this product in this round",
    Exclusion.NOT_NAMED: "not among the recipients the decliner named",
    Exclusion.NO_STARTED_COURSES: "no started courses waiting for a second dose",
    Exclusion.NO_REQUEST: "requested none of the product",
    Exclusion.FAILED_GATE: "did not pass a readiness gate (e.g. reporting compliance)",
    Exclusion.NOT_A_MEMBER: "not a member of the pool",
}


def reasons(flags: int) -> tuple[Exclusion, ...]:
    """The individual reasons held in a combined flag value, in a stable order."""
    return tuple(e for e in Exclusion if flags & e)


def describe(
    flags: int, gate_notes: tuple[str, ...] = (), members: Membership | None = None
) -> list[str]:
    """Plain-language reasons; a failed extra gate is told by the gate's own reasons, and a
    non-member is told whom the pool is for."""
    out: list[str] = []
    for e in reasons(flags):
        if e is Exclusion.FAILED_GATE and gate_notes:
            out.extend(gate_notes)
        elif e is Exclusion.NOT_A_MEMBER and members is not None:
            out.append(f"{EXCLUSION_TEXT[e]}: the pool is for {members.text()}")
        else:
            out.append(EXCLUSION_TEXT[e])
    return out


def pool_exclusions(
    table: ParticipantTable,
    product: Product,
    pool: Pool,
    *,
    lead_time_days: int,
    min_days_before_expiry: int,
    gate_failed: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.int64]:
    """Reason flags per participant for ``pool`` (0 means eligible). ``gate_failed`` marks
    the participants that failed an extra readiness gate this round.

    The flags that depend on the product only are computed once per run; a pool without an
    earmark, membership, delays, expiry or failed gate gets that cached array itself
    (read-only), so a year of weekly tranches pays for its eligibility once per product."""
    static = table.static_exclusions(product)
    delays = table.delay_ordinals(product.code)
    if (
        gate_failed is None
        and pool.earmarked is None
        and pool.members is None
        and delays is None
        and pool.expiry is None
    ):
        return static
    flags = static.copy()
    if gate_failed is not None:
        flags[gate_failed] |= int(Exclusion.FAILED_GATE)
    if pool.earmarked is not None:
        named = np.isin(table.iso3, np.array(sorted(pool.earmarked), dtype=object))
        flags[~named] |= int(Exclusion.NOT_EARMARKED)
    if pool.members is not None:
        flags[~_members(table, pool.members)] |= int(Exclusion.NOT_A_MEMBER)
    if delays is not None:
        flags[delays > pool.available.toordinal()] |= int(Exclusion.DELAYED)
    if pool.expiry is not None:
        lead = table.lead_time_days(lead_time_days)
        usable_days = pool.expiry.toordinal() - (pool.available.toordinal() + lead)
        flags[usable_days < min_days_before_expiry] |= int(Exclusion.EXPIRES_BEFORE_USE)
    return flags


def _members(table: ParticipantTable, members: Membership) -> npt.NDArray[np.bool_]:
    """Who may draw from a pool with ``members``: a matching financing group or ISO3 code."""
    out = np.isin(table.iso3, np.array(sorted(members.iso3), dtype=object))
    for group in members.financing:
        out |= table.in_group(group)
    return out


def delivery_date(available: date, lead_time_days: int) -> date:
    return date.fromordinal(available.toordinal() + lead_time_days)
