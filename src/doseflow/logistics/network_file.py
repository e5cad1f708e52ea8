"""The network file: nodes with storage per band, lanes with cold-chain capability.

Read from YAML (one file with ``nodes:``, ``lanes:`` and optional ``storage_profiles:``) or
CSV (a nodes file and a lanes file, or a folder holding ``nodes.csv``, ``lanes.csv`` and
optionally ``storage_profiles.csv``). Every record is validated with pydantic; every problem
in the file is reported at once with its line and field (codes ``LOGISTICS_...``), and
nothing is returned unless the whole file is good. The result is the shared
:class:`~doseflow.domain.network.Network` (built with ``build_network``) plus the extras
only logistics uses: user storage profiles and the planned use period at each node.

See ``docs/logistics.md`` for the format with examples.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from doseflow.data.fields import Label, Litres, Name, Number, Quantity
from doseflow.data.product_codes import canonical_product
from doseflow.data.time_zones import EXPECTED as ZONE_EXPECTED
from doseflow.data.time_zones import is_zone_name
from doseflow.data.user_files import readable_csv
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.network import Lane, LaneMode, Network, Node, NodeKind, build_network
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.csv_rows import csv_records
from doseflow.logistics.file_errors import (
    FILES,
    LineMap,
    line_for,
    raise_all,
    read_text,
    validation_details,
    yaml_with_lines,
)
from doseflow.logistics.file_fields import Band, BandList, Code
from doseflow.logistics.profile_file import parse_profile_csv, parse_profile_records
from doseflow.logistics.storage_profiles import (
    ProfileTable,
    StorageProfile,
    normalise_name,
    profile_table,
)


class NodeRecord(BaseModel):
    """A node as written in the file."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Label = ""
    kind: NodeKind
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    parent: Code | None = None
    region: Name | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    capacity_litres: dict[Band, Litres] = Field(default_factory=dict)
    planned_use_days: Number | None = Field(default=None, ge=0)
    products: list[Code] = Field(default_factory=list)

    @field_validator("products", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.replace("|", ";").split(";") if p.strip()]
        return value

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class LaneRecord(BaseModel):
    """A lane as written in the file (``from``/``to`` are node codes)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    origin: Code = Field(alias="from")
    destination: Code = Field(alias="to")
    mode: LaneMode
    lead_time_days: Number = Field(ge=0)
    cost_per_dose: Number = Field(default=0.0, ge=0)
    temperature: BandList
    capacity_doses_per_trip: Quantity | None = Field(default=None, gt=0)
    trips_per_week: Number | None = Field(default=None, gt=0)

    @field_validator("mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class NetworkFile:
    """A loaded network file: the network, user storage profiles and planned use periods."""

    network: Network
    profiles: tuple[StorageProfile, ...] = ()
    planned_use_days: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    supplies: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""

    def profile_table(self) -> ProfileTable:
        """The bundled storage profiles with this file's own added or overriding."""
        return profile_table(self.profiles)

    def origins_for(self, product: Product) -> tuple[str, ...]:
        """Suppliers listing this exact product code, else any listing its profile."""
        return self.origins_for_code(product.code, self.profile_table().for_product(product))

    def origins_for_code(self, code: str, profile: StorageProfile) -> tuple[str, ...]:
        """Suppliers listing the product ``code`` (or an alias of it: ``COVISHIELD`` is
        ``AZ-SII``), else any listing its profile. Products sharing a profile (``AZ-SII``,
        ``AZ-SKB``) are made at different plants: the code says which."""
        wanted = normalise_name(canonical_product(code))
        exact = tuple(
            node
            for node, products in self.supplies.items()
            if wanted in {normalise_name(canonical_product(p)) for p in products}
        )
        return exact or self.suppliers_of(profile)

    def suppliers_of(self, profile: StorageProfile) -> tuple[str, ...]:
        """Codes of the nodes whose ``products`` list names this product (code or alias)."""
        names = {normalise_name(n) for n in (profile.product, profile.name, *profile.aliases)}
        return tuple(
            code
            for code, products in self.supplies.items()
            if any(normalise_name(p) in names for p in products)
        )


