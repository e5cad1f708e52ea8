"""Reading a decline back from the stored lines: how much was given up and who received it.

Shared by the API and the dashboard so both show the same figures. It only reads the
explanations the allocation engine stored with each line (their ``declined`` and ``received``
notes); it computes nothing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from doseflow.allocation import Decline
from doseflow.store.allocation import AllocationStore


@dataclass(frozen=True)
class Received:
    iso3: str
    pool: str
    doses: int


@dataclass(frozen=True)
class DeclineView:
    decline: Decline
    declined: int
    recipients: tuple[Received, ...]

    @property
    def given(self) -> int:
        return sum(r.doses for r in self.recipients)


def _same(note_source: str, decline: Decline) -> bool:
    """A note belongs to ``decline`` when their sources agree (a note stored before sources
    were kept, or a decline not yet given one, matches any)."""
    return not note_source or not decline.source or note_source == decline.source


def decline_view(store: AllocationStore, name: str, decline: Decline) -> DeclineView:
    """``decline`` (from the scenario file or recorded) with what its stored lines say."""
    declined = 0
    recipients: list[Received] = []
    for line in store.lines(name, decline.round):
        if line.product != decline.product:
            continue
        if line.iso3 == decline.iso3:
            declined += sum(
                note.doses for note in line.explanation.declined if _same(note.source, decline)
            )
        recipients.extend(
            Received(line.iso3, line.pool, note.doses)
            for note in line.explanation.received
            if note.from_iso3 == decline.iso3 and _same(note.source, decline)
        )
    recipients.sort(key=lambda r: (-r.doses, r.iso3))
    return DeclineView(decline, declined, tuple(recipients))
