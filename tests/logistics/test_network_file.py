"""The network file loader: YAML and CSV, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.domain.network import LaneMode, NodeKind
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics import load_network, load_network_file
from doseflow.logistics.network_file import parse_network_yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "src/doseflow/data/examples/network.yaml"

GOOD_YAML = """\
nodes:
  - {code: SUP, name: Supplier, kind: supplier, capacity_litres: {ultra-cold: 100, 2-8: 50},
     products: [PFIZER-BNT]}
  - {code: HUB, name: Hub, kind: hub, country: chn, capacity_litres: {"2-8 °C": 10}}
  - {code: NS, name: Store, kind: national, country: PRK, parent: HUB,
     capacity_litres: {chilled: 5}, planned_use_days: 25}
lanes:
  - {from: SUP, to: HUB, mode: AIR, lead_time_days: 3, cost_per_dose: 0.1,
     temperature: [ultra-cold, 2-8], capacity_doses_per_trip: 1000, trips_per_week: 2}
  - {from: HUB, to: NS, mode: road, lead_time_days: 12, temperature: "2-8"}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_network_loads_nodes_lanes_and_extras(tmp_path: Path) -> None:
    loaded = load_network_file(_write(tmp_path, "net.yaml", GOOD_YAML))
    net = loaded.network
    assert net.node("HUB").country == "CHN"
    assert net.node("NS").capacity_litres[TemperatureBand.CHILLED] == 5
    assert net.node("HUB").can_store(TemperatureBand.CHILLED)
    assert not net.node("NS").can_store(TemperatureBand.ULTRA_COLD)
    first = net.lanes_from("SUP")[0]
    assert first.mode is LaneMode.AIR
    assert first.temperature == {TemperatureBand.ULTRA_COLD, TemperatureBand.CHILLED}
    assert (first.capacity_doses_per_trip, first.trips_per_week) == (1000, 2)
    assert net.lanes_from("HUB")[0].trips_per_week is None
    assert loaded.planned_use_days == {"NS": 25}
    assert loaded.supplies == {"SUP": ("PFIZER-BNT",)}


def test_csv_network_matches_yaml(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "nodes.csv",
        "code,name,kind,country,parent,capacity_ultra_cold_l,capacity_2_8_l,planned_use_days\n"
        "SUP,Supplier,supplier,,,100,50,\n"
        "HUB,Hub,hub,CHN,,,10,\n"
        "NS,Store,national,PRK,HUB,,5,25\n",
    )
    _write(
        tmp_path,
        "lanes.csv",
        "from,to,mode,lead_time_days,cost_per_dose,temperature,capacity_doses_per_trip,"
        "trips_per_week\n"
        "SUP,HUB,air,3,0.1,ultra-cold|2-8,1000,2\n"
        "HUB,NS,road,12,,2-8,,\n",
    )
    from_csv = load_network(tmp_path)  # a folder with nodes.csv and lanes.csv
    from_yaml = load_network(_write(tmp_path, "net.yaml", GOOD_YAML))
    assert from_csv.lanes == from_yaml.lanes
    assert {c: dict(n.capacity_litres) for c, n in from_csv.nodes.items()} == {
        c: dict(n.capacity_litres) for c, n in from_yaml.nodes.items()
    }
    assert load_network(tmp_path / "nodes.csv").lanes == from_csv.lanes  # sibling lanes.csv


def test_bundled_example_loads() -> None:
    loaded = load_network_file(EXAMPLE)
    assert loaded.network.node("DALIAN").kind is NodeKind.HUB
    assert loaded.network.node("DALIAN").can_store(TemperatureBand.ULTRA_COLD)
    prk = [n for n in loaded.network.nodes.values() if n.country == "PRK"]
    assert len(prk) >= 4
    assert not any(n.can_store(TemperatureBand.ULTRA_COLD) for n in prk)


def _error(path: Path) -> DoseflowError:
    with pytest.raises(DoseflowError) as exc:
        load_network_file(path)
    return exc.value


