"""``doseflow report ...``: submit and import reports, export them (DHIS2, ADX, FHIR), make
data-entry templates, lock and reopen periods, and view compliance and plausibility flags.

Commands only parse options, call ``doseflow.reporting`` / ``doseflow.store.reporting`` and
print; the logic lives there. Submissions exit with status 1 when any value conflicted (so a
script notices), 2 on an unreadable file, 0 otherwise.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from doseflow.cli.console import console, err_console
from doseflow.cli.context import CONTEXT_SETTINGS
from doseflow.cli.options import (
    DB_HELP,
    as_of_option,
    db_option,
    from_option,
    participant_option,
    to_option,
)
from doseflow.cli.output import (
    OutputFormat,
    Shown,
    TableOrJson,
    emit,
    format_option,
    print_table,
    table_or_json_option,
    write_csv,
)
from doseflow.cli.output import col as column
from doseflow.cli.output import note as note_line
from doseflow.cli.vocabulary import VocabularyTyper, note_old_spelling
from doseflow.domain.errors import DoseflowError
from doseflow.domain.time_zone import local_date
from doseflow.reporting import Method
from doseflow.reporting.values import DEFAULT_ATTRIBUTE_KEY

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from sqlalchemy import Engine

    from doseflow.reporting import Hierarchy, IdSchemes, ImportSummary, Schema, SubmittedValue
    from doseflow.reporting.compliance import ComplianceRow
    from doseflow.reporting.dhis2_mapping import Dhis2Mapping
    from doseflow.reporting.registrations import ExchangeDocument, RegistrationRequest

report_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="Reports: submit, import/export (DHIS2, ADX, FHIR), templates, locks, compliance, "
    "plausibility.",
    no_args_is_help=True,
)

SCHEMA_HELP = "Schema extension file (YAML); the built-in schema when not given."
HIERARCHY_HELP = (
    "Hierarchy file (YAML): participants, regions, populations, neighbours. Default: the one "
    "stored with `doseflow report hierarchy load`, else every WPP country reports "
    "nationally, without regions or neighbours."
)
SUMMARY_FORMAT_HELP = (
    "table (the summary and its conflicts as tables) or json (the whole summary); not "
    "one table of rows, so no csv."
)
AS_OF_HELP = "The date periods are judged open or due on (YYYY-MM-DD; default today)."


def _schema(path: Path | None) -> Schema:
    from doseflow.reporting import load_schema

    return load_schema(path)


def _hierarchy(path: Path | None, engine: Engine) -> Hierarchy:
    """The file given, else the stored hierarchy, else every WPP country nationally."""
    return _hierarchy_and_origin(path, engine)[0]


def _hierarchy_and_origin(path: Path | None, engine: Engine) -> tuple[Hierarchy, str]:
    from doseflow.reporting import load_hierarchy, national_hierarchy
    from doseflow.store.reporting_hierarchy import stored_hierarchy

    if path is not None:
        return load_hierarchy(path), f"hierarchy file {path}"
    stored = stored_hierarchy(engine)
    if stored is not None:
        return stored.hierarchy, (
            f"stored hierarchy #{stored.id} ({stored.source}, loaded {stored.loaded_at:%Y-%m-%d})"
        )
    return national_hierarchy(), (
        "default hierarchy: every WPP country nationally, without regions or neighbours (give "
        "--hierarchy FILE, or store one with `doseflow report hierarchy load FILE`)"
    )


def _date(text: str | None, name: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DoseflowError(
            "REPORT_BAD_DATE",
            f"'{text}' is not a date",
            field=name,
            expected="YYYY-MM-DD",
            value=text,
        ) from None


def _print_summary(summary: ImportSummary, values: list[SubmittedValue], show: int) -> None:
    counts = summary.counts
    title = "Import summary (dry run: nothing written)" if summary.dry_run else "Import summary"
    table = Table(title=title, show_header=True)
    for name in ("status", "accepted", "updated", "ignored", "conflict", "warnings"):
        table.add_column(name, justify="right")
    table.add_row(
        summary.status.value,
        f"{counts['accepted']:,}",
        f"{counts['updated']:,}",
        f"{counts['ignored']:,}",
        f"{counts['conflict']:,}",
        f"{len(summary.warnings):,}",
    )
    print_table(table)
    if summary.atomic and summary.conflicts:
        console.print("[bold]Atomic submission with conflicts: nothing was written.[/]")
    for done in summary.completed:
        verb = "marked complete" if summary.completions_written else "not marked complete"
        console.print(
            f"{done.report} report of {done.org_unit} for {done.period}"
            + ("" if done.attribute == "default" else f" ({done.attribute})")
            + f" {verb} (completed {done.completed.isoformat()})"
        )
    for label, items in (("Conflicts", summary.conflicts), ("Warnings", summary.warnings)):
        if not items:
            continue
        t = Table(title=f"{label} ({len(items):,})", show_lines=False)
        for col in ("item", "code", "where", "element", "org unit", "period", "message"):
            t.add_column(col, overflow="fold")
        for c in items[:show]:
            v = values[c.index]
            t.add_row(
                str(c.index + 1),
                c.error.code,
                str(c.error.location) or "-",
                v.data_element,
                v.org_unit,
                v.period,
                c.error.message,
            )
        print_table(t)
        if len(items) > show:
            console.print(f"... and {len(items) - show:,} more (use --show or --format json)")


def _finish(
    summary: ImportSummary,
    values: list[SubmittedValue],
    show: int,
    as_json: bool,
    summary_format: str = "doseflow",
) -> None:
    if summary_format == "dhis2":
        from doseflow.reporting.dhis2_summary import dhis2_import_summary

        console.print_json(json.dumps(dhis2_import_summary(summary)))
    elif as_json:
        console.print_json(json.dumps(summary.to_dict()))
    else:
        _print_summary(summary, values, show)
    if summary.conflicts:
        raise typer.Exit(1)


def _submit(
    values: list[SubmittedValue],
    *,
    db: str | None,
    schema: Schema,
    hierarchy: Path | None,
    as_of: str | None,
    dry_run: bool,
    atomic: bool,
    ledger_check: bool,
    by: str | None,
    show: int,
    as_json: bool,
    data_sets: tuple[RegistrationRequest, ...] = (),
    strategy: str | None = None,
    summary_format: str = "doseflow",
) -> None:
    from doseflow.reporting.import_strategy import parse_import_strategy
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database
    from doseflow.store.reporting_ledger import StoreLedger

    the_strategy = parse_import_strategy(strategy, fld="--import-strategy")
    if summary_format not in ("doseflow", "dhis2"):
        raise DoseflowError(
            "REPORT_UNKNOWN_FORMAT",
            f"'{summary_format}' is not an import summary format",
            field="--summary-format",
            expected="doseflow or dhis2",
            value=summary_format,
        )
    from doseflow.cli.progress import phase

    engine = open_database(db)
    working = f"{'Checking' if dry_run else 'Checking and storing'} {len(values):,} values"
    try:
        with phase(err_console, working):
            summary = store.submit(
                engine,
                values,
                hierarchy=_hierarchy(hierarchy, engine),
                schema=schema,
                as_of=_date(as_of),
                dry_run=dry_run,
                atomic=atomic,
                ledger=StoreLedger(engine) if ledger_check else None,
                stored_by=by,
                data_sets=data_sets,
                strategy=the_strategy,
            )
    finally:
        engine.dispose()
    _finish(summary, values, show, as_json, summary_format)


@report_app.command("submit")
def submit_cmd(
    file: Path = typer.Argument(..., help="A filled CSV or Excel template."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
    atomic: bool = typer.Option(False, help="Write nothing if any value conflicts."),
    ledger_check: bool = typer.Option(
        True, "--ledger-check/--no-ledger-check", help="Cross-check with the stock ledger."
    ),
    as_of: str | None = as_of_option(None, AS_OF_HELP),
    by: str | None = typer.Option(None, help="Who submits (stored with each value)."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    show: int = typer.Option(20, help="Conflicts and warnings to list."),
    fmt: TableOrJson = table_or_json_option(SUMMARY_FORMAT_HELP),
    db: str | None = db_option(),
) -> None:
    """Submit a filled data-entry template (CSV or Excel); prints the import summary."""
    from doseflow.reporting import read_template

    values = read_template(file)
    _submit(
        values,
        db=db,
        schema=_schema(schema),
        hierarchy=hierarchy,
        as_of=as_of,
        dry_run=dry_run,
        atomic=atomic,
        ledger_check=ledger_check,
        by=by,
        show=show,
        as_json=fmt is TableOrJson.JSON,
    )


ID_SCHEME_HELP = "DHIS2 identifier scheme of every identifier: uid or code"
KIND_SCHEME_HELP = "Scheme of {} identifiers only (uid or code; default: --id-scheme)."


def _schemes(
    general: str | None,
    data_element: str | None,
    org_unit: str | None,
    combo: str | None,
    *,
    auto: bool,
) -> IdSchemes:
    from doseflow.reporting import IdKind, IdSchemes

    return IdSchemes.parse(
        {
            None: general,
            IdKind.DATA_ELEMENT: data_element,
            IdKind.ORG_UNIT: org_unit,
            IdKind.CATEGORY_OPTION_COMBO: combo,
        },
        auto=auto,
        names={
            None: "--id-scheme",
            IdKind.DATA_ELEMENT: "--data-element-id-scheme",
            IdKind.ORG_UNIT: "--org-unit-id-scheme",
            IdKind.CATEGORY_OPTION_COMBO: "--category-option-combo-id-scheme",
        },
    )


MAPPING_HELP = (
    "DHIS2 mapping file (YAML). Default: the one stored with `doseflow report mapping load`, "
    "else none (doseflow's codes)."
)


def _mapping_and_origin(path: Path | None, engine: Engine) -> tuple[Dhis2Mapping, str]:
    """The file given, else the stored mapping, else none; and where it came from."""
    from doseflow.reporting import load_mapping
    from doseflow.store.reporting_mapping import stored_mapping

    if path is not None:
        return load_mapping(path), f"mapping file {path}"
    stored = stored_mapping(engine)
    if stored is not None:
        return stored.mapping, stored.origin
    return load_mapping(None), (
        "no mapping: doseflow's codes (give --mapping FILE, or store one with "
        "`doseflow report mapping load FILE`)"
    )


def _mapping(path: Path | None, db: str | None) -> Dhis2Mapping:
    """The mapping to use (see :func:`_mapping_and_origin`), said on stderr."""
    from doseflow.reporting import load_mapping
    from doseflow.store.database import open_database

    if path is not None:
        found, origin = load_mapping(path), f"mapping file {path}"
    else:
        engine = open_database(db)
        try:
            found, origin = _mapping_and_origin(None, engine)
        finally:
            engine.dispose()
    err_console.print(f"mapping used: {origin}", highlight=False, soft_wrap=True, markup=False)
    return found


def _read_exchange(
    path: Path, fmt: str, m: Dhis2Mapping, schema: Schema, schemes: IdSchemes
) -> ExchangeDocument:
    from doseflow.reporting.adx import read_adx_document
    from doseflow.reporting.dhis2_json import read_data_value_set_document

    kind = fmt
    if kind == "auto":
        kind = "dhis2-json" if path.suffix.lower() == ".json" else "adx"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DoseflowError(
            "REPORT_DHIS2_JSON_INVALID" if kind == "dhis2-json" else "REPORT_ADX_INVALID",
            f"cannot read the file: {exc.strerror or exc}",
            source=str(path),
            expected="a readable file",
        ) from None
    if kind == "dhis2-json":
        return read_data_value_set_document(data, m, source=str(path), id_schemes=schemes)
    if kind == "adx":
        return read_adx_document(data, m, schema, source=str(path), id_schemes=schemes)
    raise DoseflowError(
        "REPORT_UNKNOWN_FORMAT",
        f"'{fmt}' is not an import format",
        field="--format",
        expected="auto, dhis2-json or adx",
        value=fmt,
    )


#: What ``report import`` read as ``--format`` before ``--input-format`` (the file's format).
OLD_INPUT_FORMATS = ("auto", "dhis2-json", "adx")


def _summary_format(given: str) -> TableOrJson | None:
    """``report import --format``: how to print the summary, or None for a file format
    given the old way (``--format adx``, now ``--input-format adx``)."""
    if given.lower() in OLD_INPUT_FORMATS:
        return None
    try:
        return TableOrJson(given.lower())
    except ValueError:
        raise typer.BadParameter(
            f"'{given}' is not one of 'table', 'json'", param_hint="'--format'"
        ) from None


@report_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="A DHIS2 dataValueSets JSON or ADX XML file."),
    fmt: str = typer.Option("table", "--format", help=SUMMARY_FORMAT_HELP, metavar="<table|json>"),
    input_format: str = typer.Option(
        "auto", "--input-format", help="The file's format: auto (by extension), dhis2-json or adx."
    ),
    mapping: Path | None = typer.Option(None, help=MAPPING_HELP),
    id_scheme: str = typer.Option(
        "auto", help=ID_SCHEME_HELP + ", or auto (either); a scheme the file states wins."
    ),
    data_element_id_scheme: str | None = typer.Option(
        None, help=KIND_SCHEME_HELP.format("data element")
    ),
    org_unit_id_scheme: str | None = typer.Option(None, help=KIND_SCHEME_HELP.format("org unit")),
    category_option_combo_id_scheme: str | None = typer.Option(
        None, help=KIND_SCHEME_HELP.format("category option combo")
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
    atomic: bool = typer.Option(False, help="Write nothing if any value conflicts."),
    ledger_check: bool = typer.Option(
        True, "--ledger-check/--no-ledger-check", help="Cross-check with the stock ledger."
    ),
    as_of: str | None = as_of_option(None, AS_OF_HELP),
    by: str | None = typer.Option(None, help="Who submits (stored with each value)."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    show: int = typer.Option(20, help="Conflicts and warnings to list."),
    import_strategy: str = typer.Option(
        "CREATE_AND_UPDATE",
        "--import-strategy",
        help="DHIS2 importStrategy: CREATE_AND_UPDATE, CREATE, UPDATE or DELETE.",
    ),
    summary_format: str = typer.Option(
        "doseflow",
        "--summary-format",
        help="doseflow (as --format says) or dhis2 (DHIS2's ImportSummary JSON).",
    ),
    db: str | None = db_option(),
) -> None:
    """Import a DHIS2 dataValueSets JSON or ADX XML file; prints the import summary."""
    summary_as = _summary_format(fmt)
    if summary_as is None:  # the old --format FILE-FORMAT
        note_old_spelling(f"--format {fmt}", f"--input-format {fmt}")
        input_format, summary_as = fmt, TableOrJson.TABLE
    the_schema = _schema(schema)
    schemes = _schemes(
        id_scheme,
        data_element_id_scheme,
        org_unit_id_scheme,
        category_option_combo_id_scheme,
        auto=True,
    )
    from doseflow.cli.progress import phase

    the_mapping = _mapping(mapping, db)
    with phase(err_console, f"Reading {file}"):
        doc = _read_exchange(file, input_format, the_mapping, the_schema, schemes)
    _submit(
        doc.values,
        db=db,
        schema=the_schema,
        hierarchy=hierarchy,
        as_of=as_of,
        dry_run=dry_run,
        atomic=atomic,
        ledger_check=ledger_check,
        by=by,
        show=show,
        as_json=summary_as is TableOrJson.JSON,
        data_sets=doc.data_sets,
        strategy=import_strategy,
        summary_format=summary_format,
    )


@report_app.command("export")
def export_cmd(
    fmt: str = typer.Option(
        ..., "--format", help="dhis2-json, adx, fhir (MeasureReport) or fhir-shipments."
    ),
    out: Path | None = typer.Option(None, help="Output file (default: print)."),
    participant: list[str] | None = participant_option(
        None, "Only these participants (repeatable)."
    ),
    period: list[str] | None = typer.Option(None, help="Only these periods (repeatable)."),
    start: str | None = from_option(None, "Only periods starting on or after (YYYY-MM-DD)."),
    end: str | None = to_option(None, "Only periods starting on or before (YYYY-MM-DD)."),
    mapping: Path | None = typer.Option(None, help=MAPPING_HELP),
    id_scheme: str | None = typer.Option(
        None,
        help=ID_SCHEME_HELP + " (default: uid for DHIS2 JSON, code for ADX; uid needs a UID "
        "in the mapping for each).",
    ),
    data_element_id_scheme: str | None = typer.Option(
        None, help=KIND_SCHEME_HELP.format("data element")
    ),
    org_unit_id_scheme: str | None = typer.Option(None, help=KIND_SCHEME_HELP.format("org unit")),
    category_option_combo_id_scheme: str | None = typer.Option(
        None, help=KIND_SCHEME_HELP.format("category option combo")
    ),
    bundle_type: str = typer.Option(
        "collection", "--bundle-type", help="FHIR Bundle type: collection or transaction."
    ),
    method: str = typer.Option(
        "PUT", "--method", help="FHIR transaction entries: PUT <Type>/<id> or conditional POST."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="FHIR server base: fullUrls <base>/<Type>/<id> (default urn:uuid)."
    ),
    product_codes: Path | None = typer.Option(
        None, "--product-codes", help="CSV of product CVX/GTIN codes (default: the bundled one)."
    ),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    db: str | None = db_option(),
) -> None:
    """Export stored values (DHIS2 JSON, ADX, FHIR MeasureReport) or ledger shipments (FHIR
    SupplyDelivery)."""
    from doseflow.reporting import (
        MEDIA_TYPE,
        bundle_json,
        measure_reports,
        supply_deliveries,
        write_adx,
        write_data_value_set,
    )
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database
    from doseflow.store.reporting_ledger import ledger_nodes, shipment_records

    the_schema = _schema(schema)
    schemes = _schemes(
        id_scheme,
        data_element_id_scheme,
        org_unit_id_scheme,
        category_option_combo_id_scheme,
        auto=False,
    )
    engine = open_database(db)
    try:
        if fmt == "fhir-shipments":
            from doseflow.data.product_codes import load_product_codes

            resources = supply_deliveries(
                shipment_records(engine),
                nodes=ledger_nodes(engine),
                codes=load_product_codes(product_codes),
                base_url=base_url,
            )
            text = bundle_json(resources, bundle_type=bundle_type, method=method, base_url=base_url)
        else:
            values = store.load_values(
                engine,
                participants=participant or None,
                periods=period or None,
                start=_date(start, "--from"),
                end=_date(end, "--to"),
            )
            done = store.stored_registrations(engine)
            if fmt in ("dhis2-json", "adx"):
                the_mapping, origin = _mapping_and_origin(mapping, engine)
                err_console.print(
                    f"mapping used: {origin}", highlight=False, soft_wrap=True, markup=False
                )
            if fmt == "dhis2-json":
                text = write_data_value_set(
                    values,
                    the_mapping,
                    id_schemes=schemes,
                    registrations=done,
                    schema=the_schema,
                )
            elif fmt == "adx":
                text = write_adx(
                    values, the_mapping, the_schema, registrations=done, id_schemes=schemes
                )
            elif fmt == "fhir":
                resources = measure_reports(
                    values, the_schema, base_url=base_url, hierarchy=_hierarchy(hierarchy, engine)
                )
                text = bundle_json(
                    resources, bundle_type=bundle_type, method=method, base_url=base_url
                )
            else:
                raise DoseflowError(
                    "REPORT_UNKNOWN_FORMAT",
                    f"'{fmt}' is not an export format",
                    field="--format",
                    expected="dhis2-json, adx, fhir or fhir-shipments",
                    value=fmt,
                )
    finally:
        engine.dispose()
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}")
    if fmt.startswith("fhir"):
        err_console.print(f"FHIR R4: send it as Content-Type: {MEDIA_TYPE}", markup=False)


@report_app.command("template")
def template_cmd(
    participant: str = participant_option(..., "The participant the template is for."),
    report: str = typer.Option(..., help="Report type (see `doseflow report schema`)."),
    period: str = from_option(..., "First period (e.g. 2021W38 or 202109).", "--period"),
    to: str | None = to_option(None, "Last period (default: the first)."),
    out: Path = typer.Option(..., help="Output file: .xlsx (Excel) or .csv."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    db: str | None = db_option(DB_HELP + " Read for its hierarchy."),
) -> None:
    """Write a data-entry template (one row per figure owed) for a participant."""
    from doseflow.reporting import (
        load_hierarchy,
        national_hierarchy,
        parse_period,
        periods_between,
        template_rows,
        write_csv_template,
        write_excel_template,
    )
    from doseflow.store.database import database_exists, open_database

    the_schema = _schema(schema)
    first = parse_period(period, "--from")
    last = parse_period(to, "--to") if to else first
    if last.type is not first.type:
        raise DoseflowError(
            "REPORT_BAD_PERIOD",
            "--from and --to are not the same kind of period",
            field="--to",
            expected=f"a {first.type.value} period",
            value=to,
        )
    if hierarchy is not None:
        the_hierarchy = load_hierarchy(hierarchy)
    elif not database_exists(db):  # nothing stored: do not create a database to find out
        the_hierarchy = national_hierarchy()
    else:
        engine = open_database(db)
        try:
            the_hierarchy = _hierarchy(None, engine)
        finally:
            engine.dispose()
    rows = template_rows(
        participant, report, periods_between(first, last), the_schema, the_hierarchy
    )
    if out.suffix.lower() == ".csv":
        out.write_text(write_csv_template(rows), encoding="utf-8")
    elif out.suffix.lower() == ".xlsx":
        title = f"{participant}: {the_schema.report_types[report].name}, {first.code}" + (
            f" to {last.code}" if last != first else ""
        )
        write_excel_template(rows, out, the_schema, title=title)
    else:
        raise DoseflowError(
            "REPORT_TEMPLATE_INVALID",
            f"cannot write a template as '{out.suffix}'",
            field="--out",
            expected="a file name ending in .xlsx or .csv",
            value=str(out),
        )
    console.print(f"wrote {out}: {len(rows):,} rows to fill (column 'value')")


@report_app.command("schema")
def schema_cmd(
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    fmt: OutputFormat = format_option(),
) -> None:
    """List report types and data elements."""
    from doseflow.reporting.values import format_number

    def bound(value: float | None) -> Shown:
        return Shown(value, "" if value is None else format_number(value))

    the_schema = _schema(schema)
    rows = []
    for e in sorted(the_schema.elements.values(), key=lambda x: (x.report, x.code)):
        rt = the_schema.report_types[e.report]
        rows.append(
            (
                e.report,
                "/".join(p.value for p in rt.period_types),
                e.code,
                e.name,
                Shown(",".join(e.categories), ", ".join(e.categories) or "-"),
                bound(e.minimum),
                bound(e.maximum),
                e.role.value if e.role else None,
            )
        )
    emit(
        [
            column("report"),
            column("periods"),
            column("element"),
            column("name"),
            column("categories"),
            column("minimum", numeric=True),
            column("maximum", numeric=True),
            column("role"),
        ],
        rows,
        fmt,
        title="Data elements",
    )


@report_app.command("lock")
def lock_cmd(
    participant: str = participant_option(..., "Participant code."),
    report: str = typer.Option(..., help="Report type."),
    period: str = typer.Option(..., help="Period (e.g. 2021W38 or 202109)."),
    by: str = typer.Option(..., help="Who approves and locks."),
    note: str | None = typer.Option(None, help="A note for the audit trail."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    db: str | None = db_option(),
) -> None:
    """Lock an approved report for a period: later values are refused until it is reopened."""
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        lock = store.lock_period(
            engine, participant, report, period, by=by, note=note, schema=_schema(schema)
        )
    finally:
        engine.dispose()
    console.print(f"locked {lock.report} report of {lock.participant} for {lock.period}")


@report_app.command("reopen")
def reopen_cmd(
    participant: str = participant_option(..., "Participant code."),
    report: str = typer.Option(..., help="Report type."),
    period: str = typer.Option(..., help="Period (e.g. 2021W38 or 202109)."),
    by: str = typer.Option(..., help="Who reopens."),
    reason: str = typer.Option(..., help="Why (kept in the audit trail)."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    db: str | None = db_option(),
) -> None:
    """Reopen a locked period for correction (audited, with a reason)."""
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        event = store.reopen_period(
            engine, participant, report, period, by=by, reason=reason, schema=_schema(schema)
        )
    finally:
        engine.dispose()
    console.print(f"reopened {event.report} report of {event.participant} for {event.period}")


@report_app.command("complete")
def complete_cmd(
    org_unit: str = typer.Option(
        ..., "--org-unit", help="Org unit (the participant's code or a region)."
    ),
    report: str = typer.Option(..., help="Report type (DHIS2: the data set)."),
    period: str = typer.Option(..., help="Period (e.g. 2021W38 or 202109)."),
    completed: str | None = as_of_option(None, "Completion date (YYYY-MM-DD; default today)."),
    attribute: str = typer.Option(DEFAULT_ATTRIBUTE_KEY, help="Attribute option combo key."),
    by: str | None = typer.Option(None, help="Who marks it complete."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    db: str | None = db_option(),
) -> None:
    """Mark a report complete (DHIS2's complete data set registration): compliance then
    judges it by this date rather than by when its values arrived."""
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        done = store.register_complete(
            engine,
            org_unit,
            report,
            period,
            hierarchy=_hierarchy(hierarchy, engine),
            completed=_date(completed, "--as-of"),
            attribute=attribute,
            by=by,
            schema=_schema(schema),
        )
    finally:
        engine.dispose()
    console.print(
        f"{done.report} report of {done.org_unit} for {done.period} marked complete on "
        f"{done.completed.isoformat()}"
    )


@report_app.command("incomplete")
def incomplete_cmd(
    org_unit: str = typer.Option(..., "--org-unit", help="Org unit."),
    report: str = typer.Option(..., help="Report type (DHIS2: the data set)."),
    period: str = typer.Option(..., help="Period (e.g. 2021W38 or 202109)."),
    attribute: str = typer.Option(DEFAULT_ATTRIBUTE_KEY, help="Attribute option combo key."),
    db: str | None = db_option(),
) -> None:
    """Remove a report's completion: it counts by its values again."""
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        removed = store.unregister_complete(engine, org_unit, report, period, attribute=attribute)
    finally:
        engine.dispose()
    if removed:
        console.print(f"{report} report of {org_unit} for {period} is no longer marked complete")
    else:
        console.print(f"{report} report of {org_unit} for {period} was not marked complete")


@report_app.command("locks")
def locks_cmd(
    participant: str | None = participant_option(None, "Only this participant."),
    fmt: OutputFormat = format_option(
        "table (locked periods, then the audit trail), csv or json (the locked periods)."
    ),
    db: str | None = db_option(),
) -> None:
    """Show locked periods and the audit trail of locks and reopenings."""
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        held = store.period_locks(engine, participant)
        history = store.lock_history(engine, participant)
    finally:
        engine.dispose()
    emit(
        [
            column("participant"),
            column("report"),
            column("period"),
            column("locked by"),
            column("locked at"),
            column("note", text=lambda v: v or ""),
        ],
        [
            (
                lock.participant,
                lock.report,
                lock.period,
                lock.locked_by,
                Shown(lock.locked_at.isoformat(), f"{lock.locked_at:%Y-%m-%d %H:%M}"),
                lock.note,
            )
            for lock in sorted(held.values(), key=lambda x: x.key)
        ],
        fmt,
        title=f"Locked periods ({len(held)})",
    )
    if fmt is not OutputFormat.TABLE:
        return
    emit(
        [
            column("at"),
            column("action"),
            column("participant"),
            column("report"),
            column("period"),
            column("by"),
            column("reason", text=lambda v: v or ""),
        ],
        [
            (
                Shown(e.at.isoformat(), f"{e.at:%Y-%m-%d %H:%M}"),
                e.action.value,
                e.participant,
                e.report,
                e.period,
                e.actor,
                e.reason,
            )
            for e in history
        ],
        title="Audit trail",
    )


@report_app.command("require")
def require_cmd(
    file: Path = typer.Argument(..., help="Requirements file (YAML)."),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    db: str | None = db_option(),
) -> None:
    """Store reporting requirements (replacing those of the same participant and report)."""
    from doseflow.reporting import load_requirements
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    reqs = load_requirements(file, _schema(schema))
    engine = open_database(db)
    try:
        n = store.save_requirements(engine, reqs)
    finally:
        engine.dispose()
    console.print(f"stored {n} requirement(s)")


_STATUS_STYLE = {"on_time": "green", "late": "yellow", "missing": "bold red", "not_due": "dim"}


def _submitted_label(row: ComplianceRow) -> str:
    """When a report arrived: the completion's day (in the participant's zone) for a
    registration, the first values' instant (UTC) otherwise."""
    from doseflow.data.time_zones import load_zone

    if row.submitted_at is None:
        return ""
    if row.basis.value == "registration":
        return f"{local_date(row.submitted_at, load_zone(row.time_zone)):%Y-%m-%d}"
    return f"{row.submitted_at:%Y-%m-%d %H:%M} UTC"


_BASIS_LABEL = {
    "registration": "marked complete",
    "values": "values present (not marked complete)",
    "none": "",
}


@report_app.command("compliance")
def compliance_cmd(
    participant: str | None = participant_option(None, "Only this participant."),
    as_of: str | None = as_of_option(None, AS_OF_HELP),
    detail: bool = typer.Option(False, help="List every owed period, not just the totals."),
    gate: bool = typer.Option(False, help="Apply the readiness gate and show pass/fail."),
    lookback: int = typer.Option(4, help="Gate: owed periods looked at, per report."),
    max_missing: int = typer.Option(0, help="Gate: missing reports allowed."),
    max_late: int | None = typer.Option(None, help="Gate: late reports allowed (default any)."),
    hierarchy: Path | None = typer.Option(
        None,
        help="Hierarchy file whose participants' time_zone judges due dates (default: each "
        "country's default zone).",
    ),
    fmt: OutputFormat = format_option(
        "table (totals, owed periods with --detail, readiness gate), csv or json (the totals, "
        "or with --detail the owed periods; the gate goes to stderr)."
    ),
    db: str | None = db_option(),
) -> None:
    """Which reports came on time, late, or not at all (and the readiness gate). Days are
    the participant's, in its time zone (shown with each due date)."""
    from doseflow.reporting import GatePolicy
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    today = _date(as_of) or datetime.now().date()
    engine = open_database(db)
    try:
        # the file, else the stored hierarchy
        zones = _hierarchy(hierarchy, engine).participant_zones()
        rows = store.compliance_view(engine, today, participant, zones)
        wanted = sorted({r.participant for r in store.stored_requirements(engine, participant)})
        results = store.readiness(
            engine,
            wanted,
            GatePolicy(
                enabled=gate, lookback_periods=lookback, max_missing=max_missing, max_late=max_late
            ),
            today,
            zones,
        )
    finally:
        engine.dispose()
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        tally = totals.setdefault((r.participant, r.report), dict.fromkeys(_STATUS_STYLE, 0))
        tally[r.status.value] += 1
    machine = fmt is not OutputFormat.TABLE
    if not (machine and detail):
        emit(
            [
                column("participant"),
                column("report"),
                column("on time", True),
                column("late", True),
                column("missing", True),
                column("not yet due", True),
            ],
            [
                (
                    p,
                    rep,
                    tally["on_time"],
                    Shown(tally["late"], f"[yellow]{tally['late']}[/]" if tally["late"] else "0"),
                    Shown(
                        tally["missing"],
                        f"[bold red]{tally['missing']}[/]" if tally["missing"] else "0",
                    ),
                    tally["not_due"],
                )
                for (p, rep), tally in sorted(totals.items())
            ],
            fmt,
            title=f"Reporting compliance as of {today.isoformat()}",
        )
    bases = {r.basis.value for r in rows if r.submitted_at is not None}
    if "values" in bases:
        note_line(
            "Reports not marked complete count as submitted when their first values arrived "
            "(--detail shows the basis of each).",
            fmt,
        )
    if detail:
        emit(
            [
                column("participant"),
                column("report"),
                column("period"),
                column("due (local)", key="due"),
                column("time zone", in_table=False),
                column("submitted"),
                column("basis"),
                column("status"),
                column("days late", True, in_table=False),
            ],
            [
                (
                    r.participant,
                    r.report,
                    r.period.code,
                    Shown(r.due, f"{r.due.isoformat()} ({r.time_zone})"),
                    r.time_zone,
                    Shown(
                        r.submitted_at.isoformat() if r.submitted_at else None, _submitted_label(r)
                    ),
                    Shown(r.basis.value, _BASIS_LABEL[r.basis.value]),
                    Shown(
                        r.status.value,
                        f"[{_STATUS_STYLE[r.status.value]}]{r.status.value}"
                        + (f" ({r.days_late} d)" if r.days_late else "")
                        + "[/]",
                    ),
                    r.days_late,
                )
                for r in rows
            ],
            fmt,
            title="Owed periods",
        )
    if machine:
        for p, res in sorted(results.items()):
            passed = "passes" if res.passed else "fails"
            reasons = "; ".join(res.reasons)
            note_line(f"readiness gate: {p} {passed}" + (f": {reasons}" if reasons else ""), fmt)
        return
    g = Table(title="Readiness gate" + ("" if gate else " (off: use --gate)"))
    for col in ("participant", "passes", "reasons"):
        g.add_column(col, overflow="fold")
    for p, res in sorted(results.items()):
        g.add_row(p, "[green]yes[/]" if res.passed else "[bold red]no[/]", "; ".join(res.reasons))
    print_table(g)


@report_app.command("plausibility")
def plausibility_cmd(
    participant: list[str] | None = participant_option(
        None, "Only these participants (repeatable)."
    ),
    method: list[Method] | None = typer.Option(None, help="Only these methods (repeatable)."),
    hierarchy: Path | None = typer.Option(None, help=HIERARCHY_HELP),
    schema: Path | None = typer.Option(None, help=SCHEMA_HELP),
    alpha: float = typer.Option(0.01, help="beta_binomial_positivity: flag when P is below this."),
    z: float = typer.Option(3.5, help="robust_z_score: flag when |z| is above this."),
    fmt: OutputFormat = format_option(
        "table, csv (one row per flag, its figures left out) or json (every flag with its figures)."
    ),
    db: str | None = db_option(),
) -> None:
    """Plausibility flags over stored values, strongest first, each with its method."""
    from doseflow.reporting import PlausibilityOptions
    from doseflow.store import reporting as store
    from doseflow.store.database import open_database

    options = PlausibilityOptions(
        positivity_alpha=alpha,
        z_threshold=z,
        methods=frozenset(method) if method else frozenset(Method),
    )
    engine = open_database(db)
    try:
        the_hierarchy, origin = _hierarchy_and_origin(hierarchy, engine)
        report = store.plausibility(
            engine,
            the_hierarchy,
            schema=_schema(schema),
            participants=participant or None,
            options=options,
        )
    finally:
        engine.dispose()
    flags = report.flags
    for note in report.notes:
        err_console.print(f"[yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    if report.notes:
        err_console.print(f"hierarchy used: {origin}", highlight=False, soft_wrap=True)
    if fmt is OutputFormat.JSON:
        console.print_json(json.dumps([f.to_dict() for f in flags]))
        return
    if fmt is OutputFormat.CSV:
        keys: tuple[str, ...] = ("strength", "method", "participant", "org_unit")
        keys += ("data_element", "first_period", "last_period", "score", "explanation")
        dicts = [f.to_dict() for f in flags]
        write_csv([column(k) for k in keys], [[d[k] for k in keys] for d in dicts], console.file)
        return
    t = Table(title=f"Plausibility flags ({len(flags)})", show_lines=True)
    for col in ("strength", "method", "participant", "org unit", "periods", "explanation"):
        t.add_column(col, overflow="fold", min_width=60 if col == "explanation" else None)
    style = {"high": "bold red", "medium": "yellow", "low": "dim"}
    for f in flags:
        periods = (
            f.first_period
            if f.first_period == f.last_period
            else (f"{f.first_period}–{f.last_period}")
        )
        t.add_row(
            f"[{style[f.strength.value]}]{f.strength.value}[/]",
            f.method.value,
            f.participant,
            f.org_unit,
            periods,
            f.explanation,
        )
    print_table(t)


hierarchy_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="The stored hierarchy, used by every reporting command not given --hierarchy.",
    no_args_is_help=True,
)
report_app.add_typer(hierarchy_app, name="hierarchy")


@hierarchy_app.command("load")
def hierarchy_load_cmd(
    file: Path = typer.Argument(..., help="Hierarchy file (YAML)."),
    by: str | None = typer.Option(None, help="Who loads it (kept with it)."),
    db: str | None = db_option(),
) -> None:
    """Check a hierarchy file and store it: later commands use it when not given one."""
    from doseflow.store.database import open_database
    from doseflow.store.reporting_hierarchy import load_hierarchy_file

    engine = open_database(db)
    try:
        stored = load_hierarchy_file(engine, file, by)
    finally:
        engine.dispose()
    h = stored.hierarchy
    with_neighbours = sum(1 for p in h.participants() if h.neighbours_of(p))
    console.print(
        f"stored hierarchy #{stored.id} from {file}: {len(h.participants())} participants, "
        f"{with_neighbours} with neighbours"
    )


@hierarchy_app.command("show")
def hierarchy_show_cmd(db: str | None = db_option()) -> None:
    """Which hierarchy reporting commands use when not given --hierarchy."""
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        _, origin = _hierarchy_and_origin(None, engine)
    finally:
        engine.dispose()
    console.print(origin)


mapping_app = VocabularyTyper(
    context_settings=CONTEXT_SETTINGS,
    help="The stored DHIS2 mapping, used by /api/dataValueSets and by `report import/export` "
    "when not given --mapping.",
    no_args_is_help=True,
)
report_app.add_typer(mapping_app, name="mapping")


@mapping_app.command("load")
def mapping_load_cmd(
    file: Path = typer.Argument(..., help="DHIS2 mapping file (YAML)."),
    by: str | None = typer.Option(None, help="Who loads it (kept with it)."),
    db: str | None = db_option(),
) -> None:
    """Check a DHIS2 mapping file and store it: the DHIS2 endpoint and later imports and
    exports use it when not given one."""
    from doseflow.store.database import open_database
    from doseflow.store.reporting_mapping import load_mapping_file

    engine = open_database(db)
    try:
        stored = load_mapping_file(engine, file, by)
    finally:
        engine.dispose()
    m = stored.mapping
    console.print(
        f"stored mapping #{stored.id} from {file}: {len(m.data_sets)} data sets, "
        f"{len(m.data_elements)} data elements, {len(m.org_units)} org units",
        highlight=False,
    )


@mapping_app.command("show")
def mapping_show_cmd(db: str | None = db_option()) -> None:
    """Which DHIS2 mapping the endpoint and imports/exports use when not given --mapping."""
    from doseflow.store.database import open_database

    engine = open_database(db)
    try:
        _, origin = _mapping_and_origin(None, engine)
    finally:
        engine.dispose()
    console.print(origin, highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


# -- demo ------------------------------------------------------------------------------------

#: The date the demo judges the example's periods open on: the Monday after its last week
#: (2021W38), as in docs/reporting.md's example.
DEMO_AS_OF = date(2021, 9, 27)


def demo_reporting(engine: Engine, out: Console, example: Callable[[str], Path]) -> None:
    """The demo's reporting step: store the example hierarchy and requirements, and import
    the example surveillance (PRK weekly, with its neighbours' figures) as ``doseflow report
    import`` does. Idempotent: the hierarchy is stored only if the one in force differs, the
    requirements replace themselves, and values already stored are not submitted again."""
    import hashlib

    from doseflow.reporting import load_requirements, load_schema
    from doseflow.reporting.dhis2_json import read_data_value_set_document
    from doseflow.reporting.dhis2_mapping import load_mapping
    from doseflow.store import reporting as store
    from doseflow.store.reporting_hierarchy import save_hierarchy, stored_hierarchy
    from doseflow.store.reporting_ledger import StoreLedger

    hierarchy_file = example("reporting_hierarchy.yaml")
    text = hierarchy_file.read_text(encoding="utf-8")
    current = stored_hierarchy(engine)
    if current is None or current.sha256 != hashlib.sha256(text.encode("utf-8")).hexdigest():
        current = save_hierarchy(engine, text, str(hierarchy_file), by="demo")
    hierarchy = current.hierarchy
    schema = load_schema(None)
    requirements = load_requirements(example("reporting_requirements.yaml"), schema)
    if store.stored_requirements(engine) != sorted(
        requirements, key=lambda r: (r.participant, r.report)
    ):
        store.save_requirements(engine, requirements)
    source = example("reporting_prk_surveillance.json")
    doc = read_data_value_set_document(source.read_bytes(), load_mapping(None), source=str(source))

    def submit(dry_run: bool) -> ImportSummary:
        return store.submit(
            engine,
            doc.values,
            hierarchy=hierarchy,
            schema=schema,
            as_of=DEMO_AS_OF,
            dry_run=dry_run,
            ledger=StoreLedger(engine),
            stored_by="demo",
            data_sets=doc.data_sets,
        )

    summary = submit(dry_run=True)
    if summary.counts["accepted"] or summary.counts["updated"]:
        summary = submit(dry_run=False)
        verb = f"{summary.counts['accepted'] + summary.counts['updated']:,} stored"
    else:
        verb = "already stored"
    participants = sorted({v.org_unit for v in doc.values})
    out.print(
        f"Reporting: {len(participants)} participants' weekly surveillance from {source.name} "
        f"({len(doc.values):,} values, {verb}; {len(summary.conflicts):,} conflicts); "
        f"hierarchy #{current.id} with {len(hierarchy.participants())} participants; "
        f"{len(requirements)} reporting requirements.",
        highlight=False,
        markup=False,
    )
    flags = store.plausibility(engine, hierarchy).flags
    out.print(
        f"{len(flags):,} plausibility flags; try `doseflow report plausibility` or "
        "`doseflow report compliance`.",
        highlight=False,
        markup=False,
    )
