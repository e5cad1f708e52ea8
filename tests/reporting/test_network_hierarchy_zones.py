"""Issue 14: the hierarchy built from the supply network (the service's default) carries
zones as a hierarchy file would: a national unit's days are its national store's, a
region's its own node's; so its cross-checks cut periods as a hierarchy file does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from doseflow.domain.events import AdjustmentReason
from doseflow.domain.network import Node, NodeKind, build_network
from doseflow.reporting import OrgUnit, build_hierarchy, hierarchy_from_network
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from doseflow.store.reporting_ledger import StoreLedger, ledger_figures
from tests.ledger.factory import NODES, adjusted

USA = (
    Node("USA-NS", "US national store", NodeKind.NATIONAL_STORE, country="USA"),
    Node(
        "USA-LA",
        "Los Angeles store",
        NodeKind.REGIONAL_STORE,
        country="USA",
        parent="USA-NS",
        region="California",
        time_zone="America/Los_Angeles",
    ),
)
#: 22:00 on 30 June in Los Angeles, 01:00 on 1 July in New York (the USA's default zone).
LATE_JUNE_IN_LA = datetime(2021, 7, 1, 5, tzinfo=UTC)


def test_national_units_take_their_stores_zone_and_regions_their_own() -> None:
    shanghai = Node(
        "PRK-NS",
        "DPRK national store",
        NodeKind.NATIONAL_STORE,
        country="PRK",
        time_zone="Asia/Shanghai",
    )
    found = hierarchy_from_network(build_network([*NODES, *USA]))
    assert found.time_zone("PRK") == "Asia/Pyongyang"  # the country's default
    assert found.time_zone("PRK-R1") == "Asia/Pyongyang"
    assert found.time_zone("USA") == "America/New_York"
    assert found.time_zone("USA-LA") == "America/Los_Angeles"
    own = hierarchy_from_network(build_network([shanghai, *NODES[3:]]))
    assert own.time_zone("PRK") == "Asia/Shanghai"  # the node's own zone
    assert own.time_zone("PRK-R1") == "Asia/Pyongyang"


def test_cross_check_figures_match_a_hierarchy_file_saying_the_same(sqlite_url: str) -> None:
    ledger = LedgerStore(open_database(sqlite_url))
    ledger.register_nodes([*NODES, *USA])
    found = AdjustmentReason.FOUND
    ledger.append_events(
        [replace(adjusted("f1", 1, 40, found, node="USA-LA"), occurred_at=LATE_JUNE_IN_LA)]
    )
    # what the service uses: the hierarchy from the ledger's own nodes (zones stored resolved)
    from_network = hierarchy_from_network(build_network(ledger.nodes().values()))
    from_file = build_hierarchy(
        [
            OrgUnit(
                "USA",
                "United States",
                "USA",
                ledger_nodes=("USA-NS",),
                time_zone="America/New_York",
            ),
            OrgUnit(
                "USA-LA",
                "California",
                "USA",
                parent="USA",
                ledger_nodes=("USA-LA",),
                time_zone="America/Los_Angeles",
            ),
        ],
        any_country=True,
    )
    needs = [(unit, period) for unit in ("USA", "USA-LA") for period in ("202106", "202107")]
    source = StoreLedger(ledger.engine)
    by_network = ledger_figures(source, from_network, needs)
    assert by_network == ledger_figures(source, from_file, needs)
    # the country's June ends at midnight in New York: the doses came in July there
    assert (by_network[("USA", "202106")].received, by_network[("USA", "202107")].received) == (
        0,
        40,
    )
    assert by_network[("USA", "202107")].time_zone == "America/New_York"
    # California's June ends at midnight in Los Angeles: they came in June there
    assert by_network[("USA-LA", "202106")].received == 40
