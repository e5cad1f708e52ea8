"""Country outlines for the dashboard's world map: one SVG path per country, by ISO3.

From Natural Earth's 1:110m admin-0 countries (public domain) as packaged by the npm package
``world-atlas`` 2.0.2 (ISC), projected once by ``tools/make_world_map.py`` into
``data/files/world_map_110m.json`` (see ``docs/data-sources.md``). Read once per process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from doseflow.data.files import open_bundled

WORLD_MAP_FILE = "world_map_110m.json"


@dataclass(frozen=True)
class Outline:
    """One country's shape: its ISO3 code, Natural Earth's short name, SVG path data."""

    iso3: str
    name: str
    path: str


@dataclass(frozen=True)
class WorldMap:
    """Outlines in a ``width`` x ``height`` drawing (equirectangular, north up)."""

    width: int
    height: int
    source: str
    outlines: Mapping[str, Outline]


@cache
def world_map() -> WorldMap:
    """The bundled outlines, read once."""
    with open_bundled(WORLD_MAP_FILE) as handle:
        document = json.load(handle)
    outlines = {
        iso3: Outline(iso3, shape["name"], shape["d"])
        for iso3, shape in document["countries"].items()
    }
    return WorldMap(
        int(document["width"]),
        int(document["height"]),
        str(document["source"]),
        MappingProxyType(outlines),
    )
