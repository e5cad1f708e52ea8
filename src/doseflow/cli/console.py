"""Rich consoles and error rendering shared by every command."""

from __future__ import annotations

from rich.console import Console

from doseflow.domain.errors import DoseflowError

console = Console()
err_console = Console(stderr=True)


def print_error(err: DoseflowError) -> None:
    """Print every problem of ``err`` on stderr, one line each, code first."""
    for detail in err.details:
        err_console.print(f"[bold red]error[/] {detail.render()}", highlight=False, soft_wrap=True)
