"""``doseflow allocate revise``, ``diff`` and ``revisions``: re-run a round with revised
supply as a new revision, and show who gained and who lost between two revisions, and why.

Commands only turn options into the documented supply-change shape, call
:mod:`doseflow.store.allocation_revisions` and render.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from doseflow.cli.console import console
from doseflow.cli.options import db_option, from_option, round_option, to_option
from doseflow.cli.output import OutputFormat, Shown, emit, format_option, print_table
from doseflow.cli.output import col as column
from doseflow.domain.errors import DoseflowError

if TYPE_CHECKING:
    from doseflow.allocation.revision_diff import RoundDiff
    from doseflow.store.allocation_revisions import RevisionInfo, RevisionStore

DIFF_FORMATS = ("table", "csv", "json")
CSV_COLUMNS = (
    "iso3",
    "name",
    "product",
    "doses_from",
    "doses_to",
    "change",
    "coverage_from",
    "coverage_to",
    "why",
)


def _revisions(db: str | None) -> RevisionStore:
    from doseflow.store.allocation import AllocationStore
    from doseflow.store.allocation_revisions import RevisionStore
    from doseflow.store.database import open_database

    return RevisionStore(AllocationStore(open_database(db)))


def _pair(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise DoseflowError(
            "ALLOC_INVALID_FIELD",
            f"{option} takes KEY=VALUE",
            field=option,
            expected="KEY=VALUE, e.g. T1=900000",
            value=item,
        )
    return key.strip(), value.strip()


def supply_document(supply: list[str], add: list[str], remove: list[str]) -> dict[str, Any]:
    """The options as the supply-change document the API takes (numbers still text)."""
    added: list[dict[str, Any]] = []
    for spec in add:
        fields: dict[str, Any] = {}
        for part in spec.split(","):
            key, value = _pair(part, "--add-tranche")
            fields[key] = [c for c in value.split(";") if c] if key == "earmarked" else value
        added.append(fields)
    return {
        "supply": dict(_pair(item, "--supply") for item in supply),
        "add": added,
        "remove": list(remove),
    }


def render_diff(diff: RoundDiff, title: str) -> None:
    table = Table(title=title)
    for col in ("iso3", "product", "from", "to", "change", "coverage from", "coverage to", "why"):
        table.add_column(col, justify="left" if col in ("iso3", "product", "why") else "right")
    for r in diff.participants:
        table.add_row(
            r.iso3,
            r.product,
            f"{r.doses_from:,}",
            f"{r.doses_to:,}",
            f"{r.change:+,}",
            f"{r.coverage_from:.2%}",
            f"{r.coverage_to:.2%}",
            r.why(),
        )
    print_table(table)
    console.print(
        f"allocated {diff.allocated_from:,} -> {diff.allocated_to:,} "
        f"({diff.allocated_change:+,} doses)",
        highlight=False,
    )


def render_revisions(rows: list[RevisionInfo], fmt: OutputFormat = OutputFormat.TABLE) -> None:
    emit(
        [
            column("round", True),
            column("revision", True),
            column("created"),
            column("by"),
            column("supply", True),
            column("allocated", True),
            column("change"),
            column("current"),
        ],
        [
            (
                r.round,
                r.revision,
                Shown(r.created_at.isoformat(), r.created_at.strftime("%Y-%m-%d %H:%M UTC")),
                r.created_by,
                r.supply,
                r.allocated,
                r.change_text(),
                Shown(r.current, "yes" if r.current else "no (scenario changed since)"),
            )
            for r in rows
        ],
        fmt,
        title="Revisions",
    )


def revise(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int = round_option(..., "The round whose supply changed."),
    supply: list[str] = typer.Option(
        [], "--supply", help="TRANCHE_ID=DOSES: a tranche's revised doses (repeatable)."
    ),
    add: list[str] = typer.Option(
        [],
        "--add-tranche",
        help="A new tranche: id=..,product=..,doses=..[,available=YYYY-MM-DD,origin=donation,"
        "donor=..,expiry=..,earmarked=ISO;ISO] (repeatable).",
    ),
    remove: list[str] = typer.Option(
        [], "--remove-tranche", help="TRANCHE_ID of a tranche no longer coming (repeatable)."
    ),
    db: str | None = db_option(),
) -> None:
    """Re-run a round with revised supply as a new revision (floors, caps and declines
    kept; later rounds re-run) and show who gained and who lost, and why."""
    from doseflow.allocation.revision_input import parse_supply_change

    revisions = _revisions(db)
    base = revisions.store.effective_scenario(scenario)
    change = parse_supply_change(
        supply_document(supply, add, remove), base, round_number, source="command line", text=True
    )
    info, diff = revisions.revise(scenario, round_number, change, created_by="via the CLI")
    console.print(
        f"round {round_number} of '{scenario}': revision {info.revision} ({info.change_text()})",
        highlight=False,
    )
    render_diff(diff, f"Round {round_number}: revision {info.revision - 1} -> {info.revision}")


def diff(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int = round_option(..., "Round number."),
    from_revision: int = from_option(..., "The earlier revision."),
    to_revision: int = to_option(..., "The later revision."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    db: str | None = db_option(),
) -> None:
    """Who gained and who lost between two revisions of a round, and why."""
    if fmt not in DIFF_FORMATS:
        raise DoseflowError(
            "ALLOC_BAD_EXPORT_FORMAT",
            f"cannot show a diff as '{fmt}'",
            field="--format",
            expected="one of " + ", ".join(DIFF_FORMATS),
            value=fmt,
        )
    found = _revisions(db).diff(scenario, round_number, from_revision, to_revision)
    if fmt == "json":
        payload = {"from": from_revision, "to": to_revision, **found.to_dict()}
        typer.echo(json.dumps(payload, indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(r.to_dict() for r in found.participants)
        typer.echo(out.getvalue(), nl=False)
    else:
        render_diff(found, f"Round {round_number}: revision {from_revision} -> {to_revision}")


def list_revisions(
    scenario: str = typer.Argument(..., help="Name of a stored scenario."),
    round_number: int | None = round_option(None, "One round only."),
    fmt: OutputFormat = format_option(),
    db: str | None = db_option(),
) -> None:
    """The revisions of a scenario's rounds: when, by whom, what changed in the supply."""
    render_revisions(_revisions(db).revisions(scenario, round_number), fmt)


def register(app: typer.Typer) -> None:
    app.command("revise")(revise)
    app.command("diff")(diff)
    app.command("revisions")(list_revisions)
