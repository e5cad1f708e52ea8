"""Command-line start-up benchmark: how long ``doseflow`` takes before it does anything.

Wall time (best of ``--runs``, each a fresh subprocess) of ``doseflow --help``, ``doseflow
version`` and ``doseflow <area> --help`` for every area of the command table, against the
interpreter's own floor measured in the same run: ``python -c pass`` (no site packages
imported beyond what the interpreter always loads). The ratio to that floor says how much of
the start is doseflow's own; the floor is the machine's limit for any Python command.

For each command, the modules with the largest cumulative import time (``python -X
importtime``, top-level imports only, i.e. what the command itself caused) give the
breakdown. The machine's load average is printed with the figures.

    python benchmarks/cli_startup.py [--runs 7] [--top 5]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

#: The command, as ``python -c`` runs it (the ``doseflow`` script does the same).
ENTRY = "from doseflow.cli.app import main; main()"

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


@dataclass(frozen=True)
class Timing:
    """One command's start-up: best and median wall time over the runs (seconds)."""

    label: str
    best: float
    median: float


def command_lines(areas: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The commands measured, each as (label, argv after ``doseflow``)."""
    lines = [("doseflow --help", ["--help"]), ("doseflow version", ["version"])]
    lines += [(f"doseflow {area} --help", [area, "--help"]) for area in areas]
    return lines


def areas() -> list[str]:
    """Every command of the table (``doseflow.cli.app.AREA_COMMANDS``), in its order."""
    from doseflow.cli.app import AREA_COMMANDS

    return [name for name, _, _ in AREA_COMMANDS]


def wall_time(argv: Sequence[str], runs: int, label: str) -> Timing:
    """Best and median wall time of ``argv`` run ``runs`` times as a fresh process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{label} failed: {done.stderr.decode()[-500:]}")
    times.sort()
    return Timing(label, times[0], times[len(times) // 2])


def imports(code: str, args: Sequence[str] = ()) -> list[tuple[str, float]]:
    """Top-level modules ``python -c code args`` imports, with cumulative import time (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match and len(match.group(3)) == 1:  # one space: not imported by another module
            rows.append((match.group(4), int(match.group(2)) / 1000))
    return rows


def top_imports(args: Sequence[str], top: int, floor: set[str]) -> list[tuple[str, float]]:
    """The ``top`` modules by cumulative import time (ms) that one command imports itself
    (the interpreter's own start-up imports, ``floor``, left out)."""
    rows = [row for row in imports(ENTRY, args) if row[0] not in floor]
    rows.sort(key=lambda row: -row[1])
    return rows[:top]


def run_benchmark(runs: int, top: int, only: Sequence[str] | None = None) -> list[str]:
    """Measure the floor and every command; return the report's lines (Markdown)."""
    floor = wall_time([sys.executable, "-c", "pass"], runs, "python -c pass")
    floor_modules = {name for name, _ in imports("pass")}
    chosen = areas() if only is None else list(only)
    lines = [
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| command | best ms | median ms | best / floor | top imports (cumulative ms) |",
        "|---|---|---|---|---|",
        f"| `python -c pass` (floor) | {floor.best * 1000:.0f} | {floor.median * 1000:.0f} "
        "| 1.0x | - |",
    ]
    for label, args in command_lines(chosen):
        timing = wall_time([sys.executable, "-c", ENTRY, *args], runs, label)
        breakdown = ", ".join(
            f"{name} {ms:.0f}" for name, ms in top_imports(args, top, floor_modules)
        )
        lines.append(
            f"| `{label}` | {timing.best * 1000:.0f} | {timing.median * 1000:.0f} "
            f"| {timing.best / floor.best:.1f}x | {breakdown} |"
        )
    lines += ["", f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (best is kept)")
    parser.add_argument("--top", type=int, default=5, help="modules in each breakdown")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {options.runs}")
    print("\n".join(run_benchmark(options.runs, options.top)))


if __name__ == "__main__":
    main()
