"""Rich consoles and error rendering shared by every command."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from doseflow.domain.errors import DoseflowError
from doseflow.domain.limits import MAX_REPORTED_ERRORS

console = Console()
err_console = Console(stderr=True)


def print_error(err: DoseflowError) -> None:
    """Print the problems of ``err`` on stderr, one line each, code first: the first
    :data:`MAX_REPORTED_ERRORS` (as the service answers), then how many more there were.
    A problem quotes what the user wrote, so its text is escaped, never read as markup."""
    for detail in err.details[:MAX_REPORTED_ERRORS]:
        err_console.print(
            f"[bold red]error[/] {escape(detail.render())}", highlight=False, soft_wrap=True
        )
    more = len(err.details) - MAX_REPORTED_ERRORS
    if more > 0:
        err_console.print(f"... and {more:,} more problems", highlight=False)
