"""The allocation store on SQLite and PostgreSQL: run, re-run, decline, publish, explain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import Engine, MetaData, create_engine, func, select, text

from doseflow.allocation import Decline, Redirect, parse_scenario, with_compliance_gate
from doseflow.domain.errors import DoseflowError
from doseflow.reporting import OrgUnit, Requirement, SubmittedValue, build_hierarchy, parse_period
from doseflow.reporting.periods import PeriodType
from doseflow.store import reporting
from doseflow.store.allocation import AllocationStore, RoundStatus
from doseflow.store.allocation_gates import compliance_gates
from doseflow.store.allocation_tables import DeclineRow, LineRow
from doseflow.store.database import open_database
from tests.conftest import PG_URL

# One migrated database per backend for the module (migrations are the slow part), emptied
# before each test, so every test still starts from an empty, fully migrated database.


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def migrated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, MetaData]]:
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('alloc') / 'db.sqlite'}")
        yield engine, _tables(engine)
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = open_database(f"{PG_URL}?options=-csearch_path%3D{schema}")
        yield engine, _tables(engine)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _tables(engine: Engine) -> MetaData:
    meta = MetaData()
    meta.reflect(engine)
    return meta


@pytest.fixture
def engine(migrated: tuple[Engine, MetaData]) -> Engine:
    """The module's migrated database, with every table emptied (schema kept)."""
    eng, meta = migrated
    with eng.begin() as conn:
        for table in reversed(meta.sorted_tables):
            if table.name != "alembic_version":
                conn.execute(table.delete())
    return eng


SCENARIO = """\
name: small
products:
  - {code: AZ, pack_doses: 100}
  - {code: SV, pack_doses: 100}
participants:
  - {iso3: PRK, financing: amc, cold_chain: ["2-8"]}
  - {iso3: NPL, financing: amc, threat: {deaths_per_million: 50}}
  - {iso3: MNG, financing: amc, threat: {deaths_per_million: 200}}
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 1000000}]
  - date: 2021-09-01
    tranches: [{product: SV, doses: 600000, origin: donation, donor: China}]
"""


@pytest.fixture
def store(engine: Engine) -> AllocationStore:
    s = AllocationStore(engine)
    s.save_scenario(parse_scenario(SCENARIO))
    return s


def test_run_stores_rounds_lines_and_coverage(store: AllocationStore) -> None:
    run = store.run("small")
    rounds = store.rounds("small")
    assert [r.number for r in rounds] == [1, 2]
    assert rounds[0].allocated == run.round(1).allocated
    assert all(r.status == "run" and r.revision == 1 for r in rounds)
    lines = store.lines("small", 1)
    assert sum(line.doses for line in lines) == rounds[0].allocated
    assert all(line.doses % 100 == 0 for line in lines)
    cov = {c.iso3: c for c in store.coverage("small")}
    assert cov["PRK"].doses == sum(line.doses for line in store.lines("small", iso3="PRK"))
    assert store.pools("small", 2)[0].donor == "China"


def test_rerun_is_idempotent(store: AllocationStore) -> None:
    store.run("small")
    store.run("small")
    assert [r.revision for r in store.rounds("small")] == [1, 1]
    with store.engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(LineRow))
    assert count == len(store.lines("small"))
    assert store.save_scenario(parse_scenario(SCENARIO)) is False


def test_preview_then_run_then_publish(store: AllocationStore) -> None:
    store.run("small", status=RoundStatus.PREVIEW)
    assert {r.status for r in store.rounds("small")} == {"preview"}
    store.run("small")
    assert {r.status for r in store.rounds("small")} == {"run"}
    assert store.publish("small", 1).status == "published"
    store.run("small", status=RoundStatus.PREVIEW)
    assert [r.status for r in store.rounds("small")] == ["published", "run"]


def test_decline_redistributes_and_is_recorded_once(store: AllocationStore) -> None:
    store.run("small")
    before = {line.iso3: line.doses for line in store.lines("small", 2)}
    held_before = store.rounds("small")[1].held
    d = Decline(
        2, "SV", "PRK", reason="for severely affected countries", redirect=Redirect.MOST_AFFECTED
    )
    store.record_decline("small", d)
    store.record_decline("small", d)  # the same decline again changes nothing
    after = {line.iso3: line.doses for line in store.lines("small", 2)}
    assert after["PRK"] == 0
    assert sum(after.values()) + store.rounds("small")[1].held == sum(before.values()) + held_before
    pop = {c.iso3: c.population for c in store.coverage("small")}
    gain = {c: (after[c] - before[c]) / pop[c] for c in ("MNG", "NPL")}
    assert gain["MNG"] > gain["NPL"]  # the most affected gain most per person
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(DeclineRow)) == 1
    prk = store.explain("small", "PRK", 2)[0]
    assert prk.declined[0].doses == before["PRK"]
    assert [r.revision for r in store.rounds("small")] == [1, 2]


