"""Runs the authors' own functions of Matrajt et al. (2021) for fixed allocations.

Not a test and not imported by doseflow: a record of how the numbers in
``../matrajt2021.json`` ("authors_code_results") were made. Run from a checkout of
github.com/lulelita/vaccine_optimization at b838ed3 (its ``coronavirusMainFunctionsP.py``
copied to ``coronavirusMainFunctions.py``, the name its other module imports) with the
pickles of github.com/laura-matrajt/data at ab5325e in ``data/``::

    python run_authors_code.py > results.json          # their 365 days
    python run_authors_code.py 3650 > results_3650.json  # the same, run for 3650 days

It only calls their ``findBetaNewModel_eqs2_withHosp4``, ``splitVaccineAmongAgeGroups`` and
``runVaccination`` with the set-up of their ``createProRataMatsP.py`` (R0 3, 20% recovered,
1,000 infections, Washington state population, 365 days). Two adaptations, neither changing
a number: ``pyswarms`` (imported, unused here) is stubbed, and the one-element array of the
75+ group's age shares is passed as a float (NumPy 2 refuses to store an array in a slot).
"""

import json
import pickle
import sys
import types

import numpy as np

sys.modules["pyswarms"] = types.ModuleType("pyswarms")
from coronavirusMainFunctions import findBetaNewModel_eqs2_withHosp4  # noqa: E402
from optimizationFunctionsCoronavirus3P import (  # noqa: E402
    runVaccination,
    splitVaccineAmongAgeGroups,
)

#: Order in which each strategy fills the five vaccine groups (0-19, 20-49, 50-64, 65-74, 75+).
ORDERS = {"older-first": [4, 3, 2, 1, 0], "adults-20-49-first": [1, 4, 3, 2, 0]}
EFFICACIES = (0.3, 0.5, 0.9)
COVERAGES = (10, 20, 30, 40, 50, 60, 70, 80)


def load(name):
    with open("data/" + name + ".pickle", "rb") as f:
        return pickle.load(f)


N = 7.615e6
C = load("consistentMatricesUS_polymodMethod01Jun2020")["all"]
shares16 = load("populationUS16ageGroups03Jun2020")[1]
groups = load("populationUSGroupsForOptimization03Jun2020")
group_fracs = list(groups["groupsFracs"])
group_fracs[4] = float(group_fracs[4][0])
frac5 = groups["fracOfTotalPopulationPerVaccineGroup"]
pop, pop5 = N * shares16, N * frac5
severity = load("disease_severity_parametersFerguson")
h, icu, mort = severity["hosp_rate_16"], severity["icu_rate_16"], severity["mortality_rate_16"]
DAYS = int(sys.argv[1]) if len(sys.argv) > 1 else 365  # theirs: 365
tspan = np.linspace(0, DAYS, DAYS * 2)
fs = 0.65 * np.ones(16)
gA, gH, gI, gICU, gP, gE = 1 / 5, 1 / 5, 1 / 3, 1 / 10, 1 / 2, 1 / 3
redA, redH, redP = 1, 0.0, 1.3
red_sus = np.ones(16)
red_sus[0:3] = 0.34
red_sus[13:16] = 1.47
beta = findBetaNewModel_eqs2_withHosp4(
    C, fs, gA, gE, gH, gI, gP, h, redA, redH, redP, red_sus, 3, pop
)
current = 1000 * shares16


def initial_state():
    rest = 0.2 * (pop - current)
    z = np.zeros(16)
    rows = [
        0.8 * (pop - current),
        z,
        (1 - fs) * current,
        z,
        fs * current,
        z,
        z,
        fs * rest * (1 - h),
        (1 - fs) * rest,
        fs * rest * h * (1 - icu),
        fs * rest * h * icu,
    ]
    return np.array(rows + [z] * 11 + [current.copy()]).reshape(23 * 16)


def deaths(ve, group_doses):
    params = [
        beta,
        C,
        fs,
        gA,
        gE,
        gH,
        gI,
        gICU,
        gP,
        h,
        icu,
        16,
        1 - h,
        1 - icu,
        1 - fs,
        redA,
        redH,
        redP,
        red_sus,
        pop,
        ve,
    ]
    per_age = splitVaccineAmongAgeGroups(np.asarray(group_doses), group_fracs, pop)
    return runVaccination(mort, initial_state(), 16, per_age, params, tspan)[4]


def group_doses(strategy, doses):
    if strategy == "pro-rata":
        return frac5 * doses
    out, left = np.zeros(5), doses
    for g in ORDERS[strategy]:
        out[g] = min(left, pop5[g])
        left -= out[g]
    return out


results = {}
for ve in EFFICACIES:
    base = deaths(ve, np.zeros(5))
    results[str(ve)] = {"deaths_no_vaccine": base}
    for strategy in ("pro-rata", *ORDERS):
        results[str(ve)][strategy] = [
            100 * (1 - deaths(ve, group_doses(strategy, round(c / 100 * N))) / base)
            for c in COVERAGES
        ]
print(json.dumps(results, indent=1))