_TOP_LEVEL = ("name", "description", "nodes", "lanes", "storage_profiles")
_NODE_CAPACITY_COLUMNS: dict[str, TemperatureBand] = {
    "capacity_ultra_cold_l": TemperatureBand.ULTRA_COLD,
    "capacity_frozen_l": TemperatureBand.FROZEN,
    "capacity_2_8_l": TemperatureBand.CHILLED,
    "capacity_ambient_l": TemperatureBand.AMBIENT,
}
NODE_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "kind",
    "country",
    "parent",
    "region",
    "time_zone",
    *_NODE_CAPACITY_COLUMNS,
    "planned_use_days",
    "products",
)
LANE_COLUMNS: tuple[str, ...] = (
    "from",
    "to",
    "mode",
    "lead_time_days",
    "cost_per_dose",
    "temperature",
    "capacity_doses_per_trip",
    "trips_per_week",
)


EXAMPLE_NETWORK = "examples/network.yaml"


def example_network_path() -> str:
    """Path of the bundled example network (``doseflow/data/examples/network.yaml``)."""
    from importlib import resources

    return str(resources.files("doseflow.data").joinpath(EXAMPLE_NETWORK))


def load_network(path: str | os.PathLike[str], *, lanes: str | None = None) -> Network:
    """The :class:`Network` in a YAML or CSV network file (see :func:`load_network_file`)."""
    return load_network_file(path, lanes=lanes).network


