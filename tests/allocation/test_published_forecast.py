"""Round 1 of the bundled 2021 example against the published COVAX interim distribution
forecast of 3 February 2021, like for like: the AstraZeneca/SII pool for AMC participants.

The published figures are data (below, with their source). The tolerance is the one
docs/allocation.md ("Round 1 and the published forecast") claims and explains, and
tests/allocation/test_doc_figures.py holds the docs to these same numbers.
"""

from __future__ import annotations

from doseflow.allocation import load_scenario, run_rounds
from doseflow.cli.demo import example_path
from doseflow.domain.product import Financing

#: COVAX Facility, "Interim distribution forecast - latest as of 3 February 2021", table of
#: indicative distribution, AstraZeneca/Oxford vaccine licensed to SII (AZ/SII), Q1-Q2 2021.
PUBLISHED_AZ_SII = {"PRK": 1_992_000, "NGA": 16_008_000, "PAK": 17_160_000}

#: The example sizes its SII pool by the forecast's headline (3.3% of the population), while
#: the forecast's SII pool gave its AMC participants other than India 3.88% of WPP 2019
#: population (NGA, PAK): 3.33 / 3.88 - 1 = -14.2%. The population source moves a
#: participant by up to ~0.6% (PRK: 3.86%), rounding to packs by less than one pack.
BELOW = (0.13, 0.15)
#: Between the three, only the population source and rounding differ.
SHARE_TOLERANCE = 0.01


def _round_one() -> dict[str, int]:
    scenario = load_scenario(example_path("covax_2021.yaml"))
    result = run_rounds(scenario).rounds[0]
    sii = result.pool("AZ-SII")
    assert sii.pool.members is not None
    assert sii.pool.members.financing == frozenset({Financing.AMC})
    index = {p.iso3: i for i, p in enumerate(scenario.participants)}
    return {iso3: int(sii.doses[index[iso3]]) for iso3 in PUBLISHED_AZ_SII}


def test_round_one_is_within_the_documented_distance_of_the_forecast() -> None:
    ours = _round_one()
    for iso3, published in PUBLISHED_AZ_SII.items():
        below = 1 - ours[iso3] / published
        assert BELOW[0] <= below <= BELOW[1], (iso3, ours[iso3], published, below)


def test_round_one_shares_the_pool_among_them_as_the_forecast_did() -> None:
    ours = _round_one()
    total_ours = sum(ours.values())
    total_published = sum(PUBLISHED_AZ_SII.values())
    for iso3, published in PUBLISHED_AZ_SII.items():
        share, published_share = ours[iso3] / total_ours, published / total_published
        assert abs(share / published_share - 1) <= SHARE_TOLERANCE, (iso3, share, published_share)
