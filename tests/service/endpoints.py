"""Filling in every endpoint's path so the matrix tests can call all of them."""

from __future__ import annotations

import re

#: A harmless value for each path parameter: ids that do not exist (so a permitted write
#: finds nothing to change), countries that do.
PATH_SAMPLES: dict[str, str] = {
    "token_id": "999999",
    "job_id": "00000000-0000-0000-0000-000000000000",
}

OTHER_COUNTRY = {"KEN": "NGA", "NGA": "KEN"}


def fill(path: str, own_iso3: str | None, *, other: bool = False) -> str:
    """``path`` with its parameters filled in; ``{iso3}`` is the caller's own country (or, with
    ``other``, another participant's)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "iso3":
            own = own_iso3 or "KEN"
            return OTHER_COUNTRY[own] if other else own
        return PATH_SAMPLES.get(name, "999999")

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", value, path)
