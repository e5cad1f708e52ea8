from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doseflow.data.user_files import UserFiles, field_path, line_for, raise_all
from doseflow.domain.errors import DoseflowError

FILES = UserFiles("TEST")


class Lane(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin: str
    days: float = Field(ge=0)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(DoseflowError) as exc:
        FILES.read_text(missing)
    assert exc.value.code == "TEST_FILE_NOT_FOUND"
    assert exc.value.detail.value == missing


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Côte d'Ivoire".encode("latin-1"))
    with pytest.raises(DoseflowError) as exc:
        FILES.read_text(str(path))
    assert exc.value.code == "TEST_BAD_FORMAT"


def test_bad_yaml_has_line_and_column() -> None:
    with pytest.raises(DoseflowError) as exc:
        FILES.yaml_with_lines("a: 1\nb: [1, 2\n", "f.yaml")
    assert exc.value.code == "TEST_BAD_YAML"
    assert exc.value.detail.location.source == "f.yaml"
    assert exc.value.detail.location.line is not None


def test_pydantic_errors_are_located_on_the_users_line() -> None:
    text = "lanes:\n  - origin: SII\n    days: 3\n  - origin: DLC\n    days: -2\n    mode: sea\n"
    data, lines = FILES.yaml_with_lines(text, "net.yaml")
    assert line_for(lines, ("lanes", 1, "days")) == 5
    assert line_for(lines, ("lanes", 1, "nowhere", "deeper")) == 4
    with pytest.raises(ValidationError) as err:
        Lane.model_validate(data["lanes"][1])
    details = FILES.validation_details(
        err.value,
        model=Lane,
        source="net.yaml",
        what="lane 2",
        within=("lanes", 1),
        lines=lines,
    )
    by_code = {d.code: d for d in details}
    assert by_code["TEST_BAD_FIELD"].location.line == 5
    assert by_code["TEST_BAD_FIELD"].value == -2
    assert by_code["TEST_BAD_FIELD"].expected == "a number >= 0"
    assert by_code["TEST_UNKNOWN_FIELD"].location.line == 6
    assert by_code["TEST_UNKNOWN_FIELD"].expected == "one of the fields days, origin"
    with pytest.raises(DoseflowError) as exc:
        raise_all(details)
    assert [d.location.line for d in exc.value.details] == [5, 6]


def test_csv_rows_use_a_fixed_line_and_column_names() -> None:
    with pytest.raises(ValidationError) as err:
        Lane.model_validate({"days": "x"})
    details = FILES.validation_details(
        err.value,
        model=Lane,
        source="lanes.csv",
        what="row 7",
        line=7,
        field_names={"origin": "from"},
    )
    missing = next(d for d in details if d.code == "TEST_MISSING_FIELD")
    assert missing.location.line == 7
    assert missing.location.field == "from"
    assert missing.value is None
    raise_all([])  # nothing to raise


def test_field_path_reads_like_the_document() -> None:
    assert field_path(("data_elements", 2, "minimum")) == "data_elements[2].minimum"
    assert field_path((0, "x")) == "[0].x"
    assert field_path(()) == ""
