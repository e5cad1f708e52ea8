"""The reporting compliance gate of allocation rounds, read from the reporting store."""

from __future__ import annotations

from datetime import date, datetime

from doseflow.allocation import parse_scenario, with_compliance_gate
from doseflow.reporting import OrgUnit, Requirement, SubmittedValue, build_hierarchy, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.store import reporting
from doseflow.store.allocation import AllocationStore
from doseflow.store.allocation_gates import compliance_gates
from doseflow.store.database import open_database

SCENARIO = """\
name: gated
products: [{code: AZ, pack_doses: 100}]
participants: [{iso3: PRK, financing: amc}, {iso3: NPL, financing: amc}]
rounds:
  - {date: 2021-08-02, tranches: [{product: AZ, doses: 1000000}]}
  - {date: 2021-09-06, tranches: [{product: AZ, doses: 1000000}]}
"""

HIERARCHY = build_hierarchy([OrgUnit("PRK", "DPR Korea", "PRK"), OrgUnit("NPL", "Nepal", "NPL")])


def test_missing_reports_exclude_a_participant_only_when_the_gate_is_on(db_url: str) -> None:
    engine = open_database(db_url)
    store = AllocationStore(engine)
    # PRK owes a weekly surveillance report from 2021W27, due 3 days after each week
    owed = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W27"))
    reporting.save_requirements(engine, [owed])
    plain = parse_scenario(SCENARIO)

    store.save_scenario(plain)  # gate off (the default): PRK is in
    off = store.run("gated")
    assert off.round(1).pools[0].doses[0] > 0
    assert compliance_gates(engine, plain) == {}

    store.save_scenario(with_compliance_gate(plain))
    on = store.run("gated")
    assert on.round(1).pools[0].doses.tolist() == [0, 1_000_000]
    why = store.explain("gated", "PRK", 1)[0]
    assert not why.eligible
    assert why.exclusion_text == (
        "reporting compliance: surveillance: 3 of the last 3 reports missing "
        "(2021W27, 2021W28, 2021W29); at most 0 allowed",  # W30 is due only on 4 August
    )
    assert on.round(2).pools[0].doses[0] == 0  # still nothing sent by 6 September

    # reports for W27..W34 arrive on 1 September: round 2 (6 September) lets PRK in; round
    # 1 keeps the verdict it had on its own date (2 August)
    values = [SubmittedValue("people_tested", f"2021W{w}", "PRK", 100) for w in range(27, 35)]
    reporting.submit(
        engine, values, hierarchy=HIERARCHY, as_of=date(2021, 9, 1), now=datetime(2021, 9, 1, 12)
    )
    later = store.run("gated")
    assert later.round(1).pools[0].doses.tolist() == [0, 1_000_000]
    assert later.round(2).pools[0].doses[0] > 0
    assert later.round(2).gate_notes == {}
    engine.dispose()
