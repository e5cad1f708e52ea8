"""How long computations say how far they have got, without knowing who listens.

A :data:`Progress` callback takes the fraction of the work done (0 to 1) and a short
message; engines (the impact comparison) call it as it goes, and the service stores what it hears
with the background job (the command line may pass one that draws a bar). The default,
:func:`no_progress`, ignores it.
"""

from __future__ import annotations

from collections.abc import Callable

#: Fraction done (0 to 1) and what the computation is doing now.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The progress callback of a computation nobody watches."""