def test_bad_decline_writes_nothing(store: AllocationStore) -> None:
    store.run("small")
    with pytest.raises(DoseflowError) as exc:
        store.record_decline("small", Decline(2, "SV", "PRK", doses=10**9))
    assert exc.value.code == "ALLOC_DECLINE_EXCEEDS_ALLOCATION"
    assert exc.value.detail.value == 10**9
    assert store.recorded_declines("small") == []
    assert [r.revision for r in store.rounds("small")] == [1, 1]


def test_unknown_scenario(store: AllocationStore) -> None:
    with pytest.raises(DoseflowError) as exc:
        store.rounds("nope")
    assert exc.value.code == "ALLOC_UNKNOWN_SCENARIO"
    assert exc.value.detail.value == "nope"


def test_explain_before_any_run(store: AllocationStore) -> None:
    with pytest.raises(DoseflowError) as exc:
        store.explain("small", "PRK")
    assert exc.value.code == "ALLOC_NO_RESULTS"
    assert exc.value.detail.value == "small"


def test_explain_unknown_participant_and_round(store: AllocationStore) -> None:
    store.run("small")
    with pytest.raises(DoseflowError) as exc:
        store.explain("small", "KEN")
    assert exc.value.code == "ALLOC_UNKNOWN_PARTICIPANT"
    assert exc.value.detail.value == "KEN"
    with pytest.raises(DoseflowError) as exc:
        store.lines("small", 7)
    assert exc.value.code == "ALLOC_UNKNOWN_ROUND"
    assert exc.value.detail.value == 7


# -- the reporting compliance gate, read from the reporting store ------------------------

GATED = """\
name: gated
products: [{code: AZ, pack_doses: 100}]
participants: [{iso3: PRK, financing: amc}, {iso3: NPL, financing: amc}]
rounds:
  - {date: 2021-08-02, tranches: [{product: AZ, doses: 1000000}]}
  - {date: 2021-09-06, tranches: [{product: AZ, doses: 1000000}]}
"""

HIERARCHY = build_hierarchy([OrgUnit("PRK", "DPR Korea", "PRK"), OrgUnit("NPL", "Nepal", "NPL")])


def test_missing_reports_exclude_a_participant_only_when_the_gate_is_on(engine: Engine) -> None:
    store = AllocationStore(engine)
    # PRK owes a weekly surveillance report from 2021W27, due 3 days after each week
    owed = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W27"))
    reporting.save_requirements(engine, [owed])
    plain = parse_scenario(GATED)

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


def test_reports_marked_complete_count_for_the_gate(engine: Engine) -> None:
    store = AllocationStore(engine)
    owed = Requirement("PRK", "surveillance", PeriodType.WEEKLY, 3, parse_period("2021W27"))
    reporting.save_requirements(engine, [owed])
    store.save_scenario(with_compliance_gate(parse_scenario(GATED)))
    # no values at all, but every week marked complete on 1 September (DHIS2 completions)
    for w in range(27, 35):
        reporting.register_complete(
            engine,
            "PRK",
            "surveillance",
            f"2021W{w}",
            hierarchy=HIERARCHY,
            completed=date(2021, 9, 1),
            now=datetime(2021, 9, 1, 12),
        )
    run = store.run("gated")
    assert run.round(1).pools[0].doses.tolist() == [0, 1_000_000]  # not yet on 2 August
    assert run.round(2).pools[0].doses[0] > 0


SPLIT = """\
name: split
products:
  - {code: AZ, pack_doses: 100}
  - {code: PF, pack_doses: 100, storage: ultra-cold}
participants:
  - {iso3: HTI, financing: amc, cold_chain: ["2-8"]}
  - {iso3: NPL, financing: amc, cold_chain: ["2-8", ultra-cold]}
  - {iso3: MNG, financing: amc, cold_chain: ["2-8", ultra-cold]}
rounds:
  - date: 2021-02-03
    tranches: [{product: AZ, doses: 1000000}, {product: PF, doses: 300000}]
declines:
  - {round: 1, product: AZ, iso3: MNG, reason: "no deployment capacity"}
"""


def test_declines_from_the_file_and_recorded_ones_are_listed_alike(engine: Engine) -> None:
    store = AllocationStore(engine)
    store.save_scenario(parse_scenario(SPLIT, source="split.yaml"))
    store.run("split")
    assert [s.declines for s in store.scenarios()] == [1]
    store.record_decline("split", Decline(round=1, product="PF", iso3="NPL", reason="storage"))
    assert [s.declines for s in store.scenarios()] == [2]
    listed = store.declines("split")
    assert [(d.iso3, d.product) for d in listed] == [("MNG", "AZ"), ("NPL", "PF")]
    assert listed[0].source == "split.yaml, declines[0]"
    assert listed[1].source.startswith("recorded ")
    mng = next(e for e in store.explain("split", "MNG", 1) if e.product == "AZ")
    assert mng.binding == "declined"
    assert mng.declined[0].source == "split.yaml, declines[0]"


