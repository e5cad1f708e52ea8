"""Random streams keyed by identity: determinism is a tested property."""

from __future__ import annotations

import numpy as np
import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.simulation.streams import (
    Distribution,
    LeadTime,
    outage_days,
    poisson_counts,
    stable_hash,
    stream,
)

UNIFORM = LeadTime(Distribution.UNIFORM, 2, 9)


def test_stable_hash_is_blake2b_not_python_hash() -> None:
    # the first 8 bytes of BLAKE2b-64("lane"), fixed for ever
    import hashlib

    expected = int.from_bytes(hashlib.blake2b(b"lane", digest_size=8).digest(), "big")
    assert stable_hash("lane") == expected
    assert stable_hash("lane") != stable_hash("store")


def test_same_seed_same_draws() -> None:
    a = UNIFORM.draw(stream(7, "lane", "A>B"), 3, 50)
    b = UNIFORM.draw(stream(7, "lane", "A>B"), 3, 50)
    assert a.shape == (3, 50)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, UNIFORM.draw(stream(8, "lane", "A>B"), 3, 50))


def test_lanes_have_their_own_streams() -> None:
    """Drawing another lane (added, or with another distribution) in between changes
    nothing in lane A>B's draws."""
    alone = UNIFORM.draw(stream(7, "lane", "A>B"), 2, 30)
    LeadTime(Distribution.TRIANGULAR, 1, 30, 4).draw(stream(7, "lane", "A>C"), 2, 30)
    again = UNIFORM.draw(stream(7, "lane", "A>B"), 2, 30)
    assert np.array_equal(alone, again)
    other = UNIFORM.draw(stream(7, "lane", "A>C"), 2, 30)
    assert not np.array_equal(alone, other)
    # the same code of another kind is another stream
    assert not np.array_equal(alone, UNIFORM.draw(stream(7, "store", "A>B"), 2, 30))


def test_a_replication_row_does_not_depend_on_how_many_replications() -> None:
    few = UNIFORM.draw(stream(1, "lane", "X>Y"), 2, 40)
    many = UNIFORM.draw(stream(1, "lane", "X>Y"), 5, 40)
    assert np.array_equal(few, many[:2])


def test_lead_times_are_whole_days_rounded_up() -> None:
    assert LeadTime.fixed(2.2).draw(stream(0, "lane", "a"), 1, 3).tolist() == [[3, 3, 3]]
    assert LeadTime.fixed(4).draw(stream(0, "lane", "a"), 1, 2).tolist() == [[4, 4]]
    tri = LeadTime(Distribution.TRIANGULAR, 2, 6, 3).draw(stream(0, "lane", "a"), 4, 500)
    assert tri.min() >= 2
    assert tri.max() <= 6
    uni = UNIFORM.draw(stream(0, "lane", "a"), 4, 500)
    assert uni.min() >= 2
    assert uni.max() <= 9
    assert len(np.unique(uni)) > 3


@pytest.mark.parametrize(
    "bad",
    [
        (Distribution.UNIFORM, 5, 2, None),
        (Distribution.UNIFORM, 1, None, None),
        (Distribution.TRIANGULAR, 1, 5, 7),
        (Distribution.FIXED, -1, None, None),
    ],
)
def test_bad_lead_times_are_refused(bad: tuple[Distribution, float, float, float]) -> None:
    with pytest.raises(DoseflowError) as caught:
        LeadTime(*bad)
    assert caught.value.code == "SIMULATION_BAD_LEAD_TIME"


def test_outages_last_their_duration() -> None:
    days = outage_days(stream(3, "store", "R1"), 365.0, 3, 1, 10)  # starts every day
    assert days.all()
    never = outage_days(stream(3, "store", "R1"), 0.0, 3, 2, 10)
    assert not never.any()
    some = outage_days(stream(3, "store", "R1"), 12.0, 4, 50, 365)
    again = outage_days(stream(3, "store", "R1"), 12.0, 4, 50, 365)
    assert np.array_equal(some, again)
    assert 0 < some.mean() < 0.5


def test_poisson_counts_are_reproducible() -> None:
    a = poisson_counts(stream(2, "demand", "SP1"), 30.0, 2, 20)
    assert np.array_equal(a, poisson_counts(stream(2, "demand", "SP1"), 30.0, 2, 20))
    assert a.shape == (2, 20)
    assert 20 < a.mean() < 40
