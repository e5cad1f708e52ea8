"""Published curves, contact matrices and their fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from doseflow.data import contacts as prem
from doseflow.data import population as wpp
from doseflow.domain.errors import DoseflowError
from doseflow.impact import AgeBands
from doseflow.impact.contact_matrices import MatrixOrigin, contacts_for_bands, prem_matrix
from doseflow.impact.epidemiology import (
    GBD2019_REFERENCE_LIFE_TABLE,
    ifr_by_band,
    levin_ifr,
    life_expectancy_by_band,
    remaining_life_expectancy,
)


def test_levin_curve_is_the_published_equation() -> None:
    for age in (5.0, 42.0, 80.0):
        assert levin_ifr(age) == pytest.approx(10 ** (-3.27 + 0.0524 * age) / 100)
    assert levin_ifr(120.0) == pytest.approx(levin_ifr(90.0))


def test_band_ifr_is_population_weighted_mean_of_five_year_values() -> None:
    pop = wpp.country("NGA").population_by_age()
    bands = AgeBands((0, 50))
    got = ifr_by_band(bands, pop)
    mids = np.arange(0, 101, 5) + 2.5
    young = pop[:10] @ levin_ifr(mids[:10]) / pop[:10].sum()
    assert got[0] == pytest.approx(young)
    assert got[1] > got[0]


def test_life_expectancy_follows_gbd_table() -> None:
    for age, value in GBD2019_REFERENCE_LIFE_TABLE:
        assert remaining_life_expectancy(age) == pytest.approx(value)
    le = life_expectancy_by_band(AgeBands.uniform(10, 80))
    assert np.all(np.diff(le) < 0)


def test_prem_bands_reproduce_the_prem_matrix() -> None:
    pop = wpp.country("NGA").population_by_age()
    matrix, sourced = contacts_for_bands("NGA", AgeBands.uniform(5, 75), pop, reciprocal=False)
    assert sourced.origin is MatrixOrigin.PREM
    np.testing.assert_allclose(matrix, prem.contact_matrix("NGA"))


def test_aggregated_matrix_is_reciprocal() -> None:
    pop = wpp.country("IND").population_by_age()
    bands = AgeBands.uniform(10, 80)
    matrix, _ = contacts_for_bands("IND", bands, pop)
    band_pop = np.bincount(bands.index_of_five_year(), weights=pop.astype(float))
    total = matrix * band_pop[:, None]
    np.testing.assert_allclose(total, total.T)


def test_aggregation_keeps_total_contacts() -> None:
    pop = wpp.country("BRA").population_by_age().astype(float)
    fine, _ = contacts_for_bands(
        "BRA", AgeBands.uniform(5, 75), pop.astype(np.int64), reciprocal=False
    )
    coarse, _ = contacts_for_bands(
        "BRA", AgeBands((0, 20, 60)), pop.astype(np.int64), reciprocal=False
    )
    fine_pop = np.append(pop[:15], pop[15:].sum())
    coarse_pop = np.array([pop[:4].sum(), pop[4:12].sum(), pop[12:].sum()])
    assert (coarse * coarse_pop[:, None]).sum() == pytest.approx((fine * fine_pop[:, None]).sum())


def test_country_without_matrix_gets_documented_fallback() -> None:
    assert not prem.has_matrix("PRK")
    sourced = prem_matrix("PRK")
    assert sourced.origin is MatrixOrigin.INCOME_MEAN
    peers = [wpp.country(c) for c in sourced.peers]
    assert all(p.income_group == wpp.country("PRK").income_group for p in peers)
    np.testing.assert_allclose(
        sourced.matrix, np.mean([prem.contact_matrix(c) for c in sourced.peers], axis=0)
    )


def test_proxy_country_is_used_when_named() -> None:
    sourced = prem_matrix("PRK", proxy="kor")
    assert sourced.origin is MatrixOrigin.PROXY
    np.testing.assert_allclose(sourced.matrix, prem.contact_matrix("KOR"))


def test_proxy_without_matrix_error() -> None:
    with pytest.raises(DoseflowError) as err:
        prem_matrix("NGA", proxy="SOM")
    assert err.value.code == "IMPACT_NO_CONTACT_PROXY"
    assert "has no Prem" in str(err.value)
    assert err.value.detail.value == "SOM"
