"""The hierarchy file: participants, their regions (nested), populations, ledger nodes and
neighbours.

Example (``data/examples/reporting_hierarchy.yaml``)::

    participants:
      - code: PRK
        neighbours: [CHN, KOR, RUS]
        ledger_nodes: [PRK-NAT]
        regions:
          - {code: PRK-PY, name: Pyongyang, population: 3157538, ledger_nodes: [PRK-PY-STORE]}
      - code: KOR

A participant with an ISO3 code takes its name and population from WPP 2019 when not given.
``time_zone`` (an IANA name, on a participant or region, inherited by the regions below)
overrides the ledger nodes' own zones for the cross-checks; an unknown name is
``TIME_ZONE_UNKNOWN`` at its line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from doseflow.data.fields import Code, Name, Quantity
from doseflow.data.population import countries
from doseflow.data.time_zones import EXPECTED as ZONE_EXPECTED
from doseflow.data.time_zones import is_zone_name
from doseflow.domain.errors import DoseflowError, ErrorDetail
from doseflow.domain.limits import MAX_CODE_LENGTH
from doseflow.reporting.hierarchy import Hierarchy, OrgUnit, build_hierarchy
from doseflow.reporting.yaml_source import YamlDocument

_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RegionModel(_Strict):
    code: str = Field(pattern=_CODE, max_length=MAX_CODE_LENGTH)
    name: Name
    population: Quantity | None = Field(default=None, ge=0)
    ledger_nodes: list[Code] = []
    time_zone: str | None = Field(default=None, max_length=64)
    regions: list[_RegionModel] = []


class _ParticipantModel(_Strict):
    code: str = Field(pattern=_CODE, max_length=MAX_CODE_LENGTH)
    name: Name | None = None
    population: Quantity | None = Field(default=None, ge=0)
    neighbours: list[Code] = []
    ledger_nodes: list[Code] = []
    time_zone: str | None = Field(default=None, max_length=64)
    regions: list[_RegionModel] = []


class _HierarchyFileModel(_Strict):
    any_country: bool = False
    participants: list[_ParticipantModel] = Field(min_length=1)


def load_hierarchy(path: Path | str) -> Hierarchy:
    """The hierarchy in the YAML file at ``path``."""
    return _hierarchy_of(YamlDocument.read(path, "REPORT_HIERARCHY_INVALID"))


def hierarchy_from_text(text: str, source: str) -> Hierarchy:
    """The hierarchy in a hierarchy file's text (as stored by ``doseflow report hierarchy
    load``); ``source`` names it in errors."""
    return _hierarchy_of(YamlDocument(source, text, "REPORT_HIERARCHY_INVALID"))


def _hierarchy_of(doc: YamlDocument) -> Hierarchy:
    model = doc.validate(_HierarchyFileModel)
    units: list[OrgUnit] = []
    bad_zones: list[ErrorDetail] = []

    def zone(name: str | None, path: tuple[int | str, ...]) -> str | None:
        if name is not None and not is_zone_name(name):
            bad_zones.append(
                doc.detail(
                    (*path, "time_zone"),
                    f"'{name}' is not a time zone of the IANA tz database",
                    code="TIME_ZONE_UNKNOWN",
                    expected=ZONE_EXPECTED,
                    value=name,
                )
            )
        return name

    def add_regions(
        regions: list[_RegionModel], participant: str, parent: str, at: tuple[int | str, ...]
    ) -> None:
        for i, r in enumerate(regions):
            here = (*at, "regions", i)
            units.append(
                OrgUnit(
                    r.code,
                    r.name,
                    participant,
                    parent,
                    r.population,
                    tuple(r.ledger_nodes),
                    zone(r.time_zone, here),
                )
            )
            add_regions(r.regions, participant, r.code, here)

    for index, p in enumerate(model.participants):
        wpp = countries().get(p.code)
        units.append(
            OrgUnit(
                p.code,
                p.name or (wpp.name if wpp else p.code),
                p.code,
                None,
                p.population,
                tuple(p.ledger_nodes),
                zone(p.time_zone, ("participants", index)),
            )
        )
        add_regions(p.regions, p.code, p.code, ("participants", index))
    if bad_zones:
        raise DoseflowError.from_details(bad_zones)
    try:
        return build_hierarchy(
            units,
            {p.code: p.neighbours for p in model.participants if p.neighbours},
            any_country=model.any_country,
            source=doc.source,
        )
    except DoseflowError as err:
        raise err.with_source(doc.source) from None
