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
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from doseflow.data.fields import Code, Name, Quantity
from doseflow.data.population import countries
from doseflow.domain.errors import DoseflowError
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
    regions: list[_RegionModel] = []


class _ParticipantModel(_Strict):
    code: str = Field(pattern=_CODE, max_length=MAX_CODE_LENGTH)
    name: Name | None = None
    population: Quantity | None = Field(default=None, ge=0)
    neighbours: list[Code] = []
    ledger_nodes: list[Code] = []
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

    def add_regions(regions: list[_RegionModel], participant: str, parent: str) -> None:
        for r in regions:
            units.append(
                OrgUnit(r.code, r.name, participant, parent, r.population, tuple(r.ledger_nodes))
            )
            add_regions(r.regions, participant, r.code)

    for p in model.participants:
        wpp = countries().get(p.code)
        units.append(
            OrgUnit(
                p.code,
                p.name or (wpp.name if wpp else p.code),
                p.code,
                None,
                p.population,
                tuple(p.ledger_nodes),
            )
        )
        add_regions(p.regions, p.code, p.code)
    try:
        return build_hierarchy(
            units,
            {p.code: p.neighbours for p in model.participants if p.neighbours},
            any_country=model.any_country,
            source=doc.source,
        )
    except DoseflowError as err:
        raise err.with_source(doc.source) from None
