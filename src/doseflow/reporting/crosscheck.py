"""Cross-checks of reported figures against the stock ledger.

For an org unit and period the ledger gives the stock at the start, the doses received
during the period and the stock at the end, over the ledger nodes the org unit answers for
(see :meth:`Hierarchy.ledger_nodes`). Two checks use it:

* doses administered in the period (all categories together, after this submission) cannot
  exceed the doses available, ``opening + received``: a conflict,
  ``REPORT_ADMINISTERED_EXCEEDS_AVAILABLE``;
* reported stock on hand differing from the ledger's closing stock is accepted but flagged
  with the difference, ``REPORT_STOCK_DIFFERS_FROM_LEDGER``.

Periods are cut in local time where the stock is
(:func:`~doseflow.reporting.periods.period_bounds`): in the org unit's time zone if the
hierarchy gives one, otherwise in each ledger node's own; :attr:`LedgerPosition.time_zone`
names the zone used, and the checks' messages state it.

The ledger figures are computed outside the engine (``doseflow.store.reporting_ledger``) and
handed in as a mapping, so this module stays pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.periods import parse_period
from doseflow.reporting.schema import Role, Schema
from doseflow.reporting.values import SubmittedValue


@dataclass(frozen=True)
class LedgerPosition:
    """Ledger figures for one org unit and period, in doses."""

    opening: int  # stock at the start of the first day
    received: int  # doses received during the period
    closing: int  # stock at the end of the last day
    #: the zone whose days cut the period (several, comma-separated, when the org unit's
    #: nodes lie in different zones and the org unit names none)
    time_zone: str = "UTC"

    @property
    def available(self) -> int:
        return self.opening + self.received


#: (org_unit, period code) -> ledger figures
LedgerFigures = Mapping[tuple[str, str], LedgerPosition]

CROSS_CHECKED_ROLES = (Role.ADMINISTERED, Role.STOCK_ON_HAND)


def ledger_needs(values: Iterable[SubmittedValue], schema: Schema) -> set[tuple[str, str]]:
    """The (org unit, period) pairs whose ledger figures a submission's cross-checks need."""
    codes = {e.code for role in CROSS_CHECKED_ROLES for e in schema.elements_with_role(role)}
    needs: set[tuple[str, str]] = set()
    for v in values:
        if v.data_element in codes:
            try:
                needs.add((v.org_unit, parse_period(v.period).code))
            except DoseflowError:
                continue  # reported as a conflict by the submission itself
    return needs
