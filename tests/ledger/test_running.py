"""The vectorised run over many accounts agrees with the entry-by-entry reference walk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doseflow.domain.errors import DoseflowError
from doseflow.ledger.accounts import AccountKey, AccountState
from doseflow.ledger.running import Runs, run_balances
from doseflow.ledger.timeline import Entry, timeline_key, walk


@dataclass(frozen=True)
class Raw:
    account: int
    at: int
    order: int
    delta: int
    count: bool
    new: bool


ACCOUNTS = [
    AccountKey(AccountState.STOCK, "A", "P", "L1"),
    AccountKey(AccountState.TRANSIT, "A", "P", "L1", "S1"),
    AccountKey(AccountState.ADMINISTERED, "A", "P", "L1"),
    AccountKey(AccountState.STOCK, "B", "P", "L2"),
]

raw_entries = st.builds(
    Raw,
    account=st.integers(0, len(ACCOUNTS) - 1),
    at=st.integers(0, 4),
    order=st.integers(1, 5),  # few values: entries often share a (moment, order) place
    delta=st.integers(-40, 40),
    count=st.booleans(),
    new=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(raw_entries, max_size=40),
    st.lists(st.integers(0, 60), min_size=len(ACCOUNTS), max_size=len(ACCOUNTS)),
)
def test_run_balances_agrees_with_walk(raws: list[Raw], starts: list[int]) -> None:
    # as in the ledger: counts are new entries of stock accounts counting a quantity >= 0
    # (stored steps are never counts); sequence numbers are unique
    entries: list[tuple[int, Entry]] = []
    for seq, r in enumerate(raws, start=1):
        count = r.count and r.new and ACCOUNTS[r.account].state is AccountState.STOCK
        delta = abs(r.delta) if count else r.delta
        event_id = f"e{seq}" if r.new else ""
        entries.append((r.account, Entry(r.at, r.order, seq, delta, event_id, r.new, count)))
    start = np.array(starts, dtype=np.int64)
    checked = np.array([a.state is not AccountState.ADMINISTERED for a in ACCOUNTS])
    rows = [(a, e.at, e.order, e.seq, e.delta, e.is_count, e.new) for a, e in entries]
    cols = list(zip(*rows, strict=True))
    if not cols:
        cols = [()] * 7
    runs = run_balances(
        np.array(cols[0], dtype=np.int64),
        np.array(cols[1], dtype=np.int64),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=np.int64),
        np.array(cols[4], dtype=np.int64),
        np.array(cols[5], dtype=np.bool_),
        np.array(cols[6], dtype=np.bool_),
        start,
        checked,
    )
    violations = dict(
        zip(runs.account[runs.violations].tolist(), runs.violations.tolist(), strict=True)
    )
    culprits = dict(zip(runs.violations.tolist(), runs.culprits.tolist(), strict=True))
    order = runs.order.tolist()
    seen_accounts = []
    for account, key in enumerate(ACCOUNTS):
        mine = sorted((e for a, e in entries if a == account), key=timeline_key)
        if not mine:
            continue
        seen_accounts.append(account)
        reference = walk(key, starts[account], mine)
        positions = np.flatnonzero(runs.account == account)
        assert runs.balance[positions].tolist() == list(reference.balances)
        counts = {
            entries[order[p]][1].event_id: int(runs.balance[p] - runs.before[p])
            for p in positions
            if runs.is_count[p]
        }
        assert counts == reference.count_deltas
        closing = runs.closing[list(runs.accounts).index(account)]
        assert closing == reference.balances[-1]
        if reference.violation is None:
            assert account not in violations
        else:
            pos = violations[account]
            culprit = culprits[pos]
            event_id = entries[order[culprit]][1].event_id if culprit >= 0 else ""
            assert (int(runs.at[pos]), int(runs.balance[pos]), event_id) == (
                reference.violation.at,
                reference.violation.balance,
                reference.violation.event_id,
            )
    assert runs.accounts.tolist() == seen_accounts


def _one_account(deltas: list[int], start: int = 0) -> Runs:
    n = len(deltas)
    return run_balances(
        np.zeros(n, dtype=np.int64),
        np.arange(n, dtype=np.int64),
        np.ones(n, dtype=np.int64),
        np.arange(1, n + 1, dtype=np.int64),
        np.array(deltas, dtype=np.int64),
        np.zeros(n, dtype=np.bool_),
        np.ones(n, dtype=np.bool_),
        np.array([start], dtype=np.int64),
        np.ones(1, dtype=np.bool_),
    )


def test_sums_near_two_to_the_63_are_exact() -> None:
    # large enough for the run to use Python integers; the answer is the same as ever
    big = 2**62
    runs = _one_account([big, big - 1, -big, -big - 1])
    assert runs.balance.tolist() == [big, 2 * big - 1, big - 1, -2]
    assert runs.balance.dtype == np.int64
    assert runs.balance[runs.violations].tolist() == [-2]


def test_a_balance_beyond_what_the_ledger_stores_is_refused_not_wrapped() -> None:
    # in 64-bit arithmetic two maxima added up to -2: "short by 2 doses"
    with pytest.raises(DoseflowError) as caught:
        _one_account([2**63 - 1, 2**63 - 1])
    assert caught.value.code == "LEDGER_BALANCE_TOO_LARGE"
    assert "18,446,744,073,709,551,614" in caught.value.detail.message


def test_small_sums_stay_in_64_bit_arithmetic() -> None:
    runs = _one_account([5, -3, 10**12], start=7)
    assert runs.balance.tolist() == [12, 9, 10**12 + 9]
    assert runs.violations.tolist() == []
