"""The DHIS2 mapping file: doseflow codes to DHIS2 identifiers (UIDs and codes).

Every section is optional; anything not mapped keeps its doseflow code, so a DHIS2 instance
configured with doseflow's codes needs no mapping at all. Example
(``data/examples/reporting_dhis2_mapping.yaml``)::

    attribute_option_combo: HllvX50cXC0
    data_sets:
      surveillance: {id: Wkly0Surv01, code: COVID_WEEKLY}
    data_elements:
      people_tested: {id: DeTested001, code: C19_TESTED}
    org_units:
      PRK: {id: OuPRK000001, code: PRK}
    category_option_combos:            # dataValueSets JSON
      default: HllvX50cXC0
      dose=dose1,group=hcw: CocD1Hcw001
    categories:                        # ADX: category and option codes
      dose: {code: DOSE, options: {dose1: D1, dose2: D2}}

In dataValueSets JSON, identifiers are UIDs by default (``id_scheme="uid"``) or codes
(``"code"``); on import either is recognised. ADX uses codes, as DHIS2 does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from doseflow.data.fields import Code
from doseflow.domain.errors import DoseflowError
from doseflow.reporting.yaml_source import YamlDocument


class IdScheme(StrEnum):
    UID = "uid"
    CODE = "code"


@dataclass(frozen=True)
class Ident:
    id: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class CategoryCodes:
    code: str
    options: Mapping[str, str]  # doseflow option -> ADX option code


def _frozen() -> Mapping[str, str]:
    return MappingProxyType({})


class _Lookup:
    """Both directions of one kind of identifier."""

    def __init__(self, forward: Mapping[str, Ident]) -> None:
        self.forward = forward
        self.back: dict[str, str] = {}
        for ours, ident in forward.items():
            if ident.code:
                self.back[ident.code] = ours
            if ident.id:
                self.back[ident.id] = ours

    def out(self, ours: str, scheme: IdScheme) -> str:
        ident = self.forward.get(ours)
        if ident is None:
            return ours
        chosen = ident.id if scheme is IdScheme.UID else ident.code
        return chosen or ident.code or ident.id or ours

    def into(self, theirs: str) -> str:
        return self.back.get(theirs, theirs)


@dataclass(frozen=True)
class Dhis2Mapping:
    data_elements: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    org_units: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    data_sets: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    category_option_combos: Mapping[str, str] = field(default_factory=_frozen)
    categories: Mapping[str, CategoryCodes] = field(default_factory=lambda: MappingProxyType({}))
    attribute_option_combo: str | None = None
    _de: _Lookup = field(init=False, repr=False, compare=False)
    _ou: _Lookup = field(init=False, repr=False, compare=False)
    _ds: _Lookup = field(init=False, repr=False, compare=False)
    _coc_back: dict[str, str] = field(init=False, repr=False, compare=False)
    _cat_back: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_de", _Lookup(self.data_elements))
        object.__setattr__(self, "_ou", _Lookup(self.org_units))
        object.__setattr__(self, "_ds", _Lookup(self.data_sets))
        object.__setattr__(
            self, "_coc_back", {uid: key for key, uid in self.category_option_combos.items()}
        )
        object.__setattr__(self, "_cat_back", {c.code: ours for ours, c in self.categories.items()})

    # -- data elements, org units, data sets
    def data_element_out(self, code: str, scheme: IdScheme = IdScheme.UID) -> str:
        return self._de.out(code, scheme)

    def data_element_in(self, theirs: str) -> str:
        return self._de.into(theirs)

    def org_unit_out(self, code: str, scheme: IdScheme = IdScheme.UID) -> str:
        return self._ou.out(code, scheme)

    def org_unit_in(self, theirs: str) -> str:
        return self._ou.into(theirs)

    def data_set_out(self, report: str, scheme: IdScheme = IdScheme.UID) -> str:
        return self._ds.out(report, scheme)

    def data_set_in(self, theirs: str) -> str:
        return self._ds.into(theirs)

    # -- category option combos (JSON)
    def coc_out(self, key: str) -> str:
        return self.category_option_combos.get(key, key)

    def coc_in(self, theirs: str) -> str:
        return self._coc_back.get(theirs, theirs)

    # -- categories (ADX attributes)
    def category_out(self, category: str, option: str) -> tuple[str, str]:
        codes = self.categories.get(category)
        if codes is None:
            return category, option
        return codes.code, codes.options.get(option, option)

    def category_in(self, attribute: str, option: str) -> tuple[str, str]:
        ours = self._cat_back.get(attribute, attribute)
        codes = self.categories.get(ours)
        if codes is None:
            return ours, option
        for mine, theirs in codes.options.items():
            if theirs == option:
                return ours, mine
        return ours, option


class _IdentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Code | None = None
    code: Code | None = None


class _CategoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    options: dict[Code, Code] = {}


class _MappingFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    attribute_option_combo: Code | None = None
    data_sets: dict[Code, _IdentModel] = {}
    data_elements: dict[Code, _IdentModel] = {}
    org_units: dict[Code, _IdentModel] = {}
    category_option_combos: dict[Code, Code] = {}
    categories: dict[Code, _CategoryModel] = {}


def _idents(models: dict[str, _IdentModel]) -> Mapping[str, Ident]:
    return MappingProxyType({k: Ident(v.id, v.code) for k, v in models.items()})


def load_mapping(path: Path | str | None) -> Dhis2Mapping:
    """The mapping in the YAML file at ``path`` (identity mapping when None)."""
    if path is None:
        return Dhis2Mapping()
    doc = YamlDocument.read(path, "REPORT_MAPPING_INVALID")
    m = doc.validate(_MappingFileModel)
    problems = []
    for section, entries in (("data_elements", m.data_elements), ("org_units", m.org_units)):
        seen: dict[str, str] = {}
        for ours, ident in entries.items():
            for theirs in (ident.id, ident.code):
                if theirs is None:
                    continue
                if theirs in seen and seen[theirs] != ours:
                    problems.append(
                        doc.detail(
                            (section, ours),
                            f"DHIS2 identifier '{theirs}' is mapped to both '{seen[theirs]}' "
                            f"and '{ours}'",
                            expected="each DHIS2 identifier mapped once",
                            value=theirs,
                        )
                    )
                seen[theirs] = ours
    if problems:
        raise DoseflowError.from_details(problems)
    return Dhis2Mapping(
        data_elements=_idents(m.data_elements),
        org_units=_idents(m.org_units),
        data_sets=_idents(m.data_sets),
        category_option_combos=MappingProxyType(dict(m.category_option_combos)),
        categories=MappingProxyType(
            {
                k: CategoryCodes(v.code, MappingProxyType(dict(v.options)))
                for k, v in m.categories.items()
            }
        ),
        attribute_option_combo=m.attribute_option_combo,
    )
