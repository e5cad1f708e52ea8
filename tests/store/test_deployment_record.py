from __future__ import annotations

from importlib import resources
from pathlib import Path

from doseflow.deployment import load_deployment, plan_deployment, plan_nodes
from doseflow.store.database import open_database
from doseflow.store.deployment import record_deployment_plan
from doseflow.store.ledger import LedgerStore

EXAMPLE = Path(str(resources.files("doseflow.data").joinpath("examples", "deployment_prk.yaml")))


def test_recording_registers_missing_nodes_once_and_is_idempotent(db_url: str) -> None:
    plan = plan_deployment(load_deployment(EXAMPLE))
    nodes = plan_nodes(plan)
    assert nodes[0].code == plan.input.origin
    assert len({n.code for n in nodes}) == len(nodes) == 1 + len(plan.input.regions)

    engine = open_database(db_url)
    first = record_deployment_plan(engine, plan, reference="t-1", recorded_by="test")
    assert first.appended == len(plan.shipments()) > 0
    assert first.already_recorded == 0
    assert set(first.nodes_added) == {n.code for n in nodes}
    assert set(LedgerStore(engine).nodes()) >= set(first.nodes_added)

    again = record_deployment_plan(engine, plan, reference="t-1", recorded_by="test")
    assert (again.appended, again.already_recorded, again.nodes_added) == (
        0,
        first.appended,
        (),
    )
    engine.dispose()
