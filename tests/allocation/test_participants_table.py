"""Participants from a table (CSV or an Excel sheet): the same participants and results as
the scenario file's, and every problem located at its row and column."""

from __future__ import annotations

import random
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from doseflow.allocation import load_scenario, run_rounds
from doseflow.allocation.participants_table import (
    load_scenario_with_participants,
    read_participants_table,
    write_participants_table,
)
from doseflow.allocation.scenario_file import ParticipantDoc
from doseflow.data.population import country
from doseflow.data.tables import cell_text, column_path
from doseflow.domain.errors import DoseflowError, ErrorDetail

EXAMPLE = Path(__file__).resolve().parents[2] / "src/doseflow/data/examples/covax_2021.yaml"

SCENARIO = """\
name: t
products:
  - {code: AZ, pack_doses: 100}
  - {code: PF, pack_doses: 100, storage: ultra-cold}
participants:
  - {iso3: FRA, financing: self-financing}
rounds:
  - date: 2021-02-03
    tranches:
      - {product: AZ, doses: 1000000}
      - {product: PF, doses: 500000}
declines:
  - {round: 1, product: AZ, iso3: NPL, doses: 1000}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def _csv(tmp_path: Path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "p.xlsx") -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _problems(scenario: Path, table: Path, **kwargs: Any) -> list[ErrorDetail]:
    with pytest.raises(DoseflowError) as exc:
        load_scenario_with_participants(scenario, table, **kwargs)
    return list(exc.value.details)


def _where(d: ErrorDetail) -> tuple[str, int | None, int | str | None, str | None]:
    return d.code, d.location.line, d.location.column, d.location.field


# -- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_example_as_a_table_gives_the_same_scenario_and_results(
    tmp_path: Path, suffix: str
) -> None:
    original = load_scenario(EXAMPLE)
    table = tmp_path / f"participants{suffix}"
    assert write_participants_table(table, original) == len(original.participants)
    from_table = load_scenario_with_participants(EXAMPLE, table)
    assert from_table.participants == original.participants
    assert from_table.document == original.document  # what the store keeps
    assert run_rounds(from_table).lines() == run_rounds(original).lines()


def test_the_template_has_a_column_for_every_field_and_product(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    write_participants_table(table, load_scenario(EXAMPLE))
    header = table.read_text(encoding="utf-8").splitlines()[0].split(",")
    fields = {column.partition(":")[0] for column in header}
    assert fields == set(ParticipantDoc.model_fields)
    for product in ("AZ-SII", "PFIZER", "SINOVAC", "AZ-SKB"):
        assert f"requests:{product}" in header
        assert f"delays:{product}" in header
    assert all(column_path(c, ParticipantDoc) is not None for c in header)


def test_every_kind_of_cell(tmp_path: Path, scenario: Path) -> None:
    table = _csv(
        tmp_path,
        "iso3,name,population,financing,ceiling,authorised,indemnified,deployment_plan,"
        "import_permit,cold_chain,opt_out,delays:PF,threat:deaths_per_million,requests:AZ\n"
        "npl,Nepal (table),1200,amc,0.3,AZ;PF,all,yes,FALSE,2-8;ultra-cold,,2021-05-01,7.5,\n"
        "PRK,,,amc,,;,,,,,PF,,,5000\n",
    )
    npl, prk = load_scenario_with_participants(scenario, table).participants
    assert (npl.iso3, npl.name, npl.population, npl.ceiling) == ("NPL", "Nepal (table)", 1200, 0.3)
    assert npl.authorised == frozenset({"AZ", "PF"})
    assert npl.indemnified is None
    assert npl.deployment_plan is True
    assert npl.import_permit is False
    assert {b.value for b in npl.cold_chain} == {"2-8", "ultra-cold"}
    assert npl.delays == {"PF": date(2021, 5, 1)}
    assert npl.threat.deaths_per_million == 7.5
    # blank cells are fields not given: the bundled population and name, the defaults
    bundled = country("PRK")
    assert (prk.name, prk.population) == (bundled.name, bundled.population)
    assert prk.ceiling == 0.2
    assert prk.import_permit is True
    assert prk.authorised == frozenset()  # ";" alone is the empty list
    assert prk.opt_outs == frozenset({"PF"})
    assert prk.demand.requests == {"AZ": 5000}


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_participants(rnd: random.Random) -> None:
    import tempfile

    original = load_scenario(EXAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "p.csv"
        write_participants_table(table, original)
        header, *rows = table.read_text(encoding="utf-8").splitlines()
        rnd.shuffle(rows)
        table.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        shuffled = load_scenario_with_participants(EXAMPLE, table)
    assert sorted(shuffled.participants, key=lambda p: p.iso3) == sorted(
        original.participants, key=lambda p: p.iso3
    )


# -- problems, located at row and column --------------------------------------------------


def test_unknown_column_is_an_error_with_the_columns_expected(
    tmp_path: Path, scenario: Path
) -> None:
    table = _csv(tmp_path, "iso3,financing,requests,threat:deaths,colour\nNPL,amc,5,1,red\n")
    found = _problems(scenario, table)
    assert [_where(d) for d in found] == [
        ("ALLOC_UNKNOWN_FIELD", 1, 3, "requests"),  # a mapping needs its key
        ("ALLOC_UNKNOWN_FIELD", 1, 4, "threat:deaths"),
        ("ALLOC_UNKNOWN_FIELD", 1, 5, "colour"),
    ]
    assert "requests:KEY" in str(found[0].expected)
    assert "threat:deaths_per_million" in str(found[1].expected)


def test_every_problem_of_the_file_at_once(tmp_path: Path, scenario: Path) -> None:
    table = _csv(
        tmp_path,
        "iso3,financing,population,cold_chain,requests:AZ,opt_out\n"
        'NPL,amc,"1,200",2-8;hot,-5,\n'
        "ZZZ,gift,,,,\n"
        "PRK,amc,,,,NOPE\n"
        "PRK,amc,,,,\n",
    )
    found = _problems(scenario, table)
    assert [(*_where(d), d.value) for d in found] == [
        ("ALLOC_INVALID_FIELD", 2, 3, "population", "1,200"),
        ("ALLOC_INVALID_FIELD", 2, 4, "cold_chain", "hot"),
        ("ALLOC_NEGATIVE_QUANTITY", 2, 5, "requests:AZ", "-5"),
        ("ALLOC_UNKNOWN_ISO3", 3, 1, "iso3", "ZZZ"),
        ("ALLOC_INVALID_FIELD", 3, 2, "financing", "gift"),
        ("ALLOC_UNKNOWN_PRODUCT", 4, 6, "opt_out", "NOPE"),
        ("ALLOC_DUPLICATE", 5, 1, "iso3", "PRK"),
    ]
    assert all(d.location.source == str(table) for d in found)
    assert found[0].expected == "a whole number"
    assert "'amc' or 'self-financing'" in str(found[4].expected)


def test_a_row_with_problems_still_counts_as_a_participant_for_the_scenario(
    tmp_path: Path, scenario: Path
) -> None:
    # the scenario's decline names NPL: not "unknown participant" while NPL's row is bad
    table = _csv(tmp_path, "iso3,financing\nNPL,gift\nPRK,amc\n")
    assert [_where(d) for d in _problems(scenario, table)] == [
        ("ALLOC_INVALID_FIELD", 2, 2, "financing")
    ]


def test_problems_of_the_scenario_file_are_reported_with_the_tables(
    tmp_path: Path, scenario: Path
) -> None:
    table = _csv(tmp_path, "iso3,financing\nPRK,amc\n")  # the decline names NPL
    (problem,) = _problems(scenario, table)
    assert problem.code == "ALLOC_UNKNOWN_PARTICIPANT"
    assert problem.location.source == str(scenario)
    assert problem.location.line == 13  # the decline


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("iso3,financing\n", "no rows"),
        ("iso3,financing\n,\n", "no rows"),
        ("\niso3,financing\nNPL,amc\n", "row 1 is blank"),
    ],
)
def test_empty_tables(tmp_path: Path, scenario: Path, text: str, message: str) -> None:
    (problem,) = _problems(scenario, _csv(tmp_path, text))
    assert problem.code == "ALLOC_BAD_TABLE"
    assert message in problem.message


def test_a_column_twice_and_values_without_a_column(tmp_path: Path, scenario: Path) -> None:
    table = _csv(tmp_path, "iso3,financing,iso3,\nNPL,amc,NPL,x\n")
    assert [_where(d) for d in _problems(scenario, table)] == [
        ("ALLOC_BAD_TABLE", 1, 3, "iso3"),
        ("ALLOC_BAD_TABLE", 2, 4, None),
    ]


def test_too_many_rows(tmp_path: Path, scenario: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("doseflow.data.tables.MAX_TABLE_ROWS", 2)
    table = _csv(tmp_path, "iso3,financing\nNPL,amc\nPRK,amc\nIND,amc\n")
    (problem,) = _problems(scenario, table)
    assert problem.code == "ALLOC_BAD_TABLE"
    assert "at most 2 rows" in str(problem.expected)
    book = _xlsx(tmp_path, [["iso3", "financing"], ["NPL", "amc"], ["PRK", "amc"], ["IND", "amc"]])
    (problem,) = _problems(scenario, book)
    assert problem.code == "ALLOC_BAD_TABLE"


def test_file_problems(tmp_path: Path, scenario: Path) -> None:
    assert _problems(scenario, tmp_path / "none.csv")[0].code == "ALLOC_FILE_NOT_FOUND"
    assert _problems(scenario, _csv(tmp_path, "x", "p.txt"))[0].code == "ALLOC_UNSUPPORTED_FORMAT"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("iso3,name,financing\nCIV,Côte,amc\n".encode("latin-1"))
    assert "UTF-8" in _problems(scenario, latin)[0].message
    not_a_book = _csv(tmp_path, "iso3,financing\n", "p.xlsx")
    assert _problems(scenario, not_a_book)[0].code == "ALLOC_BAD_TABLE"


# -- Excel ----------------------------------------------------------------------------------


def test_excel_cells_are_read_as_the_text_they_show(tmp_path: Path, scenario: Path) -> None:
    book = _xlsx(
        tmp_path,
        [
            ["iso3", "financing", "population", "ceiling", "import_permit", "delays:AZ"],
            ["NPL", "amc", 1200.0, 0.25, False, datetime(2021, 5, 1)],
        ],
    )
    (npl,) = load_scenario_with_participants(scenario, book).participants
    assert (npl.population, npl.ceiling, npl.import_permit) == (1200, 0.25, False)
    assert npl.delays == {"AZ": date(2021, 5, 1)}


def test_a_date_where_a_number_belongs_is_located(tmp_path: Path, scenario: Path) -> None:
    book = _xlsx(tmp_path, [["iso3", "financing", "population"], ["NPL", "amc", date(2021, 5, 1)]])
    (problem,) = _problems(scenario, book)
    assert _where(problem) == ("ALLOC_INVALID_FIELD", 2, 3, "population")
    assert problem.value == "2021-05-01"
    assert problem.location.source == f"{book}[Sheet]"


def test_a_named_sheet(tmp_path: Path, scenario: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.append(["notes"])
    second = book.create_sheet("participants")
    second.append(["iso3", "financing"])
    second.append(["NPL", "amc"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    loaded = load_scenario_with_participants(scenario, path, sheet="participants")
    assert [p.iso3 for p in loaded.participants] == ["NPL"]
    (problem,) = _problems(scenario, path, sheet="missing")
    assert problem.code == "ALLOC_BAD_TABLE"
    assert "participants" in str(problem.expected)


def test_merged_cells_are_refused(tmp_path: Path, scenario: Path) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in (["iso3", "financing"], ["NPL", "amc"], ["PRK", None]):
        ws.append(row)
    ws.merge_cells("B2:B3")  # "amc" for both, as it looks: but only B2 holds it
    path = tmp_path / "merged.xlsx"
    book.save(path)
    (problem,) = _problems(scenario, path)
    assert (*_where(problem), problem.value) == ("ALLOC_BAD_TABLE", 2, 2, None, "B2:B3")


def _with_cached_value(path: Path, formula: str, value: str) -> None:
    """Give a formula the value Excel would have saved with it (openpyxl saves none)."""
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>{value}</v>".encode()
    )
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_formulas_give_the_value_excel_computed(tmp_path: Path, scenario: Path) -> None:
    rows: list[list[Any]] = [["iso3", "financing", "population"], ["NPL", "amc", "=1000*2"]]
    path = _xlsx(tmp_path, rows)
    _with_cached_value(path, "1000*2", "2000")
    (npl,) = load_scenario_with_participants(scenario, path).participants
    assert npl.population == 2000


def test_a_formula_never_computed_or_an_excel_error_is_refused(
    tmp_path: Path, scenario: Path
) -> None:
    rows: list[list[Any]] = [
        ["iso3", "financing", "population"],
        ["NPL", "amc", "=1000*2"],
        ["PRK", "amc", "#DIV/0!"],
    ]
    found = _problems(scenario, _xlsx(tmp_path, rows))
    assert [(*_where(d), d.value) for d in found] == [
        ("ALLOC_BAD_TABLE", 2, 3, None, "=1000*2"),
        ("ALLOC_BAD_TABLE", 3, 3, None, "#DIV/0!"),
    ]


@given(st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)))
def test_an_excel_number_reads_as_the_number(value: float) -> None:
    text = cell_text(value)
    assert float(text) == value
    if float(value).is_integer() and abs(value) < 2**53:
        assert text == str(int(value))


def test_read_participants_table_keeps_row_problems_for_the_caller(tmp_path: Path) -> None:
    table = read_participants_table(_csv(tmp_path, "iso3,financing\nNPL,amc\nPRK,gift\n"))
    assert table.documents == [{"iso3": "NPL", "financing": "amc"}]
    assert [d.location.line for d in table.problems] == [3]


def test_the_docs_quote_the_limits_and_name_every_column_kind() -> None:
    from doseflow.domain.limits import MAX_DOCUMENT_BYTES, MAX_TABLE_ROWS

    text = (Path(__file__).resolve().parents[2] / "docs/allocation.md").read_text("utf-8")
    section = text[text.index("## Participants from a table") : text.index("## Command line")]
    assert f"At most {MAX_TABLE_ROWS:,} rows and {MAX_DOCUMENT_BYTES:,} bytes" in section
    for column in ("requests:PRODUCT", "threat:deaths_per_million", "cold_chain", "iso3"):
        assert column_path(column.replace("PRODUCT", "AZ"), ParticipantDoc) is not None
        assert f"`{column}`" in section


_NAMES = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20
).filter(lambda t: t == t.strip())
_PRODUCTS = ["AZ", "PF"]


def _shown(x: float) -> float:
    """``x`` as a spreadsheet holds it: 15 significant digits (openpyxl writes 16)."""
    return float(f"{x:.15g}")


_DOCS = st.fixed_dictionaries(
    {"iso3": st.sampled_from(["NPL", "PRK", "IND", "FRA"]), "financing": st.just("amc")},
    optional={
        "name": _NAMES,
        "population": st.integers(1, 10**12),
        "ceiling": st.floats(0, 1).map(_shown),
        "authorised": st.one_of(st.just("all"), st.lists(st.sampled_from(_PRODUCTS))),
        "import_permit": st.booleans(),
        "cold_chain": st.lists(st.sampled_from(["2-8", "ambient", "ultra-cold"]), max_size=3),
        "delays": st.dictionaries(
            st.sampled_from(_PRODUCTS), st.dates(date(2000, 1, 1), date(2099, 12, 31))
        ),
        "threat": st.fixed_dictionaries(
            {}, optional={"deaths_per_million": st.floats(0, 1e6).map(_shown)}
        ),
        "requests": st.dictionaries(st.sampled_from(_PRODUCTS), st.integers(0, 10**12)),
    },
)


@settings(max_examples=40, deadline=None)
@given(doc=_DOCS, suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_participant_entry_survives_a_table(doc: dict[str, Any], suffix: str) -> None:
    import tempfile

    from doseflow.data.tables import table_columns, table_rows, write_table

    given_doc = ParticipantDoc.model_validate(doc).model_dump(mode="json", exclude_unset=True)
    columns = table_columns(ParticipantDoc, [given_doc])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"p{suffix}"
        write_table(path, columns, table_rows(columns, [given_doc]))
        table = read_participants_table(path)
    assert table.problems == ()
    # the same entry (an empty mapping is written as no cells: the default, also empty)
    (read,) = table.documents
    assert _full(read) == _full(given_doc)
    assert {k: v for k, v in given_doc.items() if v != {}} == read


def _full(document: dict[str, Any]) -> dict[str, Any]:
    return ParticipantDoc.model_validate(document).model_dump(mode="json")


def test_a_csv_file_saved_with_semicolons(tmp_path: Path, scenario: Path) -> None:
    # as a spreadsheet in a language with decimal commas saves it: a list cell is quoted
    table = _csv(tmp_path, 'iso3;financing;cold_chain;ceiling\nNPL;amc;"2-8;ultra-cold";0.3\n')
    (npl,) = load_scenario_with_participants(scenario, table).participants
    assert {b.value for b in npl.cold_chain} == {"2-8", "ultra-cold"}
    assert npl.ceiling == 0.3
    tabs = _csv(tmp_path, "iso3\tfinancing\nNPL\tamc\n", "tabs.csv")
    assert [p.iso3 for p in load_scenario_with_participants(scenario, tabs).participants] == ["NPL"]


def test_a_directory_or_an_empty_workbook(tmp_path: Path, scenario: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert _problems(scenario, folder)[0].code == "ALLOC_FILE_NOT_FOUND"
    (problem,) = _problems(scenario, _xlsx(tmp_path, []))
    assert problem.code == "ALLOC_BAD_TABLE"
    assert "empty" in problem.message


def test_a_missing_column_is_said_once_and_a_blank_required_cell_at_its_column(
    tmp_path: Path, scenario: Path
) -> None:
    no_column = _csv(tmp_path, "iso3,name\nNPL,Nepal\nPRK,Korea\n")
    assert [_where(d) for d in _problems(scenario, no_column)] == [
        ("ALLOC_MISSING_FIELD", 1, None, "financing")
    ]
    blank = _csv(tmp_path, "iso3,financing\nNPL,\nPRK,amc\n", "blank.csv")
    assert [_where(d) for d in _problems(scenario, blank)] == [
        ("ALLOC_MISSING_FIELD", 2, 2, "financing")
    ]