def test_bad_field_names_line_field_and_value(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("lead_time_days: 12", "lead_time_days: twelve")
    err = _error(_write(tmp_path, "net.yaml", text))
    detail = err.detail
    assert detail.code == "LOGISTICS_BAD_FIELD"
    assert detail.location.line == 10
    assert detail.location.field == "lead_time_days"
    assert detail.value == "twelve"
    assert "a number" in (detail.expected or "")
    assert "net.yaml:10" in str(err)


def test_missing_field(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("mode: road, ", "")
    detail = _error(_write(tmp_path, "net.yaml", text)).detail
    assert (detail.code, detail.location.field, detail.location.line) == (
        "LOGISTICS_MISSING_FIELD",
        "mode",
        10,
    )
    assert "'mode' is missing" in detail.message


def test_unknown_field(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("planned_use_days: 25", "planed_use_days: 25")
    detail = _error(_write(tmp_path, "net.yaml", text)).detail
    assert detail.code == "LOGISTICS_UNKNOWN_FIELD"
    assert detail.location.field == "planed_use_days"
    assert detail.location.line == 6
    assert "planned_use_days" in (detail.expected or "")


def test_unknown_node_in_lane(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("{from: HUB, to: NS", "{from: HUB, to: PYONGYANG")
    detail = _error(_write(tmp_path, "net.yaml", text)).detail
    assert (detail.code, detail.location.field, detail.value) == (
        "LOGISTICS_UNKNOWN_NODE",
        "to",
        "PYONGYANG",
    )
    assert detail.location.line == 10


def test_duplicate_node(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("code: NS,", "code: HUB,").replace("to: NS", "to: HUB")
    err = _error(_write(tmp_path, "net.yaml", text))
    assert err.code == "LOGISTICS_DUPLICATE_NODE"
    assert err.detail.value == "HUB"
    assert err.detail.location.line == 5
    assert "first at line 4" in err.detail.message


def test_lane_to_itself(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("{from: HUB, to: NS", "{from: HUB, to: HUB")
    detail = _error(_write(tmp_path, "net.yaml", text)).detail
    assert (detail.code, detail.value, detail.location.line) == ("LOGISTICS_BAD_LANE", "HUB", 10)


def test_duplicate_lane(tmp_path: Path) -> None:
    text = (
        GOOD_YAML + '  - {from: HUB, to: NS, mode: road, lead_time_days: 2, temperature: "2-8"}\n'
    )
    detail = _error(_write(tmp_path, "net.yaml", text)).detail
    assert (detail.code, detail.value, detail.location.line) == (
        "LOGISTICS_DUPLICATE_LANE",
        "road",
        11,
    )


def test_bad_yaml_syntax(tmp_path: Path) -> None:
    detail = _error(_write(tmp_path, "net.yaml", "nodes:\n  - {code: A\n")).detail
    assert detail.code == "LOGISTICS_BAD_YAML"
    assert detail.location.line == 3


def test_bad_format_name(tmp_path: Path) -> None:
    detail = _error(_write(tmp_path, "net.txt", "x")).detail
    assert (detail.code, detail.value) == ("LOGISTICS_BAD_FORMAT", "net.txt")


def test_file_not_found(tmp_path: Path) -> None:
    detail = _error(tmp_path / "missing.yaml").detail
    assert detail.code == "LOGISTICS_FILE_NOT_FOUND"
    assert str(detail.value).endswith("missing.yaml")


def test_csv_errors_name_row_line_and_column(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "nodes.csv",
        "code,name,kind,capacity_2_8_l\nA,a,supplier,10\nB,b,hub,lots\n",
    )
    _write(
        tmp_path,
        "lanes.csv",
        "from,to,mode,lead_time_days,temperature\nA,B,air,1,2-8\nA,B,boat,1,2-8\n",
    )
    err = _error(tmp_path / "nodes.csv")
    by_code = {(d.location.source or "").rsplit("/", 1)[-1]: d for d in err.details}
    node = by_code["nodes.csv"]
    assert (node.code, node.location.line, node.location.field, node.value) == (
        "LOGISTICS_BAD_FIELD",
        3,
        "capacity_2_8_l",
        "lots",
    )
    lane = by_code["lanes.csv"]
    assert (lane.location.line, lane.location.field, lane.value) == (3, "mode", "boat")
    # B exists in the file (with a bad field), so the lane is not also blamed for it
    assert all(d.code != "LOGISTICS_UNKNOWN_NODE" for d in err.details)


def test_csv_header_problems(tmp_path: Path) -> None:
    _write(tmp_path, "nodes.csv", "code,name,kynd\nA,a,supplier\n")
    err = _error(tmp_path / "nodes.csv")
    codes = {(d.code, d.location.field) for d in err.details}
    assert ("LOGISTICS_BAD_CSV_HEADER", "kind") in codes
    assert ("LOGISTICS_BAD_CSV_HEADER", "kynd") in codes
    assert all(d.location.line == 1 for d in err.details)


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("capacity_doses_per_trip: 1000", "capacity_doses_per_trip: true", "capacity", "true"),
        ("capacity_doses_per_trip: 1000", 'capacity_doses_per_trip: "12"', "capacity", "text"),
        ("capacity_doses_per_trip: 1000", "capacity_doses_per_trip: 1e40", "capacity", "whole"),
        (
            "capacity_doses_per_trip: 1000",
            "capacity_doses_per_trip: 10000000000000000000000000000000",
            "capacity",
            "at most 1,000,000,000,000",
        ),
        ("lead_time_days: 3,", "lead_time_days: true,", "lead_time_days", "not true"),
        ("lead_time_days: 3,", 'lead_time_days: "3",', "lead_time_days", "not text"),
        ("lead_time_days: 3,", "lead_time_days: .inf,", "lead_time_days", "a number"),
        ("code: NS,", "code: " + "N" * 65 + ",", "code", "at most 64 characters"),
        ("name: Store,", 'name: "St\\u2028re",', "name", "without control characters"),
    ],
)
def test_bounds_on_network_yaml_fields(old: str, new: str, field: str, expected: str) -> None:
    text = GOOD_YAML.replace(old, new, 1)
    assert text != GOOD_YAML
    with pytest.raises(DoseflowError) as caught:
        parse_network_yaml(text, "net.yaml")
    detail = caught.value.detail
    assert detail.code == "LOGISTICS_BAD_FIELD"
    assert field in (detail.location.field or "")
    assert expected in (detail.expected or "")


def test_a_number_in_a_csv_cell_is_a_number(tmp_path: Path) -> None:
    nodes = _write(
        tmp_path, "nodes.csv", "code,name,kind\nSUP,Supplier,supplier\nNS,Store,national\n"
    )
    lanes = _write(
        tmp_path,
        "lanes.csv",
        "from,to,mode,lead_time_days,temperature,capacity_doses_per_trip\n"
        "SUP,NS,road,2,2-8, 1200 \n",
    )
    net = load_network_file(nodes, lanes=str(lanes)).network
    assert [lane.capacity_doses_per_trip for lane in net.lanes] == [1200]


def test_a_csv_cell_beyond_the_csv_readers_limit_is_a_coded_error(tmp_path: Path) -> None:
    nodes = _write(tmp_path, "nodes.csv", "code,name,kind\nSUP," + "S" * 200_000 + ",supplier\n")
    with pytest.raises(DoseflowError) as caught:
        load_network_file(nodes)
    assert (caught.value.code, caught.value.detail.location.line) == ("LOGISTICS_BAD_FORMAT", 2)
