"""Every error code the package can raise is documented in docs/errors.md.

Codes are the stable contract with users (the CLI prints them, the service returns them),
so a code added in the source without a line in the docs is a bug. The codes are found as
string constants of the error areas' forms (``REPORT_BAD_VALUE``) anywhere in the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AREAS = (
    "ALLOC",
    "DATA",
    "DEPLOY",
    "IMPACT",
    "LEDGER",
    "LOGISTICS",
    "NETWORK",
    "PRODUCT",
    "REPORT",
    "SERVICE",
    "SIMULATION",
    "STORE",
    "UNIT",
)
#: Constants of an error area's form that are not error codes.
NOT_CODES = {
    "UNIT_INTERVAL",  # a DHIS2 value type
    "SIMULATION_START",  # the prefix UserFiles builds the start file's codes from
    "SIMULATION_SCENARIO",  # the prefix UserFiles builds the scenario file's codes from
}
CODE = re.compile(rf"^(?:{'|'.join(AREAS)})(?:_[A-Z0-9]+)+$")


def _codes_in_source() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "doseflow").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CODE.match(node.value)
                and node.value not in NOT_CODES
            ):
                found.setdefault(node.value, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_codes_of_every_area() -> None:
    codes = _codes_in_source()
    assert {c.split("_")[0] for c in codes} >= {"ALLOC", "LEDGER", "REPORT", "IMPACT", "SIMULATION"}


def test_every_error_code_is_documented() -> None:
    documented = set(
        re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", (ROOT / "docs" / "errors.md").read_text())
    )
    missing = {c: where for c, where in _codes_in_source().items() if c not in documented}
    assert not missing, f"error codes missing from docs/errors.md: {missing}"
