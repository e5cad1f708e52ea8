from __future__ import annotations

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.logistics import example_network_path, load_network_file, requests_from_records


def test_records_become_requests_with_the_networks_suppliers() -> None:
    net = load_network_file(example_network_path())
    [request] = requests_from_records(
        [{"product": "AZ-SII", "destination": "PRK-NS", "doses": 480_000, "reference": "r1"}],
        net,
        "body",
    )
    assert request.destination == "PRK-NS"
    assert request.doses == 480_000
    assert request.origins  # taken from the suppliers listing the product
    assert request.reference == "r1"


def test_every_bad_record_is_named_by_its_number() -> None:
    net = load_network_file(example_network_path())
    with pytest.raises(DoseflowError) as exc:
        requests_from_records(
            [
                {"product": "AZ-SII", "destination": "PRK-NS", "doses": 1000},
                {"product": "AZ-SII", "destination": "NOWHERE", "doses": 1000},
                {"product": "AZ-SII", "destination": "PRK-NS", "doses": -5},
            ],
            net,
            "body",
        )
    by_line = {d.location.line: d for d in exc.value.details}
    assert set(by_line) == {2, 3}
    assert by_line[2].code == "LOGISTICS_UNKNOWN_NODE"
    assert by_line[2].value == "NOWHERE"
    assert by_line[3].code == "LOGISTICS_BAD_FIELD"
    assert by_line[3].location.field == "doses"
    assert all(d.location.source == "body" for d in exc.value.details)
