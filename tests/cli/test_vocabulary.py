"""One vocabulary on the command line (issue 15): every command names a participant, a point
in time, a range, a round and a product the same way (docs/cli.md); the old spellings still
work, hidden in help, and give the same results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from doseflow.cli.app import AREA_COMMANDS, area_commands, run
from doseflow.cli.console import console, err_console
from doseflow.cli.options import participant_option, product_option
from doseflow.cli.vocabulary import OLD_SPELLINGS, VocabularyTyper
from doseflow.ledger.event_file import write_events
from doseflow.store.database import open_database
from doseflow.store.ledger import LedgerStore
from tests.ledger.factory import NODES, arrived, dispatched, issue, received

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseflow" / "data" / "examples"

#: Spellings no command may show: each concept has its vocabulary name instead.
RETIRED = {"--iso3", "--country", "--at", "--today", "--start", "--end", "--date"}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    for con in (console, err_console):
        monkeypatch.setattr(con, "width", 250)


def _commands() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.append((path, command))
        for name, sub in (subs or {}).items():
            walk(sub, f"{path} {name}")

    for name, module, _ in AREA_COMMANDS:
        walk(area_commands(module).commands[name], name)
    return found


def test_no_command_shows_a_retired_spelling() -> None:
    commands = _commands()
    assert len(commands) > 50
    for path, command in commands:
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            shown = set(param.opts) | set(param.secondary_opts)
            assert not shown & RETIRED, (path, shown & RETIRED)
            if param.param_type_name == "argument":  # a participant or a round by position
                assert param.name not in ("iso3", "round_number", "country"), (path, param.name)


def test_to_is_only_ever_the_end_of_a_range() -> None:
    """``--to`` ends a range that ``--from`` starts (a report template's periods too);
    recipients and destinations have names of their own."""
    ranged = 0
    for path, command in _commands():
        shown = {name for p in command.params if not p.hidden for name in p.opts}
        if "--to" in shown:
            assert "--from" in shown, path
            ranged += 1
    assert ranged >= 4


def test_every_concept_is_given_by_the_vocabulary_s_option() -> None:
    """Participant, round and product parameters are the vocabulary's options wherever a
    command takes them (by position only in the old forms, hidden)."""
    names = {"iso3": "--participant", "country": "--participant", "participant": "--participant"}
    names |= {
        "round_number": "--round",
        "product": "--product",
        "as_of": "--as-of",
        "at": "--as-of",
    }
    checked = 0
    for path, command in _commands():
        for param in command.params:
            wanted = names.get(param.name or "")
            if wanted is None or getattr(param, "hidden", False):
                continue
            assert param.param_type_name != "argument", (path, param.name)
            assert param.opts[0] == wanted, (path, param.name, param.opts)
            checked += 1
    assert checked > 25


def test_help_shows_only_the_vocabulary_s_names(capsys: pytest.CaptureFixture[str]) -> None:
    for path in (
        ["allocate", "decline"],
        ["allocate", "show"],
        ["explain"],
        ["ledger", "stock"],
        ["ledger", "transit"],
        ["ledger", "expiring"],
        ["ship", "plan"],
        ["report", "export"],
        ["report", "complete"],
        ["impact", "run"],
        ["token", "create"],
    ):
        assert run([*path, "--help"]) == 0
        text = capsys.readouterr().out
        for old in RETIRED:
            assert not re.search(rf"{old}\b", text), (path, old)
        assert "--participant" in text or "--as-of" in text or "--from" in text, path
    # the old positional forms are read but not shown
    assert run(["explain", "--help"]) == 0
    assert re.search(r"Usage: doseflow explain \[OPTIONS\]\s*\n", capsys.readouterr().out)
    assert run(["ship", "plan", "--help"]) == 0
    assert re.search(
        r"Usage: doseflow ship plan \[OPTIONS\] \{scenario\}\s*\n", capsys.readouterr().out
    )


PARTICIPANTS = participant_option(None, "Participants.")
PRODUCT = product_option(None, "A product.")


def _toy() -> typer.Typer:
    app = VocabularyTyper()

    @app.command()
    def pick(participant: list[str] = PARTICIPANTS, product: str | None = PRODUCT) -> None:
        print(json.dumps({"participant": participant, "product": product}))

    return app


def test_an_old_spelling_parses_into_the_same_option_with_a_note_on_stderr() -> None:
    result = CliRunner().invoke(_toy(), ["--iso3", "ken", "--participant", "nga"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"participant": ["KEN", "NGA"], "product": None}
    assert "--iso3 is the old spelling of --participant" in result.stderr
    again = CliRunner().invoke(_toy(), ["--country=gha"])
    assert json.loads(again.stdout)["participant"] == ["GHA"]
    assert "--country is the old spelling of --participant" in again.stderr
    new = CliRunner().invoke(_toy(), ["--participant", "KEN"])
    assert new.stderr == ""
    shown = CliRunner().invoke(_toy(), ["--help"])
    assert "--participant" in shown.stdout
    assert "--iso3" not in shown.stdout
    assert "--country" not in shown.stdout


def test_a_product_alias_is_read_as_its_code() -> None:
    for given, code in (("PFIZER-BNT", "PFIZER"), ("comirnaty", "PFIZER"), ("az-sii", "AZ-SII")):
        result = CliRunner().invoke(_toy(), ["--product", given])
        assert json.loads(result.stdout)["product"] == code, given
    own = CliRunner().invoke(_toy(), ["--product", "MY-OWN"])
    assert json.loads(own.stdout)["product"] == "MY-OWN"


def test_every_old_spelling_is_a_declared_alias_of_a_vocabulary_name() -> None:
    """The table documents itself: every hidden name maps to a name the docs list."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for name, old in OLD_SPELLINGS.items():
        assert f"`{name}`" in doc, name
        for spelling in old:
            assert f"`{spelling}`" in doc, spelling


# -- the same results through old and new spellings -------------------------------------------


def _out(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run(argv) == 0, argv
    return capsys.readouterr().out


@pytest.fixture
def ledger_db(tmp_path: Path) -> str:
    db = str(tmp_path / "ledger.sqlite")
    LedgerStore(open_database(db)).register_nodes(NODES)
    path = tmp_path / "events.csv"
    write_events(
        path,
        [
            dispatched("d1", 2, 500, to="DLC"),
            arrived("a1", 5, 500),
            dispatched("d2", 6, 300, shipment="S2", to="PRK-NS"),
            received("r2", 9, 300, shipment="S2"),
            issue("i1", 10, 120),
        ],
    )
    assert run(["ledger", "import", str(path), "--db", db]) == 0
    return db


@pytest.mark.parametrize(
    ("command", "old", "new", "values"),
    [
        (["ledger", "stock"], "--at", "--as-of", ("2021-01-03", "2021-01-09")),
        (["ledger", "transit"], "--at", "--as-of", ("2021-01-03", "2021-01-07")),
        (["ledger", "hubs"], "--at", "--as-of", ("2021-01-03", "2021-01-05")),
        (
            ["ledger", "expiring", "--days", "200"],
            "--today",
            "--as-of",
            ("2021-01-20", "2021-04-01"),
        ),
        (["ledger", "transit", "--as-of", "2021-01-03"], "--to", "--destination", ("DLC", "SII")),
    ],
)
def test_ledger_old_and_new_spellings_give_the_same_rows(
    ledger_db: str,
    command: list[str],
    old: str,
    new: str,
    values: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tail = ["--format", "json", "--db", ledger_db]
    found = []
    for value in values:
        before = json.loads(_out([*command, old, value, *tail], capsys))
        after = json.loads(_out([*command, new, value, *tail], capsys))
        assert before == after, value
        found.append(after)
    assert found[0] != found[1]  # the value was applied, not ignored


def test_a_product_alias_gives_the_same_stock_and_card(
    ledger_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tail = ["--format", "json", "--db", ledger_db]
    code = json.loads(_out(["ledger", "stock", "--product", "AZ-SII", *tail], capsys))
    assert code
    assert all(row["product"] == "AZ-SII" for row in code)
    for alias in ("az-sii", "COVISHIELD"):
        assert json.loads(_out(["ledger", "stock", "--product", alias, *tail], capsys)) == code
    by_code = ["ledger", "card", "--node", "PRK-NS", "--product", "AZ-SII", *tail]
    card = json.loads(_out(by_code, capsys))
    assert card
    again = ["ledger", "card", "--node", "PRK-NS", "--product", "covishield", *tail]
    assert json.loads(_out(again, capsys)) == card


def test_coldchain_gives_the_same_verdicts_for_a_product_s_aliases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdicts = [
        json.loads(_out(["coldchain", "feasibility", "-p", name, "--format", "json"], capsys))
        for name in ("PFIZER", "PFIZER-BNT", "comirnaty")
    ]
    assert verdicts[0]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    az = json.loads(_out(["coldchain", "feasibility", "-p", "AZ-SII", "--format", "json"], capsys))
    assert az == json.loads(
        _out(["coldchain", "feasibility", "--product", "covishield", "--format", "json"], capsys)
    )


@pytest.fixture(scope="module")
def allocated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled 2021 example, stored and run once; tests copy the file."""
    from doseflow.allocation import load_scenario
    from doseflow.store.allocation import AllocationStore

    path = tmp_path_factory.mktemp("alloc") / "alloc.sqlite"
    store = AllocationStore(open_database(str(path)))
    store.save_scenario(load_scenario(EXAMPLES / "covax_2021.yaml"))
    store.run("covax-2021")
    return path


def _copy(src: Path, tmp_path: Path, name: str) -> str:
    """A copy of the stored database (SQLite's backup: the WAL's pages included)."""
    import sqlite3

    dst = tmp_path / name
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)
    return str(dst)


def test_allocation_old_spellings_give_the_same_lines(
    allocated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(allocated)
    show = ["allocate", "show", "covax-2021", "--round", "1", "--format", "json", "--db", db]
    new = json.loads(_out([*show, "--participant", "KEN"], capsys))
    assert new
    assert {row["iso3"] for row in new} == {"KEN"}
    assert json.loads(_out([*show, "--iso3", "KEN"], capsys)) == new
    assert json.loads(_out([*show, "--participant", "ken"], capsys)) == new
    explain = ["explain", "--round", "1", "--json", "--db", db]
    by_option = json.loads(_out([*explain, "--participant", "KEN"], capsys))
    assert by_option
    assert json.loads(_out(["explain", "KEN", *explain[1:]], capsys)) == by_option
    assert run(["explain", "--round", "1", "--db", db]) == 2
    assert "missing: give --participant" in capsys.readouterr().err


def test_decline_recipients_old_spelling_records_the_same_decline(
    allocated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = []
    for n, spelling in enumerate(("--recipients", "--to")):
        db = _copy(allocated, tmp_path, f"d{n}.sqlite")
        argv = ["allocate", "decline", "covax-2021", "--round", "3", "--product", "SINOVAC"]
        argv += ["--participant", "PRK", spelling, "KEN,NGA", "--db", db]
        assert run(argv) == 0, spelling
        capsys.readouterr()
        results.append(_out(["allocate", "declines", "covax-2021", "--db", db], capsys))
    assert results[0] == results[1]
    assert "KEN" in results[0]


def test_ship_plan_round_by_option_or_by_position_plans_the_same(
    allocated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = []
    for n, argv in enumerate(
        (
            ["covax-2021", "--round", "1", "--participant", "PRK"],
            ["covax-2021", "1", "--country", "prk"],
        )
    ):
        db = _copy(allocated, tmp_path, f"s{n}.sqlite")
        assert run(["ship", "plan", *argv, "--db", db]) == 0, argv
        out = capsys.readouterr()
        assert "1 shipments planned" in out.out
        plans.append(
            [(s.shipment_id, s.planned_doses) for s in LedgerStore(open_database(db)).shipments()]
        )
        if n == 1:
            assert "old form of --round" in out.err
            assert "--country is the old spelling of --participant" in out.err
    assert plans[0]
    assert plans[0] == plans[1]


def test_impact_country_is_the_participant(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["impact", "run", "--bands", "0,20,40,60", "--supply", "0.2", "--json"]
    new = json.loads(_out([*base, "--participant", "NGA"], capsys))
    assert json.loads(_out([*base, "--country", "nga"], capsys)) == new


def test_report_export_start_end_are_from_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.sqlite")
    hierarchy = str(EXAMPLES / "reporting_hierarchy.yaml")
    src = str(EXAMPLES / "reporting_prk_surveillance.json")
    args = ["--hierarchy", hierarchy, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", src, *args]) == 0
    mapping = ["--mapping", str(EXAMPLES / "reporting_dhis2_mapping.yaml")]
    texts = []
    for n, (start, end) in enumerate((("--from", "--to"), ("--start", "--end"))):
        out = tmp_path / f"e{n}.xml"
        argv = ["report", "export", "--format", "adx", *mapping, "--out", str(out)]
        argv += [start, "2021-09-20", end, "2021-09-20", "--db", db]
        assert run(argv) == 0, argv
        # the export's time stamp aside (the two runs may fall in different seconds)
        texts.append(re.sub(r'exported="[^"]*"', 'exported=""', out.read_text()))
    whole = tmp_path / "all.xml"
    argv = ["report", "export", "--format", "adx", *mapping, "--out", str(whole), "--db", db]
    assert run(argv) == 0
    assert texts[0] == texts[1]
    assert 'period="2021-09-20/P7D"' in texts[0] or "2021W38" in texts[0]
    assert len(texts[0]) < len(whole.read_text())  # the range was applied


def test_token_iso3_is_the_participant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    for spelling in ("--participant", "--iso3"):
        argv = ["token", "create", "--role", "participant", spelling, "ken", "--db", db]
        assert run(argv) == 0, spelling
    out = capsys.readouterr().out
    assert out.count("(participant for KEN)") == 2


def _starts(argv: list[str], capsys: pytest.CaptureFixture[str]) -> set[str]:
    rows = json.loads(_out([*argv, "--format", "json"], capsys))
    assert rows
    return {row["route"].split(" =")[0].split(" → ")[0] for row in rows}


def test_a_site_s_product_ships_from_that_site_by_code_or_alias(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """AZ-SII and AZ-SKB share the AstraZeneca storage profile but not their plants: routes
    and cold-chain checks start where the network file says the product is made."""
    sii = _starts(["routes", "--ship", "AZ-SII=PRK-NS:480000"], capsys)
    assert sii == {"Serum Institute Pune"}
    assert _starts(["routes", "--ship", "covishield=PRK-NS:480000"], capsys) == sii
    assert _starts(["routes", "--ship", "AZ-SKB=PRK-NS:480000"], capsys) == {"SK bioscience Andong"}
    checked = _starts(["coldchain", "feasibility", "-p", "AZ-SII", "-d", "PRK-NS"], capsys)
    assert checked == {"Serum Institute Pune"}


def test_the_old_positional_form_and_the_option_must_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def said() -> str:  # the usage error's words, without the box Typer draws round them
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", capsys.readouterr().err).split())

    db = str(tmp_path / "none.sqlite")
    assert run(["explain", "KEN", "--participant", "NGA", "--db", db]) == 2
    assert "KEN given by position and NGA by --participant: give one" in said()
    assert run(["ship", "plan", "covax-2021", "1", "--round", "2", "--db", db]) == 2
    assert "1 given by position and 2 by --round: give one" in said()


def test_deploy_without_db_uses_the_database_every_command_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--db`` means one thing: without it, ``$DOSEFLOW_DB`` (as ``serve`` and the ledger
    read), not a file of the command's own."""
    db = tmp_path / "env.sqlite"
    monkeypatch.setenv("DOSEFLOW_DB", f"sqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    argv = ["deploy", "plan", str(EXAMPLES / "deployment_prk.yaml"), "--record"]
    assert run([*argv, "--out", str(tmp_path / "out")]) == 0
    assert f"ledger sqlite:///{db}:" in capsys.readouterr().out
    assert LedgerStore(open_database(str(db))).event_count() > 0
    assert not (tmp_path / "doseflow.sqlite").exists()


# -- --format everywhere, --json its old spelling ---------------------------------------------

#: Commands whose callback writes rows or a summary (a table, ``emit``, an import summary).
LISTS = ("emit(", "print_table(", "Table(", "_finish(", "_submit(", "_comparison(")


def _documented_format_commands() -> set[str]:
    """The commands docs/cli-output.md says take ``--format table|csv|json`` or
    ``--format table|json``."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli-output.md").read_text()
    found: set[str] = set()
    for heading in ("Commands with `--format table|csv|json`:", "with `--format table|json`:"):
        listed = " ".join(doc.split(heading, 1)[1].split(".", 1)[0].split())
        found |= set(re.findall(r"`([a-z][a-z -]*)`", listed))
    return found


def test_no_command_shows_json_and_every_listing_command_offers_format() -> None:
    """``--json`` is ``--format json`` (hidden, still read); a command printing rows or a
    summary takes ``--format``, and docs/cli-output.md names each that does."""
    import inspect

    listing = 0
    documented = _documented_format_commands()
    for path, command in _commands():
        shown = {name for p in command.params if not p.hidden for name in p.opts}
        assert "--json" not in shown, path
        if any(word in inspect.getsource(command.callback) for word in LISTS):
            assert "--format" in shown, path
            listing += 1
        if path in documented:
            assert "--format" in shown, path
    assert listing > 15
    assert documented >= {"explain", "impact run", "report submit", "report import"}
    assert documented >= {"allocate declines", "impact global", "impact sweep", "token list"}


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A reporting database with the bundled surveillance file imported, and a template."""
    tmp = tmp_path_factory.mktemp("report")
    db = str(tmp / "r.sqlite")
    hierarchy = str(EXAMPLES / "reporting_hierarchy.yaml")
    src = str(EXAMPLES / "reporting_prk_surveillance.json")
    argv = ["report", "import", src, "--hierarchy", hierarchy, "--as-of", "2021-09-27"]
    assert run([*argv, "--db", db]) == 0
    template = str(tmp / "t.csv")
    argv = ["report", "template", "--participant", "PRK", "--report", "surveillance"]
    assert run([*argv, "--from", "2021W38", "--out", template, "--hierarchy", hierarchy]) == 0
    return {"db": db, "hierarchy": hierarchy, "src": src, "template": template}


def _json_commands(allocated: Path, reported: dict[str, str]) -> dict[str, list[str]]:
    h = ["--hierarchy", reported["hierarchy"]]
    dry = [*h, "--as-of", "2021-09-27", "--dry-run", "--db", reported["db"]]
    return {
        "explain": ["explain", "--participant", "KEN", "--round", "1", "--db", str(allocated)],
        "impact run": ["impact", "run", "--participant", "NGA", "--supply", "0.2"],
        "report import": ["report", "import", reported["src"], *dry],
        "report submit": ["report", "submit", reported["template"], *dry],
        "report plausibility": ["report", "plausibility", *h, "--db", reported["db"]],
    }


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("explain", "iso3"),
        ("impact run", "deaths_averted"),
        ("report import", "counts"),
        ("report submit", "counts"),
        ("report plausibility", "method"),
    ],
)
def test_json_is_the_old_spelling_of_format_json(
    name: str,
    key: str,
    allocated: Path,
    reported: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = _json_commands(allocated, reported)[name]
    assert run([*argv, "--format", "json"]) == 0
    new = capsys.readouterr()
    assert "old spelling" not in new.err
    assert run([*argv, "--json"]) == 0
    old = capsys.readouterr()
    assert old.out == new.out  # byte for byte
    assert "--json is the old spelling of --format json" in old.err
    data = json.loads(new.out)
    first = data[0] if isinstance(data, list) else data
    assert key in first, (name, first)
    assert run([*argv, "--format", "table"]) == 0
    assert capsys.readouterr().out != new.out
    assert run([*argv, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--format" in shown
    assert "--json" not in shown


def test_report_import_reads_the_file_format_from_input_format(
    reported: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--format`` is the summary's; the file's format is ``--input-format`` (the old
    ``--format dhis2-json|adx`` still read as it, with a note)."""
    argv = ["report", "import", reported["src"], "--hierarchy", reported["hierarchy"]]
    argv += ["--dry-run", "--db", reported["db"], "--format", "json"]
    assert run([*argv, "--input-format", "dhis2-json"]) == 0
    new = capsys.readouterr()
    assert "old" not in new.err
    old_argv = [a if a != "json" else "dhis2-json" for a in argv]
    assert run(old_argv) == 0
    old = capsys.readouterr()
    assert "--format dhis2-json is the old spelling of --input-format dhis2-json" in old.err
    assert "Import summary" in old.out or "counts" in old.out or old.out
    assert run([*argv, "--input-format", "adx"]) != 0  # the input format is applied


def test_ledger_card_node_and_product_by_option_or_position(
    ledger_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tail = ["--format", "json", "--db", ledger_db]
    new = _out(["ledger", "card", "--node", "PRK-NS", "--product", "AZ-SII", *tail], capsys)
    assert json.loads(new)
    assert run(["ledger", "card", "PRK-NS", "AZ-SII", *tail]) == 0
    old = capsys.readouterr()
    assert old.out == new
    assert "old form of --node" in old.err
    assert "old form of --product" in old.err
    other = _out(["ledger", "card", "--node", "DLC", "--product", "AZ-SII", *tail], capsys)
    assert other != new
    assert run(["ledger", "card", "--help"]) == 0
    assert re.search(r"Usage: doseflow ledger card \[OPTIONS\]\s*\n", capsys.readouterr().out)
    assert run(["ledger", "card", "--node", "PRK-NS", *tail]) == 2
    assert "missing: give --product" in capsys.readouterr().err


def test_report_template_periods_are_from_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hierarchy = str(EXAMPLES / "reporting_hierarchy.yaml")
    argv = ["report", "template", "--participant", "PRK", "--report", "surveillance"]
    argv += ["--hierarchy", hierarchy]
    files = []
    for n, first in enumerate(("--from", "--period")):
        out = tmp_path / f"t{n}.csv"
        assert run([*argv, first, "2021W38", "--to", "2021W39", "--out", str(out)]) == 0
        files.append(out.read_text())
        err = capsys.readouterr().err
        assert ("--period is the old spelling of --from" in err) == (first == "--period")
    assert files[0] == files[1]
    single = tmp_path / "one.csv"
    assert run([*argv, "--from", "2021W38", "--out", str(single)]) == 0
    assert len(single.read_text()) < len(files[0])  # --to was applied
    assert run(["report", "template", "--help"]) == 0
    assert not re.search(r"--period\b", capsys.readouterr().out)
