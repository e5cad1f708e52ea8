"""The options every command shares, declared once: the vocabulary of docs/cli.md.

A command takes a participant, a point in time, a range, a round or a product through these
functions, never through a ``typer.Option`` of its own, so the name, the old spellings
(:data:`doseflow.cli.vocabulary.OLD_SPELLINGS`) and how a value is read are the same
everywhere: a participant's ISO3 code in any case (``ken`` is ``KEN``), a product by its code
or any known alias (``PFIZER-BNT`` is ``PFIZER``: :func:`doseflow.data.product_codes.
canonical_product`). Each takes the command's own help text, as :func:`doseflow.cli.output.
format_option` does, because what the value means differs ("stock as of", "arrived at").

Typer only at import: the product table is read when a product is given.
"""

from __future__ import annotations

from typing import Any, TypeVar

import typer

from doseflow.cli.vocabulary import OLD_SPELLINGS

T = TypeVar("T")

DB_HELP = "SQLite file or URL, or a PostgreSQL URL (default: $DOSEFLOW_DB or doseflow.sqlite)."


def _names(name: str) -> tuple[str, ...]:
    """The vocabulary's ``name`` followed by its old spellings (hidden in help)."""
    return (name, *OLD_SPELLINGS.get(name, ()))


def _upper(value: Any) -> Any:
    """ISO3 codes are upper case; a user may type them in any case."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v).strip().upper() for v in value]
    return str(value).strip().upper()


def _canonical(value: Any) -> Any:
    """A product named by an alias is its canonical code (same results either way)."""
    if value is None:
        return None
    from doseflow.data.product_codes import canonical_product

    if isinstance(value, (list, tuple)):
        return [canonical_product(str(v)) for v in value]
    return canonical_product(str(value))


def db_option(help_text: str = DB_HELP) -> Any:
    """``--db``: the database a command reads or writes (default: ``$DOSEFLOW_DB``, else
    ``doseflow.sqlite``)."""
    return typer.Option(None, "--db", help=help_text)


def participant_option(default: Any, help_text: str) -> Any:
    """``--participant``: a participant (country) by ISO3 code; old: ``--iso3``, ``--country``."""
    return typer.Option(default, *_names("--participant"), help=help_text, callback=_upper)


def as_of_option(default: Any, help_text: str) -> Any:
    """``--as-of``: a point in time (a date or a date-time); old: ``--at``, ``--today``."""
    return typer.Option(default, *_names("--as-of"), help=help_text)


def from_option(default: Any, help_text: str, *old: str) -> Any:
    """``--from``: where a range starts (inclusive); old: ``--start``, or the spellings
    ``old`` names (``--period``, a report template's first period: ``report export`` has a
    ``--period`` of its own, so it is not an old spelling everywhere)."""
    return typer.Option(default, "--from", *(old or ("--start",)), help=help_text)


def to_option(default: Any, help_text: str) -> Any:
    """``--to``: where a range ends (inclusive); old: ``--end``."""
    return typer.Option(default, *_names("--to"), help=help_text)


def round_option(default: Any, help_text: str) -> Any:
    """``--round``: an allocation round by number."""
    return typer.Option(default, *_names("--round"), help=help_text, min=1)


def product_option(default: Any, help_text: str, *short: str) -> Any:
    """``--product``: a product by its code or a known alias, read as the canonical code."""
    return typer.Option(default, *_names("--product"), *short, help=help_text, callback=_canonical)


def old_positional_product() -> Any:
    """A product given by position (``ledger card NODE PRODUCT``), the old form of
    ``--product``: read as ``--product`` is, hidden in help."""
    return typer.Argument(None, metavar="PRODUCT", hidden=True, callback=_canonical)


def node_option(default: Any, help_text: str) -> Any:
    """``--node``: a node of the network (a store, a hub) by its code."""
    return typer.Option(default, "--node", help=help_text)


def old_positional(metavar: str) -> Any:
    """A value given by position, as a command took it before the vocabulary's option
    (``ship plan SCENARIO ROUND``, ``explain ISO3``): still read, hidden in help. Pair it
    with :func:`option_or_position`."""
    return typer.Argument(None, metavar=metavar, hidden=True)


def old_positional_participant() -> Any:
    """A participant given by position (``explain ISO3``), the old form of ``--participant``."""
    return typer.Argument(None, metavar="ISO3", hidden=True, callback=_upper)


def option_or_position(option: T | None, positional: T | None, name: str) -> T:
    """The value given by the option ``name`` or, in the old form, by position; one of
    them is required (a note on stderr when the old form is used)."""
    if option is not None and positional is not None and option != positional:
        raise typer.BadParameter(
            f"{positional} given by position and {option} by {name}: give one",
            param_hint=f"'{name}'",
        )
    if option is not None:
        return option
    if positional is None:
        raise typer.BadParameter(f"missing: give {name}", param_hint=f"'{name}'")
    from doseflow.cli.console import err_console

    err_console.print(
        f"note: giving it by position is the old form of {name}; it still works, "
        f"{name} is the way to give it",
        highlight=False,
        markup=False,
    )
    return positional
