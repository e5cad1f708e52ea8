"""``doseflow allocate ...`` and ``doseflow explain``: run allocation rounds from a scenario
file, record declines (redistributed at once), publish, show, export and explain.

Commands only parse options, call :mod:`doseflow.allocation` and
:mod:`doseflow.store.allocation`, and render; the rules live there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from doseflow.cli import allocation_revisions
from doseflow.cli.console import console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import (
    db_option,
    old_positional_participant,
    option_or_position,
    participant_option,
    product_option,
    round_option,
)
from doseflow.cli.output import (
    OutputFormat,
    Shown,
    TableOrJson,
    emit,
    format_option,
    print_table,
    table_or_json_option,
    write_xlsx,
)
from doseflow.cli.output import col as column
from doseflow.cli.vocabulary import OLD_SPELLINGS, VocabularyTyper
from doseflow.domain.errors import DoseflowError

if TYPE_CHECKING:
    from doseflow.allocation import AllocationRun, Scenario
    from doseflow.store.allocation import AllocationStore, LineInfo

allocate_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Allocation rounds: run a scenario, decline, publish, show, export.",
    no_args_is_help=True,
)

EXPORT_FORMATS = ("csv", "json", "parquet", "xlsx")


def _store(db: str | None) -> AllocationStore:
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.database import open_database

    return AllocationStore(open_database(db))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def render_run(run: AllocationRun, *, top: int = 12) -> None:
    """Rich tables: pools of each round, then coverage (both measures) of the participants."""
    for result in run.rounds:
        table = Table(title=f"Round {result.number}: {result.name} ({result.date}, {result.kind})")
        for col in ("pool", "mode", "level", "supply", "buffer", "allocated", "held", "declines"):
            table.add_column(col, justify="left" if col in ("pool", "mode") else "right")
        for pr in result.pools:
            declined = sum(rec.declined for rec in pr.declines)
            table.add_row(
                pr.pool.id,
                pr.mode.value,
                _pct(pr.level) if pr.level is not None and abs(pr.level) != float("inf") else "-",
                f"{pr.supply:,}",
                f"{pr.buffer:,}",
                f"{pr.allocated:,}",
                f"{pr.held:,}",
                f"{declined:,}" if pr.declines else "",
            )
        print_table(table)
    rows = sorted(run.coverage(), key=lambda c: -c.doses)
    cov = Table(title=f"Coverage after round {run.rounds[-1].number} (top {min(top, len(rows))})")
    for col in ("iso3", "participant", "population", "doses", "doses/100", "fully covered"):
        cov.add_column(col, justify="left" if col in ("iso3", "participant") else "right")
    for c in rows[:top]:
        cov.add_row(
            c.iso3,
            c.name,
            f"{c.population:,}",
            f"{c.doses:,}",
            f"{c.doses_per_100:.1f}",
            f"{c.fully_covered:.2%}",
        )
    print_table(cov)


def _lines(lines: Sequence[LineInfo], title: str, fmt: OutputFormat = OutputFormat.TABLE) -> None:
    """Allocation lines: the table shows coverage as a percentage, CSV and JSON as a share."""
    rows = []
    for line in lines:
        e = line.explanation
        notes = [f"-{d.doses:,} declined" for d in e.declined]
        notes += [f"+{d.doses:,} from {d.from_iso3}" for d in e.received]
        rows.append(
            (
                line.round,
                line.pool,
                line.iso3,
                line.doses,
                line.packs,
                Shown(e.coverage_after, _pct(e.coverage_after)),
                e.binding,
                "; ".join(notes),
            )
        )
    emit(
        [
            column("round", True),
            column("pool"),
            column("iso3"),
            column("doses", True),
            column("packs", True),
            column("coverage after"),
            column("binding"),
            column("declines"),
        ],
        rows,
        fmt,
        title=title,
    )


PARTICIPANTS_HELP = (
    "A CSV file or Excel workbook with one row per participant; its rows replace the "
    "scenario's participants (columns: docs/allocation.md, 'Participants from a table')."
)
SHEET_HELP = "The sheet of the --participants workbook to read (default: the first)."


def _load(scenario: Path, participants: Path | None, sheet: str | None) -> Scenario:
    """The scenario of a file, with its participants from a table when one is named."""
    from doseflow.allocation import load_scenario

    if participants is None:
        return load_scenario(scenario)
    from doseflow.allocation.participants_table import load_scenario_with_participants

    return load_scenario_with_participants(scenario, participants, sheet=sheet)


@allocate_app.command("validate")
def validate(
    scenario: Path = typer.Argument(..., help="Scenario file (YAML or TOML)."),
    participants: Path | None = typer.Option(None, "--participants", help=PARTICIPANTS_HELP),
    sheet: str | None = typer.Option(None, "--participants-sheet", help=SHEET_HELP),
) -> None:
    """Check a scenario file without running or storing anything."""
    s = _load(scenario, participants, sheet)
    console.print(
        f"[green]ok[/] {scenario}: scenario '{s.name}', {len(s.products)} products, "
        f"{len(s.participants)} participants, {len(s.rounds)} rounds, {len(s.declines)} declines"
    )


@allocate_app.command("run")
def run(
    scenario: Path = typer.Argument(..., help="Scenario file (YAML or TOML)."),
    participants: Path | None = typer.Option(None, "--participants", help=PARTICIPANTS_HELP),
    sheet: str | None = typer.Option(None, "--participants-sheet", help=SHEET_HELP),
    db: str | None = db_option(),
    preview: bool = typer.Option(False, "--preview", help="Store as a preview, not of record."),
    top: int = typer.Option(12, "--top", help="Participants shown in the coverage table."),
    compliance_gate: bool = typer.Option(
        False,
        "--compliance-gate",
        help="Use reporting compliance (reports owed, as of each round's date) as a readiness "
        "gate, as if the file set policy.compliance_gate.enabled; stored with the scenario.",
    ),
) -> None:
    """Validate, store and run every round of a scenario file."""
    from doseflow.allocation import with_compliance_gate
    from doseflow.store.allocation import RoundStatus

    parsed = _load(scenario, participants, sheet)  # validates before anything is written
    if compliance_gate:
        parsed = with_compliance_gate(parsed)
    store = _store(db)
    store.save_scenario(parsed)
    result = store.run(parsed.name, status=RoundStatus.PREVIEW if preview else RoundStatus.RUN)
    render_run(result, top=top)
    render_gate_exclusions(result)
    console.print(f"stored scenario '{parsed.name}' ({'preview' if preview else 'run'})")


@allocate_app.command("participants-template")
def participants_template(
    out: Path = typer.Argument(..., help="File to write: .csv or .xlsx."),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        help="Scenario file whose participants fill the rows (default: the bundled 2021 example).",
    ),
) -> None:
    """Write a participants table to start from: every column a participant can have (one
    per product for requests, delays, ...), one row per participant of a scenario."""
    from doseflow.allocation import load_scenario
    from doseflow.allocation.participants_table import write_participants_table

    if scenario is None:
        from importlib import resources

        bundled = resources.files("doseflow.data").joinpath("examples", "covax_2021.yaml")
        scenario = Path(str(bundled))
    rows = write_participants_table(out, load_scenario(scenario))
    console.print(f"wrote {rows:,} participants to {out}", highlight=False)


def render_gate_exclusions(run: AllocationRun) -> None:
    """Who an extra readiness gate (reporting compliance) kept out of each round, and why."""
    for result in run.rounds:
        participants = result.context.table.participants
        for i, notes in sorted(result.gate_notes.items()):
            console.print(
                f"Round {result.number}: {participants[i].iso3} excluded: " + "; ".join(notes),
                highlight=False,
                markup=False,
                emoji=False,
            )


@allocate_app.command("decline")
def decline(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int = round_option(..., "Round number."),
    product: str = product_option(..., "Product code or alias."),
    iso3: str = participant_option(..., "The declining participant."),
    doses: int | None = typer.Option(None, "--doses", help="Doses declined (default: all)."),
    reason: str = typer.Option("", "--reason", help="Why, as the participant said it."),
    to: str | None = typer.Option(
        None,
        "--recipients",
        *OLD_SPELLINGS["--recipients"],
        help="Named recipients, comma-separated ISO3.",
    ),
    most_affected: bool = typer.Option(
        False, "--most-affected", help="Send to the most severely affected (threat weighting)."
    ),
    pool: str | None = typer.Option(None, "--pool", help="Pool id, when several hold it."),
    db: str | None = db_option(),
) -> None:
    """Record a decline; its doses are redistributed at once and the rounds re-run."""
    from doseflow.allocation import Decline, Redirect

    recipients = frozenset(c.strip().upper() for c in (to or "").split(",") if c.strip())
    if recipients and most_affected:
        raise DoseflowError(
            "ALLOC_INVALID_FIELD",
            "choose either named recipients (--recipients) or --most-affected, not both",
            field="--recipients",
            expected="one redirect",
            value=to,
        )
    redirect = (
        Redirect.NAMED
        if recipients
        else (Redirect.MOST_AFFECTED if most_affected else Redirect.SAME_RULES)
    )
    d = Decline(
        round=round_number,
        product=product,
        iso3=iso3,
        doses=doses,
        reason=reason,
        redirect=redirect,
        recipients=recipients,
        pool=pool,
    )
    store = _store(db)
    store.record_decline(scenario, d, recorded_by="via the CLI")
    lines = [
        line
        for line in store.lines(scenario, round_number)
        if line.product == product and (line.explanation.declined or line.explanation.received)
    ]
    _lines(lines, f"Decline by {d.iso3}: {product}, round {round_number}")


@allocate_app.command("publish")
def publish(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int = round_option(..., "Round number."),
    db: str | None = db_option(),
) -> None:
    """Mark a round as published (communicated to participants)."""
    info = _store(db).publish(scenario, round_number)
    console.print(
        f"round {info.number} of '{scenario}' is {info.status} (revision {info.revision})"
    )


@allocate_app.command("list")
def list_scenarios(
    fmt: OutputFormat = format_option(),
    db: str | None = db_option(),
) -> None:
    """Stored scenarios and their rounds."""
    emit(
        [
            column("name"),
            column("rounds", True),
            column("declines", True),
            column("updated"),
            column("source", text=lambda v: v or ""),
        ],
        [
            (
                s.name,
                s.rounds,
                s.declines,
                Shown(s.updated_at.isoformat(), f"{s.updated_at:%Y-%m-%d %H:%M}"),
                s.source,
            )
            for s in _store(db).scenarios()
        ],
        fmt,
        title="Scenarios",
    )


@allocate_app.command("declines")
def list_declines(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    fmt: OutputFormat = format_option(
        "table (one sentence per decline), csv or json (one row per decline: its round, "
        "participant, product, doses (empty: all), reason, redirect, recipients, pool, source)."
    ),
    db: str | None = db_option(),
) -> None:
    """Every decline of a scenario (its file's and those recorded), with its source."""
    found = _store(db).declines(scenario)
    if fmt is not OutputFormat.TABLE:
        emit(
            [
                column("round", numeric=True),
                column("iso3"),
                column("product"),
                column("doses", numeric=True),
                column("reason"),
                column("redirect"),
                column("recipients"),
                column("pool"),
                column("source"),
            ],
            [
                (
                    d.round,
                    d.iso3,
                    d.product,
                    d.doses,
                    d.reason,
                    d.redirect,
                    ",".join(sorted(d.recipients)),
                    d.pool,
                    d.source,
                )
                for d in found
            ],
            fmt,
        )
        return
    for d in found:
        doses = "all its doses" if d.doses is None else f"{d.doses:,} doses"
        reason = f" ({d.reason})" if d.reason else ""
        console.print(
            f"Round {d.round}: {d.iso3} declined {doses} of {d.product}{reason}; "
            f"redistributed by {d.redirect_text}. Source: {d.source}",
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
        )
    console.print(f"{len(found):,} declines in '{scenario}'", highlight=False, markup=False)


@allocate_app.command("show")
def show(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int | None = round_option(None, "One round only."),
    iso3: str | None = participant_option(None, "One participant only."),
    fmt: OutputFormat = format_option(
        "table (rounds, then allocation lines), csv or json (the allocation lines)."
    ),
    db: str | None = db_option(),
) -> None:
    """Rounds and allocation lines of a stored scenario."""
    store = _store(db)
    if fmt is not OutputFormat.TABLE:
        _lines(store.lines(scenario, round_number, iso3), "Allocation lines", fmt)
        return
    rounds = Table(title=f"Rounds of '{scenario}'")
    for col in (
        "round",
        "name",
        "date",
        "kind",
        "status",
        "rev",
        "supply",
        "allocated",
        "buffer",
        "held",
    ):
        rounds.add_column(col)
    for r in store.rounds(scenario):
        if round_number is None or r.number == round_number:
            rounds.add_row(
                str(r.number),
                r.name,
                str(r.date),
                r.kind,
                r.status,
                str(r.revision),
                f"{r.supply:,}",
                f"{r.allocated:,}",
                f"{r.buffer:,}",
                f"{r.held:,}",
            )
    print_table(rounds)
    _lines(store.lines(scenario, round_number, iso3), "Allocation lines")


def _flat(line: LineInfo) -> dict[str, Any]:
    e = line.explanation
    return {
        "round": line.round,
        "pool": line.pool,
        "product": line.product,
        "iso3": line.iso3,
        "name": e.name,
        "doses": line.doses,
        "packs": line.packs,
        "pack_doses": e.pack_doses,
        "mode": e.mode,
        "binding": e.binding,
        "level": e.level if isinstance(e.level, float) else None,
        "coverage_before": e.coverage_before,
        "coverage_after": e.coverage_after,
        "ceiling": e.ceiling,
        "unrounded_doses": e.unrounded_doses,
        "rounding": e.rounding,
        "declined_doses": sum(d.doses for d in e.declined),
        "received_from_declines": sum(d.doses for d in e.received),
        "decline_sources": "; ".join(
            dict.fromkeys(d.source for d in (*e.declined, *e.received) if d.source)
        ),
        "delivery_rank": e.delivery_rank,
    }


@allocate_app.command("export")
def export(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    fmt: str = typer.Option("csv", "--format", help="csv, json, parquet or xlsx."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    round_number: int | None = round_option(None, "One round only."),
    db: str | None = db_option(),
) -> None:
    """Export allocation lines, one per participant and pool, 0 doses included (CSV and
    Parquet: one row per line; JSON: with explanations)."""
    if fmt not in EXPORT_FORMATS:
        raise DoseflowError(
            "ALLOC_BAD_EXPORT_FORMAT",
            f"cannot export as '{fmt}'",
            field="--format",
            expected="one of " + ", ".join(EXPORT_FORMATS),
            value=fmt,
        )
    lines = _store(db).export_lines(scenario, round_number)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        payload = [
            {
                **_flat(line),
                "explanation": line.explanation.to_dict(),
                "text": line.explanation.render(),
            }
            for line in lines
        ]
        out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    else:
        import pandas as pd

        frame = pd.DataFrame([_flat(line) for line in lines], columns=list(_flat_columns()))
        if fmt == "csv":
            frame.to_csv(out, index=False)
        elif fmt == "xlsx":
            write_xlsx(
                [column(name) for name in _flat_columns()],
                [[_flat(line)[name] for name in _flat_columns()] for line in lines],
                out,
            )
        else:
            frame.to_parquet(out, index=False)
    console.print(f"wrote {len(lines):,} lines to {out} ({fmt})")


def _flat_columns() -> tuple[str, ...]:
    return (
        "round",
        "pool",
        "product",
        "iso3",
        "name",
        "doses",
        "packs",
        "pack_doses",
        "mode",
        "binding",
        "level",
        "coverage_before",
        "coverage_after",
        "ceiling",
        "unrounded_doses",
        "rounding",
        "declined_doses",
        "received_from_declines",
        "decline_sources",
        "delivery_rank",
    )


def explain(
    iso3_given: str | None = old_positional_participant(),
    participant: str | None = participant_option(None, "The participant (ISO3 code)."),
    scenario: str | None = typer.Option(None, "--scenario", help="Stored scenario name."),
    round_number: int | None = round_option(None, "One round only."),
    fmt: TableOrJson = table_or_json_option(
        "table (each explanation as text) or json (the explanations' fields); no csv."
    ),
    db: str | None = db_option(),
) -> None:
    """Why a participant received what it did: pool, eligibility, coverage, floor/cap,
    rounding, declines given and received."""
    iso3 = option_or_position(participant, iso3_given, "--participant")
    store = _store(db)
    name = scenario
    if name is None:
        names = [s.name for s in store.scenarios()]
        if len(names) != 1:
            raise DoseflowError(
                "ALLOC_SCENARIO_REQUIRED",
                "name the scenario to explain (--scenario)",
                field="--scenario",
                expected="one of: " + (", ".join(names) or "(none stored yet)"),
                value=None,
            )
        name = names[0]
    found = store.explain(name, iso3, round_number)
    if fmt is TableOrJson.JSON:
        console.print_json(json.dumps([e.to_dict() for e in found], default=str))
        return
    for e in found:
        console.print(e.render(), highlight=False, markup=False, emoji=False)
        console.print()


def register(app: typer.Typer) -> None:
    app.add_typer(allocate_app, name="allocate")
    app.command("explain")(explain)


allocation_revisions.register(allocate_app)  # revise, diff, revisions
