"""What a stored impact run holds: one comparison of allocation rules, as JSON-ready data.

The service's background job (``doseflow.service.impact_job``) and ``doseflow demo`` both
store runs under :data:`IMPACT_COMPARISON_KIND` with :func:`comparison_result`, so the
dashboard's Impact page and ``GET /api/impact-runs`` read a seeded run exactly as one they
ran themselves.
"""

from __future__ import annotations

from typing import Any

from doseflow.impact.global_comparison import AllocationComparison
from doseflow.impact.results import INFECTIONS_DEFINITION

#: The job kind of a comparison of allocation rules on a stored scenario's rounds.
IMPACT_COMPARISON_KIND = "impact-comparison"


def comparison_result(
    comparison: AllocationComparison,
    *,
    scenario: str,
    round: int | None,
    strategy: str,
    eligibility: str,
    denominator: str,
) -> dict[str, Any]:
    """The stored result of one run: its settings, totals per rule, per-participant rows
    and the participants that could not be modelled (with why)."""
    return {
        "scenario": scenario,
        "round": round,
        "strategy": strategy,
        "eligibility": eligibility,
        "denominator": denominator,
        "infections_definition": INFECTIONS_DEFINITION,
        "start": comparison.start.isoformat(),
        "totals": comparison.totals().to_dict(orient="records"),
        "participants": comparison.participants.to_dict(orient="records"),
        "skipped": [{"iso3": iso3, "reason": reason} for iso3, reason in comparison.skipped],
    }
