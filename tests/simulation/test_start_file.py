"""A hypothetical network's start, read from a YAML file or a CSV table (issue 16)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.simulation.start import LotStock, PipelineShipment
from doseflow.simulation.start_file import read_start_file

YAML = """\
as_of: 2021-06-01
stock:
  - {node: KEN-NS, product: AZ, lot: K1, expiry: 2021-09-30, vvm_stage: 2, doses: 24000}
pipeline:
  - shipment: S1
    product: AZ
    lot: K2
    expiry: 2021-10-31
    doses: 4800
    route: [SII, DXB, KEN-NS]
    held_at: DXB
    held: true
  - shipment: S2
    product: AZ
    lot: N1
    doses: 12000
    route: [SII, NGA-NS]
    next_node: NGA-NS
    expected_arrival: 2021-06-03
"""

EXPECTED_STOCK = (LotStock("KEN-NS", "AZ", "K1", date(2021, 9, 30), 2, 24_000),)
EXPECTED_PIPELINE = (
    PipelineShipment(
        "S1",
        "AZ",
        "K2",
        date(2021, 10, 31),
        4_800,
        ("SII", "DXB", "KEN-NS"),
        next_node=None,
        expected_arrival=None,
        held_at="DXB",
        held=True,
    ),
    PipelineShipment(
        "S2",
        "AZ",
        "N1",
        None,
        12_000,
        ("SII", "NGA-NS"),
        next_node="NGA-NS",
        expected_arrival=date(2021, 6, 3),
    ),
)

CSV = """\
kind,node,product,lot,expiry,vvm_stage,doses,shipment,route,next_node,expected_arrival,held_at,held
stock,KEN-NS,AZ,K1,2021-09-30,2,24000,,,,,,
pipeline,,AZ,K2,2021-10-31,,4800,S1,SII;DXB;KEN-NS,,,DXB,true
pipeline,,AZ,N1,,,12000,S2,SII;NGA-NS,NGA-NS,2021-06-03,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_start(tmp_path: Path) -> None:
    read = read_start_file(write(tmp_path, "start.yaml", YAML))
    assert read.state.as_of == date(2021, 6, 1)
    assert read.state.stock == EXPECTED_STOCK
    assert read.state.pipeline == EXPECTED_PIPELINE
    assert read.state.total_doses() == 40_800
    assert read.notes == ()


def test_csv_start_is_the_same_state(tmp_path: Path) -> None:
    read = read_start_file(write(tmp_path, "start.csv", CSV), as_of=date(2021, 6, 1))
    assert read.state.stock == EXPECTED_STOCK
    assert read.state.pipeline == EXPECTED_PIPELINE
    assert read.notes == ()


def test_csv_needs_the_start_day(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.csv", CSV))
    assert err.value.code == "SIMULATION_START_MISSING_FIELD"


def codes_and_lines(err: DoseflowError) -> list[tuple[str, int | None, str | None]]:
    return [(d.code, d.location.line, d.location.field) for d in err.details]


def test_yaml_errors_are_located(tmp_path: Path) -> None:
    bad = YAML.replace(
        "vvm_stage: 2, doses: 24000", "vvm_stage: 2, doses: -5, colour: red"
    ).replace("expected_arrival: 2021-06-03", "expected_arrival: soon")
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.yaml", bad))
    found = codes_and_lines(err.value)
    assert ("SIMULATION_START_BAD_FIELD", 3, "stock.0.doses") in found
    assert ("SIMULATION_START_UNKNOWN_FIELD", 3, "stock.0.colour") in found
    assert ("SIMULATION_START_BAD_FIELD", 19, "pipeline.1.expected_arrival") in found
    assert len(found) == 3


def test_impossible_date_is_refused_at_its_line(tmp_path: Path) -> None:
    bad = YAML.replace("expected_arrival: 2021-06-03", "expected_arrival: 2021-06-31")
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.yaml", bad))
    assert codes_and_lines(err.value) == [("SIMULATION_START_BAD_YAML", 19, None)]


def test_pipeline_line_is_travelling_or_waiting(tmp_path: Path) -> None:
    both = YAML.replace("    held: true\n", "    held: true\n    next_node: KEN-NS\n")
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.yaml", both))
    assert [(d.code, d.location.line) for d in err.value.details] == [
        ("SIMULATION_START_BAD_FIELD", 5)
    ]
    assert "either next_node" in (err.value.details[0].expected or "")
    off_route = YAML.replace("held_at: DXB", "held_at: CPH")
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.yaml", off_route))
    assert "CPH is not on the route" in (err.value.details[0].expected or "")


def test_csv_errors_are_located(tmp_path: Path) -> None:
    bad = CSV.replace("stock,KEN-NS,AZ,K1,2021-09-30,2,24000", "stock,KEN-NS,AZ,K1,2021-13-30,2,-1")
    bad = bad.replace("pipeline,,AZ,N1,,,12000,S2", "pipeline,KEN-NS,AZ,N1,,,12000,S2")
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.csv", bad), as_of=date(2021, 6, 1))
    found = [(d.code, d.location.line, d.location.field) for d in err.value.details]
    assert ("SIMULATION_START_BAD_FIELD", 2, "expiry") in found
    assert ("SIMULATION_START_BAD_FIELD", 2, "doses") in found
    assert any(code == "SIMULATION_START_BAD_FIELD" and line == 4 for code, line, _ in found)
    unknown = CSV.replace("held\n", "held,colour\n", 1)
    with pytest.raises(DoseflowError) as err:
        read_start_file(write(tmp_path, "start.csv", unknown), as_of=date(2021, 6, 1))
    assert [d.code for d in err.value.details] == ["SIMULATION_START_UNKNOWN_FIELD"]


def test_expired_lots_are_accepted_and_noted(tmp_path: Path) -> None:
    late = YAML.replace("as_of: 2021-06-01", "as_of: 2021-10-01")
    read = read_start_file(write(tmp_path, "start.yaml", late))
    assert read.state.total_doses() == 40_800  # kept: a run decides what expired stock does
    assert [(n.code, n.location.line, n.location.field) for n in read.notes] == [
        ("SIMULATION_START_EXPIRED", 3, "stock[0].expiry")
    ]
    table = read_start_file(write(tmp_path, "start.csv", CSV), as_of=date(2021, 11, 1))
    assert [(n.code, n.location.line) for n in table.notes] == [
        ("SIMULATION_START_EXPIRED", 2),
        ("SIMULATION_START_EXPIRED", 3),
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DoseflowError) as err:
        read_start_file(tmp_path / "none.yaml")
    assert err.value.code == "SIMULATION_START_FILE_NOT_FOUND"


def test_the_documented_examples_read(tmp_path: Path) -> None:
    """docs/simulation.md's YAML and CSV examples are the same start as this file's."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "simulation.md").read_text()
    section = page.split("## Where a run starts", 1)[1]
    yaml_text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    csv_text = section.split("```text\n", 1)[1].split("```", 1)[0]
    from_yaml = read_start_file(write(tmp_path, "doc.yaml", yaml_text)).state
    from_csv = read_start_file(write(tmp_path, "doc.csv", csv_text), as_of=date(2021, 6, 1)).state
    assert from_yaml.stock == from_csv.stock == EXPECTED_STOCK
    assert from_yaml.pipeline == from_csv.pipeline == EXPECTED_PIPELINE
