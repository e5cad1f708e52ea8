"""An impossible date in any user file that takes dates is a located DoseflowError on the
command line (code, file, line), never a Python traceback (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doseflow.cli.app import run

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseflow" / "data" / "examples"

IMPACT = """\
country: PRK
bands: 0,20,40,60
vaccines:
  - {code: AZ, efficacy_infection: 0.7, efficacy_death: 0.95}
rollout:
  start: 2021-03-01
  deliveries:
    - {date: 2021-03-10, product: AZ, doses: 1000000}
strategy: older-first
"""

TOML = """\
name = "t"
[[products]]
code = "AZ"
pack_doses = 2400
[[participants]]
iso3 = "NGA"
financing = "amc"
[[rounds]]
date = 2021-03-01
[[rounds.tranches]]
product = "AZ"
doses = 4800
"""

EVENTS_CSV = (
    "id,type,occurred_at,recorded_by,node,product,lot,quantity\n"
    "x1,administration,2021-03-05,me,PRK-NS,AZ-SII,L1,5\n"
)
EVENTS_JSON = (
    '[{"id": "x1", "type": "administration", "occurred_at": "2021-03-05", '
    '"recorded_by": "me", "node": "PRK-NS", "product": "AZ-SII", "lot": "L1", "quantity": 5}]'
)


def _example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


# (case, file name, file text, the good date in it, its bad replacement, command, code, line)
CASES = [
    (
        "tranche available",
        "s.yaml",
        _example("covax_2021.yaml"),
        "available: 2021-02-22",
        "available: 2021-13-01",
        ["allocate", "run"],
        "ALLOC_MALFORMED_FILE",
        137,
    ),
    (
        "tranche available, quoted",
        "s.yaml",
        _example("covax_2021.yaml"),
        "available: 2021-02-22",
        'available: "2021-13-01"',
        ["allocate", "run"],
        "ALLOC_INVALID_FIELD",
        137,
    ),
    (
        "tranche expiry",
        "s.yaml",
        _example("covax_2021.yaml"),
        "expiry: 2021-08-31",
        "expiry: 2021-02-30",
        ["allocate", "validate"],
        "ALLOC_MALFORMED_FILE",
        137,
    ),
    (
        "round date",
        "s.yaml",
        _example("covax_2021.yaml"),
        "date: 2021-02-03",
        "date: 2021-13-03",
        ["allocate", "run"],
        "ALLOC_MALFORMED_FILE",
        134,
    ),
    (
        "round date, TOML",
        "s.toml",
        TOML,
        "date = 2021-03-01",
        "date = 2021-13-01",
        ["allocate", "run"],
        "ALLOC_MALFORMED_FILE",
        9,
    ),
    (
        "deployment start",
        "d.yaml",
        _example("deployment_prk.yaml"),
        "start: 2021-06-01",
        "start: 2021-13-01",
        ["deploy", "plan"],
        "DEPLOY_BAD_YAML",
        7,
    ),
    (
        "deployment lot expiry, quoted",
        "d.yaml",
        _example("deployment_prk.yaml"),
        "expiry: 2021-08-31",
        'expiry: "2021-13-31"',
        ["deploy", "plan"],
        "DEPLOY_BAD_FIELD",
        23,
    ),
    (
        "impact rollout start",
        "i.yaml",
        IMPACT,
        "start: 2021-03-01",
        "start: 2021-13-01",
        ["impact", "run"],
        "IMPACT_BAD_FILE",
        6,
    ),
    (
        "impact delivery date, quoted",
        "i.yaml",
        IMPACT,
        "date: 2021-03-10",
        'date: "2021-02-30"',
        ["impact", "run"],
        "IMPACT_BAD_FILE",
        8,
    ),
    (
        "ledger event CSV",
        "e.csv",
        EVENTS_CSV,
        "2021-03-05,",
        "2021-13-05,",
        ["ledger", "import"],
        "LEDGER_ROW_INVALID",
        2,
    ),
    (
        "ledger event JSON",
        "e.json",
        EVENTS_JSON,
        "2021-03-05",
        "2021-13-05",
        ["ledger", "import"],
        "LEDGER_ROW_INVALID",
        1,
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "good", "bad", "command", "code", "line"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_an_impossible_date_is_a_located_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    good: str,
    bad: str,
    command: list[str],
    code: str,
    line: int,
) -> None:
    assert good in text
    path = tmp_path / name
    path.write_text(text.replace(good, bad, 1), encoding="utf-8")
    args = [*command, str(path)]
    if command[0] in {"allocate", "ledger"} and command[1] != "validate":
        args += ["--db", str(tmp_path / "d.sqlite")]
    assert run(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(rf"\[{code}\] {re.escape(str(path))}:{line}\b", err), err
    assert bad.split(" ")[-1].strip('",') in err
    # one problem, one error: what was expected in words, not pydantic's message again
    assert err.count("error [") == 1, err
    assert "real date" in err or "ISO 8601 date" in err, err
    assert "Input should be" not in err.split("(expected")[-1], err