def test_explain_gives_every_pool_of_a_round_not_only_the_lines(engine: Engine) -> None:
    store = AllocationStore(engine)
    store.save_scenario(parse_scenario(SPLIT, source="split.yaml"))
    store.run("split")
    assert {line.product for line in store.lines("split", 1, "HTI")} == {"AZ"}
    found = store.explain("split", "HTI", 1)
    assert [e.product for e in found] == ["AZ", "PF"]
    pf = found[1]
    assert (pf.eligible, pf.doses, pf.binding) == (False, 0, "not-eligible")
    assert pf.exclusions == ("NO_COLD_CHAIN",)
    assert "no cold-chain capacity" in pf.render()
    # a stored line is returned as stored
    assert found[0] == store.lines("split", 1, "HTI")[0].explanation


def test_stored_line_coverage_is_the_stored_coverage_across_the_bundled_example(
    engine: Engine,
) -> None:
    from doseflow.allocation import load_scenario
    from doseflow.cli.demo import example_path
    from doseflow.domain.product import ProductKind

    store = AllocationStore(engine)
    scenario = load_scenario(example_path("covax_2021.yaml"))
    store.save_scenario(scenario)
    store.run(scenario.name)
    store.record_decline(scenario.name, Decline(round=1, product="AZ-SII", iso3="KEN"))
    vaccines = {c for c, p in scenario.products.items() if p.kind is ProductKind.VACCINE}
    for info in store.rounds(scenario.name):
        table = {c.iso3: c.coverage for c in store.coverage(scenario.name, info.number)}
        last: dict[str, float] = {}
        for line in store.lines(scenario.name, info.number):  # delivery order
            if line.product in vaccines:
                last[line.iso3] = line.explanation.coverage_after
        assert last
        for iso3, coverage in last.items():
            assert coverage == pytest.approx(table[iso3], rel=1e-12, abs=1e-15), (info, iso3)


MEMBERS = """\
name: members
products:
  - {code: AZ, pack_doses: 100}
participants:
  - {iso3: NPL, financing: amc}
  - {iso3: KOR, financing: self-financing}
  - {iso3: URY, financing: self-financing}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 1000000, members: {financing: [amc], iso3: [ury]}}
      - {product: AZ, doses: 500000, members: {financing: [self-financing]}}
"""


def test_pools_keep_their_membership_and_non_members_are_told_why(engine: Engine) -> None:
    store = AllocationStore(engine)
    store.save_scenario(parse_scenario(MEMBERS))
    store.run("members")
    pools = {p.pool: p for p in store.pools("members", 1)}
    assert {k: p.members for k, p in pools.items()} == {
        "AZ/members-amc+URY": {"financing": ["amc"], "iso3": ["URY"]},
        "AZ/members-self-financing": {"financing": ["self-financing"], "iso3": []},
    }
    kor = {e.pool: e for e in store.explain("members", "KOR", 1)}
    assert kor["AZ/members-amc+URY"].exclusions == ("NOT_A_MEMBER",)
    assert kor["AZ/members-amc+URY"].exclusion_text == (
        "not a member of the pool: the pool is for AMC participants and URY",
    )
    assert kor["AZ/members-self-financing"].doses > 0


def test_a_scenario_stored_before_the_unused_field_rule_still_reads(
    store: AllocationStore, engine: Engine
) -> None:
    """A document accepted when stored (here with a phase-2 field and no phase-2 round, as
    before ALLOC_FIELD_UNUSED existed) is read back and run; a new file with it is refused."""
    from doseflow.store.allocation_tables import ScenarioRow

    with engine.begin() as conn:
        row = conn.execute(select(ScenarioRow.document).where(ScenarioRow.name == "small"))
        document = dict(row.scalar_one())
        participants = [dict(p) for p in document["participants"]]
        participants[0]["absorption_per_month"] = 50_000
        document["participants"] = participants
        conn.execute(
            ScenarioRow.__table__.update()
            .where(ScenarioRow.name == "small")
            .values(document=document)
        )
    scenario = store.scenario("small")
    assert scenario.participants[0].demand.absorption_per_month == 50_000
    assert store.run("small").rounds
    with pytest.raises(DoseflowError) as err:
        parse_scenario(SCENARIO.replace("cold_chain", "absorption_per_month: 5, cold_chain"))
    assert err.value.code == "ALLOC_FIELD_UNUSED"


def test_a_page_of_lines_is_filtered_sorted_and_cut_by_the_database(
    store: AllocationStore,
) -> None:
    """The dashboard's allocation table (issue 15): filters, a sort column either way, a
    page after an offset, and the total, the same on SQLite and PostgreSQL."""
    store.run("small")
    every = store.lines("small")
    assert len(every) > 3
    by_doses, total = store.lines_page("small", sort="doses", descending=True, limit=2, offset=1)
    ranked = sorted((x.doses for x in every), reverse=True)
    assert total == len(every)
    assert [x.doses for x in by_doses] == ranked[1:3]
    up, _ = store.lines_page("small", sort="participant")
    assert [x.iso3 for x in up] == sorted(x.iso3 for x in every)
    product = every[0].product
    only, count = store.lines_page("small", product=product, limit=100)
    assert {x.product for x in only} == {product}
    assert count == sum(1 for x in every if x.product == product) == len(only)
    pool = every[-1].pool
    pooled, _ = store.lines_page("small", pool=pool)
    assert {x.pool for x in pooled} == {pool}
    assert len(pooled) == sum(1 for x in every if x.pool == pool)
