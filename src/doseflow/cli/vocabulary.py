"""The command line's one vocabulary, and the old spellings it still understands.

One concept has one option name in every command (docs/cli.md lists them): a participant is
``--participant``, a point in time ``--as-of``, a range ``--from``/``--to``, a round
``--round``, a product ``--product``. Commands written before the vocabulary spelt some of
them differently (``--iso3``, ``--country``, ``--at``, ``--today``, ``--start``, ``--end``);
those spellings keep working so that scripts do not break, but help shows only the
vocabulary's name, and using an old one prints a one-line note on stderr.

How: an option declares its name first and its old spellings after it
(:mod:`doseflow.cli.options` does so from :data:`OLD_SPELLINGS`). :class:`VocabularyCommand`
takes the old spellings out of the option's visible names (so help, usage and error
messages show the new name alone) and gives them to the parser as further names of the same
option (so the value lands in the same parameter). An old flag that meant an option and its
value (``--json``, now ``--format json``: :data:`OLD_FLAGS`) is spelt out before parsing, on
every command that takes the option, so it gives the same bytes as the new form. Every Typer
app of the command line is a :class:`VocabularyTyper`, whose commands are vocabulary commands
by default.

This module imports Typer and the console only: ``doseflow --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import typer
from typer.core import TyperCommand, TyperOption

#: Each name of the vocabulary -> the spellings commands used for it before. An old spelling
#: is hidden only on an option that declares it after the vocabulary's name (``--to`` is the
#: end of a range, and the old spelling of ``--recipients`` on ``allocate decline``).
OLD_SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "--participant": ("--iso3", "--country"),
    "--as-of": ("--at", "--today", "--date"),
    "--from": ("--start", "--period"),
    "--to": ("--end",),
    "--recipients": ("--to",),
    "--destination": ("--to",),
}


def old_spellings_of(opts: list[str]) -> list[str]:
    """The names among ``opts`` (an option's names, first the visible one) that are old
    spellings of the first."""
    if not opts:
        return []
    old = OLD_SPELLINGS.get(opts[0], ())
    return [name for name in opts[1:] if name in old]


#: Flags that were an option and its value before the vocabulary: ``--json`` is
#: ``--format json`` on every command that takes ``--format``.
OLD_FLAGS: Mapping[str, tuple[str, str]] = {"--json": ("--format", "json")}


def note_old_spelling(old: str, new: str) -> None:
    """The one-line note on stderr (never stdout: CSV and JSON output stay as they were)."""
    from doseflow.cli.console import err_console

    err_console.print(
        f"note: {old} is the old spelling of {new}; it still works, {new} is the name to use",
        highlight=False,
        markup=False,
    )


class VocabularyCommand(TyperCommand):
    """A command whose options show the vocabulary's names and still parse the old ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: option name -> (its old spellings, its visible name)
        self.old_names: dict[str, tuple[list[str], str]] = {}
        for param in self.params:
            if isinstance(param, TyperOption) and param.name:
                old = old_spellings_of(param.opts)
                if old:
                    param.opts = [name for name in param.opts if name not in old]
                    self.old_names[param.name] = (old, param.opts[0])

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        for param in self.get_params(ctx):
            if isinstance(param, TyperOption) and param.name in self.old_names:
                old, _ = self.old_names[param.name]
                parser.add_option(
                    obj=param,
                    opts=old,
                    dest=param.name,
                    action="append" if param.multiple else "store",
                    nargs=param.nargs,
                )
        return parser

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line without hidden arguments (an old positional form, kept working)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not (param.param_type_name == "argument" and getattr(param, "hidden", False)):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        spelt = {old: new for old_list, new in self.old_names.values() for old in old_list}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name in spelt:
                note_old_spelling(name, spelt[name])
        result: list[str] = super().parse_args(ctx, self._flags_spelt_out(args))
        return result

    def _flags_spelt_out(self, args: list[str]) -> list[str]:
        """``args`` with each old flag (``--json``) replaced by the option and value it
        means (``--format json``), where the command takes that option and no such flag."""
        names = {name for param in self.params for name in getattr(param, "opts", ())}
        out: list[str] = []
        for n, arg in enumerate(args):
            if arg == "--":
                return out + args[n:]
            flag = OLD_FLAGS.get(arg)
            if flag is not None and arg not in names and flag[0] in names:
                note_old_spelling(arg, " ".join(flag))
                out.extend(flag)
            else:
                out.append(arg)
        return out


class VocabularyTyper(typer.Typer):
    """A Typer app whose commands are :class:`VocabularyCommand` unless told otherwise."""

    def command(  # type: ignore[override]
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return super().command(name, cls=cls or VocabularyCommand, **kwargs)
