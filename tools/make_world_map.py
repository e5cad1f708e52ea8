"""Write ``src/doseflow/data/files/world_map_110m.json``: one SVG path per country, by ISO3.

Source: ``countries-110m.json`` of the npm package ``world-atlas`` 2.0.2 (ISC licence, by
Mike Bostock), a TopoJSON conversion of Natural Earth's 1:110m admin-0 countries (public
domain). Get it with ``cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz``.
Its ids are ISO 3166-1 numeric codes; they become ISO3 through Debian's ``iso-codes``
(``/usr/share/iso-codes/json/iso_3166-1.json``), as in ``make_country_time_zones.py``.
Three shapes carry no id: Kosovo becomes ``XKX`` (the code doseflow's WPP data uses);
Natural Earth's de facto units "N. Cyprus" and "Somaliland" are drawn as parts of ``CYP``
and ``SOM``, the UN members WPP counts their people in. Antarctica is left out (no people,
a fifth of the drawing).

Why pre-projected paths rather than the TopoJSON: the dashboard draws the map on the server
as inline SVG (no JavaScript library, works offline), so it needs path strings only; decoding
arcs on every page would cost time for nothing. The projection is equirectangular
(x = longitude, y = -latitude) scaled to :data:`WIDTH` units across, coordinates rounded to
whole units (about 0.375 degree, finer than the 1:110m source shows) with repeated points
dropped, written as relative moves to keep the file small (46 KB).

Run from the repository root: ``python tools/make_world_map.py /tmp/package/countries-110m.json``.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")
OUT = Path("src/doseflow/data/files/world_map_110m.json")
WIDTH = 960
NORTH, SOUTH = 84.0, -57.0  # latitudes kept (Antarctica left out)
SCALE = WIDTH / 360.0
HEIGHT = round((NORTH - SOUTH) * SCALE)
WITHOUT_ID = {"Kosovo": "XKX", "N. Cyprus": "CYP", "Somaliland": "SOM"}
LEFT_OUT = {"010"}  # Antarctica


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:  # type: ignore[type-arg]
    """Arcs in longitude and latitude: quantized, delta-encoded positions undone."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """A ring from arc indexes (a negative index ~i is arc i reversed); shared ends once."""
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def unwrap(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring crossing the antimeridian (Russia's Chukotka, Fiji) kept on one side: its
    points on the far side move by 360 degrees, drawn past the edge and clipped there,
    instead of a line across the whole map."""
    jumps = any(abs(b[0] - a[0]) > 180 for a, b in itertools.pairwise(points))
    if not jumps:
        return points
    east = sum(lon for lon, _ in points) >= 0
    return [
        (lon + 360 if east and lon < 0 else lon - 360 if not east and lon > 0 else lon, lat)
        for lon, lat in points
    ]


def project(lon: float, lat: float) -> tuple[int, int]:
    return round((lon + 180.0) * SCALE), round((NORTH - lat) * SCALE)


def path_of(rings: list[list[tuple[float, float]]]) -> str:
    """SVG path data: each ring ``M x y`` then relative ``l`` steps, closed with ``z``."""
    parts = []
    for points in rings:
        projected: list[tuple[int, int]] = []
        for lon, lat in points:
            p = project(lon, max(min(lat, NORTH), SOUTH))
            if not projected or p != projected[-1]:
                projected.append(p)
        if len(projected) < 3:
            continue
        x0, y0 = projected[0]
        steps = []
        for (ax, ay), (bx, by) in itertools.pairwise(projected):
            steps.append(f"{bx - ax} {by - ay}")
        parts.append(f"M{x0} {y0}l" + " ".join(steps).replace(" -", "-") + "z")
    return "".join(parts)


def main(source: Path) -> None:
    topology = json.loads(source.read_text("utf-8"))
    iso = {c["numeric"]: c["alpha_3"] for c in json.loads(ISO_CODES.read_text())["3166-1"]}
    arcs = decode_arcs(topology)
    shapes: dict[str, dict[str, str]] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        number = geometry.get("id")
        if number in LEFT_OUT:
            continue
        iso3 = iso[number] if number else WITHOUT_ID[name]
        polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        rings = [unwrap(ring(arcs, r)) for polygon in polygons for r in polygon]
        d = path_of(rings)
        if iso3 in shapes:  # a de facto unit drawn as part of its UN member
            shapes[iso3]["d"] += d
        else:
            shapes[iso3] = {"name": name, "d": d}
    document = {
        "source": "Natural Earth 1:110m admin-0 countries (public domain), via world-atlas "
        "2.0.2 countries-110m.json (ISC); equirectangular, Antarctica left out",
        "width": WIDTH,
        "height": HEIGHT,
        "countries": dict(sorted(shapes.items())),
    }
    OUT.write_text(json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(shapes)} countries, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
