"""Period locks: after approval a participant's report for a period is locked; a correction
needs a reopening, which is audited (who, when, why).

The store keeps locks and the audit trail (``doseflow.store.reporting``); these are the values
it hands out, and what the submission checks consult.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: (participant, report type, period code)
LockKey = tuple[str, str, str]


@dataclass(frozen=True)
class PeriodLock:
    participant: str
    report: str
    period: str
    locked_at: datetime
    locked_by: str
    note: str | None = None

    @property
    def key(self) -> LockKey:
        return (self.participant, self.report, self.period)


class LockAction(StrEnum):
    LOCK = "lock"
    REOPEN = "reopen"


@dataclass(frozen=True)
class LockEvent:
    """One line of the audit trail."""

    participant: str
    report: str
    period: str
    action: LockAction
    actor: str
    at: datetime
    reason: str | None = None