def load_network_file(
    path: str | os.PathLike[str],
    *,
    lanes: str | os.PathLike[str] | None = None,
    profiles: str | os.PathLike[str] | None = None,
) -> NetworkFile:
    """Load a network from ``path``.

    ``path`` is a ``.yaml``/``.yml`` file, a nodes ``.csv`` file (lanes from ``lanes`` or,
    if not given, from the sibling file with ``nodes`` replaced by ``lanes`` in its name),
    or a folder with ``nodes.csv``, ``lanes.csv`` and optionally ``storage_profiles.csv``.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        nodes_csv = os.path.join(name, "nodes.csv")
        lanes_csv = os.fspath(lanes) if lanes else os.path.join(name, "lanes.csv")
        prof = os.fspath(profiles) if profiles else os.path.join(name, "storage_profiles.csv")
        return _load_csv(nodes_csv, lanes_csv, prof if os.path.exists(prof) else None)
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return parse_network_yaml(read_text(name, name), name)
    if lower.endswith(".csv"):
        sibling = os.fspath(lanes) if lanes else _sibling_lanes(name)
        return _load_csv(name, sibling, os.fspath(profiles) if profiles else None)
    raise DoseflowError(
        "LOGISTICS_BAD_FORMAT",
        "cannot tell the format of the network file from its name",
        source=name,
        expected="a .yaml/.yml file, a nodes .csv file or a folder with nodes.csv and lanes.csv",
        value=os.path.basename(name),
    )


def _sibling_lanes(nodes_csv: str) -> str | None:
    folder, base = os.path.split(nodes_csv)
    if "nodes" not in base:
        return None
    candidate = os.path.join(folder, base.replace("nodes", "lanes"))
    return candidate if os.path.exists(candidate) else None


def parse_network_yaml(text: str, source: str) -> NetworkFile:
    """A network from YAML text (``source`` names it in errors)."""
    data, lines = yaml_with_lines(text, source)
    return _network_from_data(data, lines, source)


def parse_network_document(document: Mapping[str, Any], source: str) -> NetworkFile:
    """A network from a document already parsed (a JSON request body), checked by the same
    rules as a file's text; errors' lines point into its rendering one field per line."""
    data, lines = FILES.document_with_lines(document, source)
    return _network_from_data(data, lines, source)


def _network_from_data(data: Any, lines: LineMap, source: str) -> NetworkFile:
    if not isinstance(data, Mapping):
        raise DoseflowError(
            "LOGISTICS_BAD_FORMAT",
            "a network file must be a mapping with 'nodes' and 'lanes'",
            source=source,
            line=1,
            expected="top-level keys nodes, lanes (and optionally storage_profiles)",
            value=type(data).__name__,
        )
    problems: list[ErrorDetail] = []
    for key in data:
        if key not in _TOP_LEVEL:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_UNKNOWN_FIELD",
                    f"unknown top-level key '{key}'",
                    ErrorLocation(source=source, line=line_for(lines, (str(key),)), field=str(key)),
                    expected="one of " + ", ".join(_TOP_LEVEL),
                    value=str(key),
                )
            )
    if "nodes" not in data:
        problems.append(
            ErrorDetail(
                "LOGISTICS_MISSING_FIELD",
                "the network file has no 'nodes' list",
                ErrorLocation(source=source, line=1, field="nodes"),
                expected="a list of nodes",
            )
        )
    nodes = _records(data.get("nodes") or [], "nodes", NodeRecord, "node", source, lines, problems)
    raw_nodes = data.get("nodes")
    raw_nodes = raw_nodes if isinstance(raw_nodes, list) else []
    attempted = {str(n["code"]) for n in raw_nodes if isinstance(n, Mapping) and n.get("code")}
    lane_recs = _records(
        data.get("lanes") or [], "lanes", LaneRecord, "lane", source, lines, problems
    )
    profiles: list[StorageProfile] = []
    if data.get("storage_profiles"):
        try:
            profiles = parse_profile_records(
                data["storage_profiles"], source, lines=lines, prefix=("storage_profiles",)
            )
        except DoseflowError as err:
            problems.extend(err.details)
    return _assemble(nodes, lane_recs, profiles, source, problems, attempted=attempted)


def _records(
    items: Any,
    key: str,
    model: type[NodeRecord] | type[LaneRecord],
    what: str,
    source: str,
    lines: LineMap,
    problems: list[ErrorDetail],
) -> list[tuple[int | None, Any]]:
    if not isinstance(items, list):
        problems.append(
            ErrorDetail(
                "LOGISTICS_BAD_FORMAT",
                f"'{key}' must be a list",
                ErrorLocation(source=source, line=line_for(lines, (key,)), field=key),
                expected=f"a YAML list of {what}s",
                value=type(items).__name__,
            )
        )
        return []
    out: list[tuple[int | None, Any]] = []
    for index, item in enumerate(items):
        at = (key, index)
        label = f"{what} {index + 1}"
        if isinstance(item, Mapping) and what == "node" and item.get("code"):
            label = f"node '{item['code']}'"
        elif isinstance(item, Mapping) and what == "lane" and item.get("from"):
            label = f"lane {item.get('from')} -> {item.get('to')}"
        try:
            out.append((line_for(lines, at), model.model_validate(item)))
        except ValidationError as err:
            problems += validation_details(
                err, model=model, source=source, what=label, within=at, lines=lines
            )
    return out


def _node_row(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        k: v for k, v in cells.items() if v != "" and k not in _NODE_CAPACITY_COLUMNS
    }
    record["capacity_litres"] = {
        band.value: cells[col] for col, band in _NODE_CAPACITY_COLUMNS.items() if cells.get(col)
    }
    return record


_NODE_FIELD_NAMES = {f"capacity_litres.{b.value}": c for c, b in _NODE_CAPACITY_COLUMNS.items()}


def _load_csv(nodes_csv: str, lanes_csv: str | None, profiles_csv: str | None) -> NetworkFile:
    problems: list[ErrorDetail] = []
    node_text = read_text(nodes_csv, nodes_csv)
    reader = csv.DictReader(io.StringIO(node_text))
    with readable_csv("LOGISTICS_BAD_FORMAT", nodes_csv, lambda: reader.line_num):
        attempted = {row.get("code", "").strip() for row in reader}
    nodes: list[tuple[int | None, Any]] = list(
        csv_records(
            node_text,
            nodes_csv,
            NodeRecord,
            problems,
            what="node",
            to_record=_node_row,
            columns=NODE_COLUMNS,
            field_names=_NODE_FIELD_NAMES,
        )
    )
    lane_recs: list[tuple[int | None, Any]] = []
    if lanes_csv is not None:
        lane_text = read_text(lanes_csv, lanes_csv)
        lane_recs = list(
            csv_records(
                lane_text, lanes_csv, LaneRecord, problems, what="lane", columns=LANE_COLUMNS
            )
        )
    profiles: list[StorageProfile] = []
    if profiles_csv is not None:
        try:
            profiles = parse_profile_csv(
                read_text(profiles_csv, profiles_csv), profiles_csv, user=True
            )
        except DoseflowError as err:
            problems.extend(err.details)
    return _assemble(
        nodes,
        lane_recs,
        profiles,
        nodes_csv,
        problems,
        lane_source=lanes_csv or nodes_csv,
        attempted=attempted,
    )


def _assemble(
    nodes: list[tuple[int | None, Any]],
    lanes: list[tuple[int | None, Any]],
    profiles: list[StorageProfile],
    source: str,
    problems: list[ErrorDetail],
    *,
    lane_source: str | None = None,
    attempted: set[str] | None = None,
) -> NetworkFile:
    """Cross-record checks (with lines), then the shared ``build_network`` as the last word.

    ``attempted`` holds every node code written in the file, valid or not, so a node with a
    bad field is not also reported as unknown wherever it is referenced.
    """
    lane_source = lane_source or source
    known = {rec.code for _, rec in nodes} | (attempted or set())
    first_line: dict[str, int | None] = {}
    for line, rec in nodes:
        if rec.code in first_line:
            where = first_line[rec.code]
            problems.append(
                ErrorDetail(
                    "LOGISTICS_DUPLICATE_NODE",
                    f"node code '{rec.code}' is defined twice"
                    + (f" (first at line {where})" if where else ""),
                    ErrorLocation(source=source, line=line, field="code"),
                    expected="unique node codes",
                    value=rec.code,
                )
            )
        else:
            first_line[rec.code] = line
    for line, rec in nodes:
        if rec.parent is not None and rec.parent not in known:
            problems.append(_unknown(source, line, "parent", rec.parent, f"node '{rec.code}'"))
    for line, rec in nodes:
        if rec.time_zone is not None and not is_zone_name(rec.time_zone):
            problems.append(
                ErrorDetail(
                    "TIME_ZONE_UNKNOWN",
                    f"node '{rec.code}' names time zone '{rec.time_zone}', which is not in "
                    "the IANA tz database",
                    ErrorLocation(source=source, line=line, field="time_zone"),
                    expected=ZONE_EXPECTED,
                    value=rec.time_zone,
                )
            )
    seen_lanes: dict[tuple[str, str, LaneMode], int | None] = {}
    for line, rec in lanes:
        label = f"lane {rec.origin} -> {rec.destination}"
        for end, fld in ((rec.origin, "from"), (rec.destination, "to")):
            if end not in known:
                problems.append(_unknown(lane_source, line, fld, end, label))
        if rec.origin == rec.destination:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_BAD_LANE",
                    f"{label} goes from a node to itself",
                    ErrorLocation(source=lane_source, line=line, field="to"),
                    expected="two different nodes",
                    value=rec.destination,
                )
            )
        key = (rec.origin, rec.destination, rec.mode)
        if key in seen_lanes:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_DUPLICATE_LANE",
                    f"{label} by {rec.mode.value} is defined twice",
                    ErrorLocation(source=lane_source, line=line, field="mode"),
                    expected="one lane per origin, destination and mode",
                    value=rec.mode.value,
                )
            )
        seen_lanes[key] = line
    raise_all(problems)
    built = [
        Node(
            code=rec.code,
            name=rec.name or rec.code,
            kind=rec.kind,
            country=rec.country,
            parent=rec.parent,
            capacity_litres=MappingProxyType(dict(rec.capacity_litres)),
            region=rec.region,
            time_zone=rec.time_zone,
        )
        for _, rec in nodes
    ]
    built_lanes = [
        Lane(
            origin=rec.origin,
            destination=rec.destination,
            mode=rec.mode,
            lead_time_days=rec.lead_time_days,
            temperature=frozenset(rec.temperature),
            cost_per_dose=rec.cost_per_dose,
            capacity_doses_per_trip=rec.capacity_doses_per_trip,
            trips_per_week=rec.trips_per_week,
        )
        for _, rec in lanes
    ]
    network = build_network(built, built_lanes, source=source)
    use = {rec.code: rec.planned_use_days for _, rec in nodes if rec.planned_use_days is not None}
    return NetworkFile(
        network=network,
        profiles=tuple(profiles),
        planned_use_days=MappingProxyType(use),
        supplies=MappingProxyType(
            {rec.code: tuple(rec.products) for _, rec in nodes if rec.products}
        ),
        source=source,
    )


def _unknown(source: str, line: int | None, fld: str, code: str, label: str) -> ErrorDetail:
    return ErrorDetail(
        "LOGISTICS_UNKNOWN_NODE",
        f"{label} names node '{code}' in '{fld}', which is not defined",
        ErrorLocation(source=source, line=line, field=fld),
        expected="a node code defined in the network file",
        value=code,
    )
