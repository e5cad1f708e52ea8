from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doseflow.data.user_files import (
    NO_ALIASES,
    PRINTABLE,
    UserFiles,
    field_path,
    line_for,
    parse_yaml_with_lines,
    raise_all,
)
from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH

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


# --- the one safe parse (issue 11): hostile documents get located, coded refusals --------

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def _refusal(text: str) -> DoseflowError:
    with pytest.raises(DoseflowError) as exc:
        FILES.yaml_with_lines(text, "f.yaml")
    assert exc.value.code == "TEST_BAD_YAML"
    assert exc.value.detail.location.source == "f.yaml"
    return exc.value


def test_an_alias_bomb_is_refused_at_its_first_anchor_before_anything_expands() -> None:
    err = _refusal(BILLION_LAUGHS)
    assert err.detail.location.line == 1
    assert "anchors and aliases are not allowed" in err.detail.message
    assert err.detail.expected == NO_ALIASES


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: *a\n", 2),  # an alias (undefined, even)
        ("base: {x: 1}\nother:\n  <<: {y: 2}\n", 3),  # a merge key
        ("a:\n  - !!set {x: null}\n", 2),  # a tag on a mapping
    ],
)
def test_aliases_merge_keys_and_collection_tags_are_refused_on_their_line(
    text: str, line: int
) -> None:
    assert _refusal(text).detail.location.line == line


def test_nesting_is_bounded_in_block_and_flow_style() -> None:
    ok = "a: " + "[" * (MAX_DOCUMENT_DEPTH - 1) + "]" * (MAX_DOCUMENT_DEPTH - 1)
    assert parse_yaml_with_lines(ok)[0]["a"] is not None
    for levels in (100, 1000, 100_000):  # libyaml's own bound is 1,000
        flow = "a: " + "[" * levels + "]" * levels
        err = _refusal(flow)
        assert err.detail.location.line == 1
        assert err.detail.expected == f"at most {MAX_DOCUMENT_DEPTH} levels of nesting"
    block = "top:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200))
    assert _refusal(block).detail.location.line == MAX_DOCUMENT_DEPTH + 1


def test_an_oversize_document_is_refused_before_it_is_parsed() -> None:
    text = "a: " + "x" * MAX_DOCUMENT_BYTES
    err = _refusal(text)
    assert err.detail.expected == f"at most {MAX_DOCUMENT_BYTES:,} bytes"
    # multi-byte characters count as bytes: 700,000 of them are 2.1 MB
    assert _refusal("a: " + "é" * 1_000_001).detail.message.startswith("the document is")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("start: 2021-01-01\nend: 2021-02-30\n", 2, "day is out of range"),
        ("when: 2021-13-01\n", 1, "month must be in 1..12"),
        ("n: !!int twelve\n", 1, "is not a possible int"),
        ("b: !!bool maybe\n", 1, "is not a possible bool"),
    ],
)
def test_impossible_values_are_located(text: str, line: int, words: str) -> None:
    err = _refusal(text)
    assert err.detail.location.line == line
    assert words in err.detail.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: x\x00y\n", 2),
        ("a: \x07\n", 1),
        ("a: 1\n\nb: \ud800\n", 3),
        ("a: \x1b[31m", 1),
        ('a: 1\nb: "x\\0y"\n', 2),  # escapes in double quotes: the same rule
        ('{"a":\n "P\\u001bY"}', 2),  # and so every string of a JSON document
    ],
)
def test_characters_yaml_cannot_hold_are_located(text: str, line: int) -> None:
    err = _refusal(text)
    assert err.detail.location.line == line
    assert err.detail.expected == PRINTABLE


def test_a_tab_is_whitespace_and_two_documents_are_one_too_many() -> None:
    assert parse_yaml_with_lines("stock:\t/etc/passwd\n")[0] == {"stock": "/etc/passwd"}
    assert _refusal("a: 1\n---\nb: 2\n").detail.location.line == 2


def test_a_json_document_is_bounded_without_recursion() -> None:
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(100_000):
        inner["x"] = {}
        inner = inner["x"]  # type: ignore[assignment]
    with pytest.raises(DoseflowError) as exc:
        FILES.document_with_lines(deep, "body")
    assert exc.value.code == "TEST_BAD_YAML"
    data, lines = FILES.document_with_lines({"a": [1, {"b": "2021-02-28"}]}, "body")
    assert data == {"a": [1, {"b": "2021-02-28"}]}  # JSON text stays text
    assert lines[("a", 1, "b")] == 5


def test_the_event_parse_gives_what_pyyaml_gives() -> None:
    """Same data and the same lines as composing and constructing with PyYAML."""
    text = (
        "# a comment\nname: net\nnodes:\n  - {code: A, capacity: {2-8: 10.5}, on: yes}\n"
        "  - code: B\n    when: 2021-06-01\n    items: [1, 0x10, ~, 'q', \"d\"]\n"
        "empty: []\n? plain key\n: 1\n"
    )
    data, lines = parse_yaml_with_lines(text)
    assert data == yaml.safe_load(text)
    assert lines[("nodes", 1, "when")] == 6
    assert lines[("nodes", 1, "items", 3)] == 7
    assert lines[("plain key",)] == 9
    assert parse_yaml_with_lines("") == (None, {})
    assert parse_yaml_with_lines("42")[0] == 42


def test_the_pure_python_parser_keeps_the_same_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml the same events come from PyYAML's own parser: same refusals."""
    import doseflow.data.user_files as user_files

    monkeypatch.setattr(user_files, "_YAML_LOADER", yaml.SafeLoader)
    assert _refusal(BILLION_LAUGHS).detail.location.line == 1
    deep = _refusal("a: " + "[" * 10_000 + "]" * 10_000)
    assert deep.detail.expected == f"at most {MAX_DOCUMENT_DEPTH} levels of nesting"
    assert _refusal("d: 2021-02-30\n").detail.expected == "a real date (YYYY-MM-DD)"
    assert parse_yaml_with_lines("x: {a: 1, b: [1, 2]}")[0] == {"x": {"a": 1, "b": [1, 2]}}
