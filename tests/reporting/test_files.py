"""The YAML files: schema extension, hierarchy, requirements, DHIS2 mapping (and examples)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    PeriodType,
    load_hierarchy,
    load_mapping,
    load_requirements,
    load_schema,
)
from doseflow.reporting.dhis2_mapping import IdKind, IdScheme

EXAMPLES = resources.files("doseflow.data").joinpath("examples")


def example(name: str) -> Path:
    return Path(str(EXAMPLES.joinpath(name)))


def write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_schema_extends_the_built_in_one() -> None:
    schema = load_schema(example("reporting_schema.yaml"))
    assert "aefi" in schema.report_types
    element = schema.elements["aefi_reports"]
    assert schema.category_keys(element) == ("severity=serious", "severity=non_serious")
    assert set(DEFAULT_SCHEMA.elements) < set(schema.elements)
    assert len(schema.category_keys(schema.elements["doses_administered"])) == 20


def test_schema_invalid_names_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_elements:\n  - code: x1\n    name: X\n    report: surveillance\n    minimum: lots\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_schema(path)
    d = exc.value.detail
    assert d.code == "REPORT_SCHEMA_INVALID"
    assert (d.location.line, d.location.field) == (5, "data_elements[0].minimum")
    assert d.value == "lots"
    assert "number" in d.message


def test_schema_duplicate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_elements:\n  - {code: x1, name: X, report: surveillance}\n"
        "  - {code: x1, name: Y, report: surveillance}\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_schema(path)
    d = exc.value.detail
    assert d.code == "REPORT_SCHEMA_DUPLICATE"
    assert "'x1' is defined twice" in d.message
    assert (d.value, d.location.line) == ("x1", 3)


def test_schema_unknown_reference(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_elements:\n  - {code: x1, name: X, report: surveillance, categories: [age]}\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_schema(path)
    d = exc.value.detail
    assert d.code == "REPORT_SCHEMA_UNKNOWN_REFERENCE"
    assert "names category 'age', which is not defined" in d.message
    assert d.value == "age"
    assert d.location.field == "data_elements[0].categories[0]"


def test_example_hierarchy() -> None:
    h = load_hierarchy(example("reporting_hierarchy.yaml"))
    assert h.participant_of("PRK-SPY") == "PRK"
    assert h.neighbours_of("PRK") == ("CHN", "KOR", "RUS")
    nodes = h.ledger_nodes("PRK")
    assert nodes[0] == "PRK-NS"
    assert sorted(nodes[1:]) == ["PRK-NHW", "PRK-RYG", "PRK-SHG", "PRK-SPY"]
    assert h.ledger_nodes("PRK-SPY") == ("PRK-SPY",)
    assert h.population("PRK-RYG") == 719_269
    assert h.population("PRK") == 25_778_815  # WPP 2019, 2020
    assert h.participant_of("NGA") == "NGA"  # any_country: true


def test_hierarchy_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, "participants:\n  - code: PRK\n    regions:\n      - {code: R1}\n")
    with pytest.raises(DoseflowError) as exc:
        load_hierarchy(path)
    d = exc.value.detail
    assert d.code == "REPORT_HIERARCHY_INVALID"
    assert d.location.field == "participants[0].regions[0].name"
    assert d.location.line == 4
    assert "Field required" in d.message


def test_hierarchy_duplicate_unit(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "participants:\n  - code: PRK\n    regions:\n      - {code: KOR, name: Clash}\n"
        "  - code: KOR\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_hierarchy(path)
    d = exc.value.detail
    assert d.code == "REPORT_HIERARCHY_DUPLICATE_UNIT"
    assert "org unit code 'KOR' is used twice" in d.message
    assert d.value == "KOR"
    assert d.location.source == str(path)


def test_example_requirements() -> None:
    reqs = load_requirements(example("reporting_requirements.yaml"), DEFAULT_SCHEMA)
    prk = [r for r in reqs if r.participant == "PRK"]
    assert {r.report for r in prk} == {"surveillance", "administration", "distribution"}
    surv = next(r for r in prk if r.report == "surveillance")
    assert surv.frequency is PeriodType.WEEKLY
    assert surv.due_days == 3
    assert surv.first_period.code == "2021W27"


def test_requirement_invalid(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requirements:\n  - {participant: PRK, report: surveillance, due_days: 3, from: 2021W1}\n"
        "  - {participant: PRK, report: surveillance, frequency: monthly, due_days: 3,"
        " from: '202101'}\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_requirements(path, DEFAULT_SCHEMA)
    d = exc.value.detail
    assert d.code == "REPORT_REQUIREMENT_INVALID"
    assert "not kept per monthly period" in d.message
    assert (d.value, d.location.line, d.location.field) == ("monthly", 3, "frequency")


def test_example_mapping_both_ways() -> None:
    m = load_mapping(example("reporting_dhis2_mapping.yaml"))
    assert m.identifier_out(IdKind.DATA_ELEMENT, "people_tested", IdScheme.UID) == "C19Tested01"
    assert (
        m.identifier_in(IdKind.DATA_ELEMENT, "C19_TESTED", None)
        == m.identifier_in(IdKind.DATA_ELEMENT, "C19Tested01", None)
        == "people_tested"
    )
    assert m.identifier_in(IdKind.DATA_ELEMENT, "unmapped", None) == "unmapped"
    assert (
        m.identifier_in(
            IdKind.CATEGORY_OPTION_COMBO,
            m.identifier_out(IdKind.CATEGORY_OPTION_COMBO, "dose=dose1,group=hcw", IdScheme.UID)
            or "",
            None,
        )
        == "dose=dose1,group=hcw"
    )
    assert m.category_out("dose", "dose2") == ("DOSE", "D2")
    assert m.category_in("DOSE", "D2") == ("dose", "dose2")


def test_mapping_invalid(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_elements:\n  people_tested: {id: SAME0000001}\n  positives: {id: SAME0000001}\n",
    )
    with pytest.raises(DoseflowError) as exc:
        load_mapping(path)
    d = exc.value.detail
    assert d.code == "REPORT_MAPPING_INVALID"
    assert "mapped to both 'people_tested' and 'positives'" in d.message
    assert d.value == "SAME0000001"
    assert d.location.line == 3


@pytest.mark.parametrize(
    ("code", "name", "field", "expected"),
    [
        ("x" * 65, "X", "data_elements[0].code", "at most 64 characters"),
        ("x1", "X" * 201, "data_elements[0].name", "at most 200 characters"),
        ("x1", '"X\\u2028"', "data_elements[0].name", "without control characters"),
    ],
)
def test_schema_codes_and_names_are_bounded(
    tmp_path: Path, code: str, name: str, field: str, expected: str
) -> None:
    text = f"data_elements:\n  - code: {code}\n    name: {name}\n    report: surveillance\n"
    with pytest.raises(DoseflowError) as exc:
        load_schema(write(tmp_path, text))
    d = exc.value.detail
    assert (d.code, d.location.field) == ("REPORT_SCHEMA_INVALID", field)
    assert expected in (d.expected or "")


def test_hierarchy_population_must_be_a_whole_number(tmp_path: Path) -> None:
    text = "participants:\n  - code: PRK\n    population: true\n"
    with pytest.raises(DoseflowError) as exc:
        load_hierarchy(write(tmp_path, text))
    assert exc.value.detail.location.field == "participants[0].population"
    assert exc.value.detail.expected == "a whole number, not true or false"
