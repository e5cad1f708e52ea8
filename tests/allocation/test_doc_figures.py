"""The figures docs/allocation.md quotes about the bundled 2021 example are the ones the
commands print: the test runs ``doseflow demo`` and ``doseflow explain``, parses every figure
from the docs' text and compares, so the docs cannot drift from the engine (when the engine
changes, refresh the numbers in the docs; this test says which).
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

from doseflow.allocation import load_scenario
from doseflow.cli.app import run
from doseflow.cli.demo import example_path
from doseflow.domain.product import Financing
from tests.allocation.test_published_forecast import (
    BELOW,
    PUBLISHED_AZ_SII,
    SHARE_TOLERANCE,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "allocation.md"

pytestmark = pytest.mark.slow  # the whole demo once for the module


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start : end if end != -1 else None].split())


def _one(pattern: str, text: str) -> tuple[str, ...]:
    found = re.findall(pattern, text)
    assert len(found) == 1, f"expected one match of {pattern!r}, found {found}"
    value = found[0]
    return value if isinstance(value, tuple) else (value,)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _command(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run(argv) == 0
    return out.getvalue()


class Printed:
    """What ``doseflow demo`` and ``doseflow explain ISO3 --round N`` print."""

    def __init__(self, tmp: Path) -> None:
        self.db = str(tmp / "demo.sqlite")
        self.demo = _command(["demo", "--db", self.db, "--out", str(tmp / "out")])
        self.flat = " ".join(self.demo.split())
        self._explained: dict[tuple[str, int], str] = {}

    def explain(self, iso3: str, number: int) -> str:
        key = (iso3, number)
        if key not in self._explained:
            text = _command(["explain", iso3, "--round", str(number), "--db", self.db])
            self._explained[key] = " ".join(text.split())
        return self._explained[key]

    def pool_text(self, iso3: str, number: int, pool: str) -> str:
        """The explanation of one pool (the text up to the next pool's)."""
        text = self.explain(iso3, number)
        start = text.index(f"pool {pool}: {iso3} ")
        end = text.find(f"Round {number} (", start)
        return text[start : end if end != -1 else None]

    def received(self, iso3: str, number: int, pool: str) -> tuple[int, int]:
        """Doses and packs of ``iso3`` from ``pool`` in round ``number``."""
        doses, packs = _one(
            r"received ([\d,]+) doses \(([\d,]+) packs", self.pool_text(iso3, number, pool)
        )
        return _int(doses), _int(packs)

    def table_cell(self, number: int, pool: str, column: int) -> str:
        """A cell of the demo's pool table (0: round, 1: pool, ..., 7: recipients)."""
        for line in self.demo.splitlines():
            cells = [c.strip() for c in line.split("│")[1:-1]]
            if len(cells) == 8 and cells[0] == str(number) and cells[1] == pool:
                return cells[column]
        raise AssertionError(f"no row for pool {pool} of round {number} in the demo's table")


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    return Printed(tmp_path_factory.mktemp("demo"))


def test_the_north_korea_section_quotes_what_the_commands_print(printed: Printed) -> None:
    section = _section("The North Korea decline")
    (participants,) = _one(r"Scenario 'covax-2021': (\d+) participants", printed.flat)
    assert _one(r"\b(\d+) participants in the example\b", section) == (participants,)

    declined, recipients = _one(
        r"PRK declined ([\d,]+) doses of SINOVAC .*?redistributed at once to (\d+) participants",
        printed.flat,
    )
    assert _one(r"the rules give PRK ([\d,]+) doses", section) == (declined,)
    assert _one(r"among (\d+) other Sinovac-eligible participants", section) == (recipients,)
    assert _one(
        r'"PRK declined ([\d,]+) doses of SINOVAC \.\.\.; redistributed at once to (\d+) '
        r'participants"',
        section,
    ) == (declined, recipients)
    sinovac = printed.pool_text("PRK", 3, "SINOVAC")
    assert f"The pool's rules gave {declined} doses" in sinovac
    assert f"declined {declined} doses of the {declined} the pool's rules gave it" in sinovac

    doses, packs = printed.received("PRK", 1, "AZ-SII")
    sii = printed.pool_text("PRK", 1, "AZ-SII")
    before, after = _one(r"Coverage ([\d.]+%) -> ([\d.]+%)", sii)
    assert _one(r"draws ([\d,]+) doses from it", section) == (f"{doses:,}",)
    assert _one(r"(\d+) packs of 2,400, coverage ([\d.]+%) -> ([\d.]+%)", section) == (
        f"{packs}",
        before,
        after,
    )
    for pool in ("AZ-SKB", "PFIZER"):
        text = printed.pool_text("PRK", 1, pool)
        assert printed.received("PRK", 1, pool) == (0, 0)
        (why,) = _one(r"Not eligible: (.*?)\.(?: |$)", text)
        assert f'"{why}"' in section, (pool, why)
    assert "without an indemnification agreement" not in section


def test_the_forecast_section_quotes_what_the_commands_print(printed: Printed) -> None:
    section = _section("Round 1 and the published forecast")

    # Pfizer recipients in round 1
    (pfizer,) = _one(r"(\d+) in the example\)", section)
    assert printed.table_cell(1, "PFIZER", 7) == pfizer

    # the sizing rule: 3.3% of the population of each pool's members, whole packs
    scenario = load_scenario(example_path("covax_2021.yaml"))
    (share,) = _one(r"doses for \*\*([\d.]+)% of the population\*\*", section)
    sizes = _one(
        r"([\d,]+) AZ-SII doses for the (\d+) AMC participants, ([\d,]+) AZ-SKB doses for the "
        r"(\d+) others",
        section,
    )
    tranches = {t.product: t for t in scenario.rounds[0].tranches}
    groups = {"AZ-SII": Financing.AMC, "AZ-SKB": Financing.SELF_FINANCING}
    for (doses, count), code in zip((sizes[0:2], sizes[2:4]), groups, strict=True):
        members = [p for p in scenario.participants if p.financing is groups[code]]
        assert int(count) == len(members)
        assert _int(doses) == tranches[code].doses
        pack = scenario.products[code].pack_doses
        want = math.floor(float(share) / 100 * 2 * sum(p.population for p in members) / pack)
        assert tranches[code].doses == want * pack
    assert "round 1 has `humanitarian_buffer: 0`" in section
    assert scenario.rounds[0].policy is not None
    assert scenario.rounds[0].policy.humanitarian_buffer == 0

    # the like-for-like table
    rows = re.findall(
        r"\| [\w ]+ \((\w{3})\) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)% below \|", section
    )
    assert {r[0] for r in rows} == set(PUBLISHED_AZ_SII)
    below: dict[str, float] = {}
    for iso3, published, ours, pct in rows:
        assert _int(published) == PUBLISHED_AZ_SII[iso3]
        got, _ = printed.received(iso3, 1, "AZ-SII")
        assert _int(ours) == got, iso3
        below[iso3] = 1 - got / PUBLISHED_AZ_SII[iso3]
        assert pct == f"{below[iso3]:.1%}".rstrip("%"), iso3

    # the tolerances the docs claim are the ones tests/allocation/test_published_forecast.py
    # checks
    low, high = _one(r"between (\d+)% and (\d+)% below", section)
    assert (int(low) / 100, int(high) / 100) == BELOW
    (within,) = _one(r"share their total as the forecast did within (\d+)%", section)
    assert int(within) / 100 == SHARE_TOLERANCE

    # the level the SII pool reaches, and the arithmetic of the explanation
    (level,) = _one(r"The example's SII pool reaches ([\d.]+)%", section)
    for iso3 in PUBLISHED_AZ_SII:
        assert f"-> {level}%" in printed.pool_text(iso3, 1, "AZ-SII"), iso3
    ours_level, published_level, gap = _one(r"([\d.]+) / ([\d.]+) - 1 = -([\d.]+)%", section)
    assert ours_level == level
    assert f"{1 - float(ours_level) / float(published_level):.1%}" == f"{gap}%"
    (pack_share,) = _one(r"\(([\d.]+)% of PRK's\)", section)
    prk, _ = printed.received("PRK", 1, "AZ-SII")
    assert f"{2400 / prk:.2%}" == f"{pack_share}%"
    prk_below, others_below = _one(
        r"so PRK lands closer \(([\d.]+)% below, against ([\d.]+)% for the other two\)", section
    )
    assert f"{below['PRK']:.1%}" == f"{prk_below}%"
    assert f"{below['NGA']:.1%}" == f"{below['PAK']:.1%}" == f"{others_below}%"
