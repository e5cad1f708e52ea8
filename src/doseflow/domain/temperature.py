"""Cold-chain temperature bands, shared by products, storage and transport lanes."""

from __future__ import annotations

from enum import StrEnum


class TemperatureBand(StrEnum):
    """A storage or transport temperature band.

    Values are the spellings used in scenario and network files.
    """

    ULTRA_COLD = "ultra-cold"  # -90 .. -60 °C (e.g. Pfizer-BioNTech long-term storage)
    FROZEN = "frozen"  # -25 .. -15 °C (e.g. Moderna)
    CHILLED = "2-8"  # +2 .. +8 °C (most vaccines)
    AMBIENT = "ambient"  # +15 .. +25 °C (test kits, protective equipment)

    @property
    def range_celsius(self) -> tuple[float, float]:
        return _RANGES[self]

    @property
    def label(self) -> str:
        low, high = self.range_celsius
        return f"{self.value} ({low:+g}..{high:+g} °C)"


_RANGES: dict[TemperatureBand, tuple[float, float]] = {
    TemperatureBand.ULTRA_COLD: (-90.0, -60.0),
    TemperatureBand.FROZEN: (-25.0, -15.0),
    TemperatureBand.CHILLED: (2.0, 8.0),
    TemperatureBand.AMBIENT: (15.0, 25.0),
}
