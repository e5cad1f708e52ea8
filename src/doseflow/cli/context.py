"""Click context settings every ``doseflow`` Typer app shares.

``-h`` is ``--help`` everywhere: on the root command, on each area's group and on every
sub-command, also when an area's app is invoked on its own (tests, other programs).
"""

from __future__ import annotations

from typing import Any

#: Passed as ``context_settings`` to every ``typer.Typer`` of the command line.
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
