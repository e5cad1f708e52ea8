"""Field types shared by the network and storage-profile files.

Temperature bands are accepted as people write them ("2-8", "2-8 °C", "chilled", "+2..+8",
"ultra-cold", "ULT", "-70", "frozen", "ambient", "room") and stored as
:class:`~doseflow.domain.temperature.TemperatureBand`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from doseflow.data.fields import Code
from doseflow.domain.temperature import TemperatureBand

__all__ = ["Band", "BandList", "Code", "coerce_band", "coerce_band_list"]

_BAND_SPELLINGS: dict[str, TemperatureBand] = {
    "ultracold": TemperatureBand.ULTRA_COLD,
    "ult": TemperatureBand.ULTRA_COLD,
    "ultralow": TemperatureBand.ULTRA_COLD,
    "9060": TemperatureBand.ULTRA_COLD,
    "8060": TemperatureBand.ULTRA_COLD,
    "70": TemperatureBand.ULTRA_COLD,
    "80": TemperatureBand.ULTRA_COLD,
    "frozen": TemperatureBand.FROZEN,
    "freezer": TemperatureBand.FROZEN,
    "2515": TemperatureBand.FROZEN,
    "20": TemperatureBand.FROZEN,
    "28": TemperatureBand.CHILLED,
    "chilled": TemperatureBand.CHILLED,
    "fridge": TemperatureBand.CHILLED,
    "refrigerated": TemperatureBand.CHILLED,
    "ambient": TemperatureBand.AMBIENT,
    "room": TemperatureBand.AMBIENT,
    "1525": TemperatureBand.AMBIENT,
}


def coerce_band(value: Any) -> Any:
    """A band from a common spelling; anything unrecognised is passed on for pydantic to
    reject with the list of valid values."""
    if isinstance(value, TemperatureBand) or not isinstance(value, str | int):
        return value
    key = re.sub(r"°|degc|celsius|c$|[\s+\-–.,_]", "", str(value).casefold())
    key = key.removesuffix("c")
    return _BAND_SPELLINGS.get(key, value)


def coerce_band_list(value: Any) -> Any:
    """A list of bands from a list or a text like "ultra-cold|2-8" (also ; or , separated)."""
    if isinstance(value, str):
        parts = [p.strip() for p in re.split(r"[|;,/]", value) if p.strip()]
        return [coerce_band(p) for p in parts]
    if isinstance(value, list | tuple):
        return [coerce_band(p) for p in value]
    return value


Band = Annotated[TemperatureBand, BeforeValidator(coerce_band)]
BandList = Annotated[list[Band], BeforeValidator(coerce_band_list), Field(min_length=1)]
