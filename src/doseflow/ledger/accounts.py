"""Accounts and postings: where every dose is at any moment.

Each event moves doses between accounts. The ``entered`` account is where doses come from
when they first enter the ledger (dispatched by a supplier, or found), so its balance is
minus everything that ever entered; the sum over all accounts is therefore always zero,
which is the conservation law the self-check verifies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple


class AccountState(StrEnum):
    """Where a dose is."""

    ENTERED = "entered"  # the counter-account of doses entering the ledger (<= 0)
    STOCK = "stock"  # in stock at a node
    TRANSIT = "transit"  # in transit on a shipment to a node
    ADMINISTERED = "administered"  # given to people at a node
    WRITTEN_OFF = "written-off"  # removed at a node, with a reason


#: States whose balance may never be negative at any moment.
CHECKED_STATES: frozenset[AccountState] = frozenset({AccountState.STOCK, AccountState.TRANSIT})


class AccountKey(NamedTuple):
    """One account. ``ref`` is the shipment id (transit) or the reason (written off)."""

    state: AccountState
    node: str
    product: str
    lot: str
    ref: str = ""

    def describe(self) -> str:
        lot = f"{self.product}/{self.lot}"
        if self.state is AccountState.TRANSIT:
            return f"{lot} in transit on shipment {self.ref} to {self.node}"
        if self.state is AccountState.WRITTEN_OFF:
            return f"{lot} written off ({self.ref}) at {self.node}"
        if self.state is AccountState.ENTERED:
            return f"{lot} entered at {self.node}"
        return f"{lot} {self.state.value} at {self.node}"

    def place(self) -> str:
        """Where the doses are, in words: the node, or the shipment in transit to it."""
        if self.state is AccountState.TRANSIT:
            return f"shipment {self.ref} in transit to {self.node}"
        return self.node


class Posting(NamedTuple):
    """``delta`` doses into (or, if negative, out of) ``account``."""

    account: AccountKey
    delta: int


def to_instant(moment: datetime) -> int:
    """Whole seconds since 1970-01-01 UTC: how the ledger orders and stores moments."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def instants(moments: Iterable[datetime]) -> list[int]:
    """:func:`to_instant` of many moments, for bulk appends. Events hold aware moments
    (``LedgerEvent`` makes them UTC), so this maps ``timestamp`` without a Python-level
    loop; a naive moment among them is refused rather than read as local time."""
    listed = list(moments)
    if None in map(_TZINFO, listed):
        raise ValueError("instants() needs timezone-aware moments")
    return list(map(int, map(datetime.timestamp, listed)))


_TZINFO = attrgetter("tzinfo")


def from_instant(instant: int) -> datetime:
    return datetime.fromtimestamp(instant, tz=UTC)
