"""Running balances of many accounts at once: the never-negative check of a whole batch in a
few NumPy passes.

The rules are those of :mod:`doseflow.ledger.timeline` (whose :func:`~doseflow.ledger.timeline.walk`
checks one account entry by entry and stays the reference the tests compare with): per
account, entries run in timeline order (moment, order, sequence) from the balance just
before the first of them; a physical count *sets* the balance (its discrepancy is the
difference from the balance before it); a stock or transit balance below zero is a
violation, looked at only after the last entry sharing a (moment, order) place, so an event
and its reversal net out before the check. The first violation of each account is reported
with the new event that caused it (the last new entry at or before it).

Accounts are small integers, so per-account values (the starting balance, whether the
account is checked) are arrays indexed by account. A batch of 10^5 entries runs in a few
milliseconds; only the messages of refused events are built one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_STORED_BALANCE

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Runs:
    """The entries in timeline order, with balances; per account, its closing balance; and
    the first violation of each account that has one.

    ``order`` maps sorted positions back to the caller's entries (``sorted[i]`` is input
    ``order[i]``); every other per-entry array is in sorted order.
    """

    order: Ints
    account: Ints
    at: Ints
    place: Ints  # the timeline order (``order`` of the entries)
    seq: Ints
    delta: Ints
    is_count: Bools
    is_new: Bools
    balance: Ints  # after each entry
    before: Ints  # just before each entry (for a count: the ledger balance it is compared with)
    accounts: Ints  # the distinct accounts, ascending
    first: Ints  # sorted position of each account's first entry
    last: Ints  # sorted position of each account's last entry
    violations: Ints  # sorted positions of each account's first violation
    culprits: Ints  # for each violation, sorted position of the new entry that caused it, or -1

    @property
    def closing(self) -> Ints:
        """Each account's balance after its last entry (aligned with ``accounts``)."""
        return self.balance[self.last]

    @property
    def effect(self) -> Ints:
        """What each entry changed the balance by (a count: its discrepancy)."""
        return np.where(self.is_count, self.balance - self.before, self.delta)

    @property
    def last_new(self) -> Ints:
        """Per account, the sorted position of its last new entry (-1 if none)."""
        idx = np.arange(len(self.account), dtype=np.int64)
        latest = np.maximum.accumulate(np.where(self.is_new, idx, -1))[self.last]
        return np.where(latest >= self.first, latest, -1)


def run_balances(
    account: Ints,
    at: Ints,
    order: Ints,
    seq: Ints,
    delta: Ints,
    is_count: Bools,
    is_new: Bools,
    start: Ints,
    checked: Bools,
) -> Runs:
    """Run every account's balance through its entries.

    ``account``, ``at``, ``order``, ``seq``, ``delta`` (for a count: the counted quantity),
    ``is_count`` and ``is_new`` (false for entries already in the ledger) describe one entry
    each, in any order; ``start[a]`` is account ``a``'s balance before its first entry here
    and ``checked[a]`` whether it may never go below zero.
    """
    n = len(account)
    wide = _may_wrap(delta, start)
    if wide:  # Python integers: slower, but no sum can wrap (see _may_wrap)
        delta, start = delta.astype(object), start.astype(object)
    perm = np.lexsort((seq, order, at, account)).astype(np.int64)
    acc = account[perm]
    at_s = at[perm]
    ord_s = order[perm]
    d = delta[perm]
    counts = is_count[perm]
    new = is_new[perm]
    idx = np.arange(n, dtype=np.int64)
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return Runs(perm, acc, at_s, ord_s, seq[perm], d, counts, new, e, e, e, e, e, e, e)
    opens = np.ones(n, dtype=np.bool_)
    opens[1:] = acc[1:] != acc[:-1]
    first = np.flatnonzero(opens).astype(np.int64)
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = n - 1
    accounts = acc[first]
    group = np.cumsum(opens) - 1
    # A segment runs from an account's first entry or a count to just before the next one;
    # its balance is its base (the starting balance, or the counted quantity) plus the
    # deltas of its entries so far.
    contrib = np.where(counts, 0, d)
    total = np.cumsum(contrib)
    seg = np.maximum.accumulate(np.where(opens | counts, idx, 0))
    base = np.where(counts[seg], d[seg], start[accounts][group])
    balance = base + total - total[seg] + contrib[seg]
    before = np.empty_like(balance)
    before[1:] = balance[:-1]
    before[first] = start[accounts]
    if wide:
        balance, before = _storable(balance), _storable(before)
        d = d.astype(np.int64)
    # checked after the last entry of each (moment, order) place
    closes_place = np.ones(n, dtype=np.bool_)
    closes_place[:-1] = opens[1:] | (at_s[1:] != at_s[:-1]) | (ord_s[1:] != ord_s[:-1])
    bad = np.flatnonzero(checked[acc] & (balance < 0) & closes_place)
    if len(bad):
        keep = np.ones(len(bad), dtype=np.bool_)
        keep[1:] = group[bad[1:]] != group[bad[:-1]]
        bad = bad[keep]
        latest_new = np.maximum.accumulate(np.where(new, idx, -1))[bad]
        culprits = np.where(latest_new >= first[group[bad]], latest_new, -1)
    else:
        culprits = bad
    return Runs(
        perm,
        acc,
        at_s,
        ord_s,
        seq[perm],
        d,
        counts,
        new,
        balance,
        before,
        accounts,
        first,
        last,
        bad,
        culprits,
    )


#: Below this bound every partial sum of a run fits a signed 64-bit integer with room to
#: spare (the run also subtracts two partial sums, so half the range).
_SAFE_MAGNITUDE = float(2**61)


def _may_wrap(delta: Ints, start: Ints) -> bool:
    """Whether any running sum of ``delta`` from ``start`` could leave the 64-bit range,
    judged in floating point so the test itself cannot wrap."""
    if not len(delta):
        return False
    reach = float(np.abs(delta.astype(np.float64)).sum())
    if len(start):
        reach += float(np.abs(start.astype(np.float64)).max())
    return reach >= _SAFE_MAGNITUDE


def _storable(values: npt.NDArray[np.object_]) -> Ints:
    """Balances computed with Python integers, back as 64-bit ones; refuses a batch that
    would take a balance beyond what the ledger stores instead of letting it wrap."""
    for value in values.tolist():
        if abs(value) > MAX_STORED_BALANCE:
            raise DoseflowError(
                "LEDGER_BALANCE_TOO_LARGE",
                f"this batch would take a balance to {value:,} doses, beyond the largest the "
                f"ledger stores ({MAX_STORED_BALANCE:,})",
                field="quantity",
                expected=f"balances within +-{MAX_STORED_BALANCE:,} doses",
                value=value,
            )
    return values.astype(np.int64)
