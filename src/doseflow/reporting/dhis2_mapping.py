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
    attribute_option_combos:           # attribute option combo key -> DHIS2 identifier
      funder=gavi: {id: AocGavi0001, code: GAVI}

``attribute_option_combo`` (one identifier) is the DHIS2 identifier of the ``default``
attribute option combo, kept for files written before ``attribute_option_combos``; an entry
``default:`` in that section wins over it.

A category or attribute option combo is a bare UID (as above) or ``{id: ..., code: ...}``,
like the others.

Identifier schemes (DHIS2's ``idScheme``, ``dataElementIdScheme``, ``orgUnitIdScheme``,
``categoryOptionComboIdScheme``...) are UID or CODE, applied strictly: an export under UID
writes only UIDs from this file and refuses (``REPORT_DHIS2_UNMAPPED_ID``) an identifier that
has none, rather than pass a doseflow code off as a UID; under CODE it writes the mapped code,
or the doseflow code where none is mapped. An import under a scheme reads identifiers of that
scheme only; with no scheme ("auto", doseflow's default) either is recognised. ADX uses
codes, as DHIS2 does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from doseflow.data.fields import Code
from doseflow.domain.errors import DoseflowError
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY
from doseflow.reporting.values import DEFAULT_ATTRIBUTE_KEY
from doseflow.reporting.yaml_source import YamlDocument


class IdScheme(StrEnum):
    UID = "uid"
    CODE = "code"


#: DHIS2's UID (CodeGenerator.isValidUid): 11 characters, a letter then letters or digits.
UID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
UID_RULE = "an 11-character DHIS2 UID (a letter, then 10 letters or digits)"


def is_uid(text: str) -> bool:
    return UID_PATTERN.match(text) is not None


def parse_id_scheme(
    text: str, fld: str, *, source: str | None = None, auto: bool = False
) -> IdScheme | None:
    """``uid``/``UID`` or ``code``/``CODE`` (``auto`` -> None where allowed). DHIS2's NAME,
    ID and ATTRIBUTE:<uid> schemes are refused: doseflow keeps no names or attributes."""
    cleaned = str(text).strip().lower()
    if auto and cleaned == "auto":
        return None
    try:
        return IdScheme(cleaned)
    except ValueError:
        raise DoseflowError(
            "REPORT_ID_SCHEME_UNSUPPORTED",
            f"identifier scheme '{text}' is not supported",
            source=source,
            field=fld,
            expected="UID or CODE" + (" (or auto: either)" if auto else ""),
            value=text,
        ) from None


class IdKind(StrEnum):
    """The identifiers a data value set carries, by DHIS2's field names."""

    DATA_SET = "dataSet"
    DATA_ELEMENT = "dataElement"
    ORG_UNIT = "orgUnit"
    CATEGORY_OPTION_COMBO = "categoryOptionCombo"
    ATTRIBUTE_OPTION_COMBO = "attributeOptionCombo"

    @property
    def parameter(self) -> str:
        """DHIS2's name for this kind's scheme (``dataElementIdScheme``...)."""
        return f"{self.value}IdScheme"

    @property
    def section(self) -> str:
        """The mapping file's section for this kind."""
        return _SECTIONS[self]


_SECTIONS = {
    IdKind.DATA_SET: "data_sets",
    IdKind.DATA_ELEMENT: "data_elements",
    IdKind.ORG_UNIT: "org_units",
    IdKind.CATEGORY_OPTION_COMBO: "category_option_combos",
    IdKind.ATTRIBUTE_OPTION_COMBO: "attribute_option_combos",
}


@dataclass(frozen=True)
class IdSchemes:
    """The scheme of each kind of identifier: its own if given, else ``general`` (DHIS2's
    ``idScheme``); None throughout means "auto" (either is recognised, import only)."""

    general: IdScheme | None = None
    data_set: IdScheme | None = None
    data_element: IdScheme | None = None
    org_unit: IdScheme | None = None
    category_option_combo: IdScheme | None = None
    attribute_option_combo: IdScheme | None = None

    def of(self, kind: IdKind) -> IdScheme | None:
        own: IdScheme | None = getattr(self, _ATTRS[kind])
        return own if own is not None else self.general

    def over(self, base: IdSchemes) -> IdSchemes:
        """These schemes where given, ``base``'s elsewhere."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(base, **{k: v for k, v in given.items() if v is not None})

    @classmethod
    def parse(
        cls,
        given: Mapping[IdKind | None, str | None],
        *,
        source: str | None = None,
        auto: bool = False,
        names: Mapping[IdKind | None, str] | None = None,
    ) -> IdSchemes:
        """Schemes from text (None: not given). ``names`` says what each was called where
        it was written (a CLI option, a JSON key), for errors."""
        found: dict[str, IdScheme | None] = {}
        for kind, text in given.items():
            if text is None:
                continue
            name = (names or {}).get(kind) or (kind.parameter if kind else "idScheme")
            found[_ATTRS[kind] if kind else "general"] = parse_id_scheme(
                text, name, source=source, auto=auto
            )
        return cls(**found)


_ATTRS = {
    IdKind.DATA_SET: "data_set",
    IdKind.DATA_ELEMENT: "data_element",
    IdKind.ORG_UNIT: "org_unit",
    IdKind.CATEGORY_OPTION_COMBO: "category_option_combo",
    IdKind.ATTRIBUTE_OPTION_COMBO: "attribute_option_combo",
}


@dataclass(frozen=True)
class Ident:
    id: str | None = None
    code: str | None = None


#: DHIS2's default category option combo, also its default attribute option combo: the same
#: UID and code on every DHIS2 instance (fixed by dhis2-core's DefaultCategoryService), so
#: an unmapped ``default`` is written and read as DHIS2 writes it.
DHIS2_DEFAULT_COMBO = Ident(id="HllvX50cXC0", code="default")


@dataclass(frozen=True)
class CategoryCodes:
    code: str
    options: Mapping[str, str]  # doseflow option -> ADX option code


class _Lookup:
    """Both directions of one kind of identifier."""

    def __init__(self, forward: Mapping[str, Ident]) -> None:
        self.forward = forward
        self.back: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.by_code: dict[str, str] = {}
        for ours, ident in forward.items():
            if ident.code:
                self.back[ident.code] = ours
                self.by_code[ident.code] = ours
            if ident.id:
                self.back[ident.id] = ours
                self.by_id[ident.id] = ours

    def strict_out(self, ours: str, scheme: IdScheme) -> str | None:
        """``ours`` under ``scheme``: the mapped UID (None when there is none), or the
        mapped code, else ``ours`` itself (doseflow's codes are codes)."""
        ident = self.forward.get(ours)
        if scheme is IdScheme.UID:
            return ident.id if ident is not None else None
        return (ident.code if ident is not None else None) or ours

    def strict_into(self, theirs: str, scheme: IdScheme | None) -> str | None:
        """The doseflow code ``theirs`` names under ``scheme`` (either when None); an
        unmapped identifier of the right form passes through (validation judges it); None
        when ``theirs`` is not of the scheme (a code under UID, a mapped UID under CODE)."""
        if scheme is None:
            return self.back.get(theirs, theirs)
        if scheme is IdScheme.UID:
            found = self.by_id.get(theirs)
            if found is not None:
                return found
            return theirs if is_uid(theirs) and theirs not in self.by_code else None
        found = self.by_code.get(theirs)
        if found is not None:
            return found
        if theirs in self.by_id:
            return None
        ident = self.forward.get(theirs)
        if ident is not None and ident.code and ident.code != theirs:
            return None  # a doseflow code whose DHIS2 code differs
        return theirs


@dataclass(frozen=True)
class Dhis2Mapping:
    data_elements: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    org_units: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    data_sets: Mapping[str, Ident] = field(default_factory=lambda: MappingProxyType({}))
    category_option_combos: Mapping[str, Ident] = field(
        default_factory=lambda: MappingProxyType({})
    )
    categories: Mapping[str, CategoryCodes] = field(default_factory=lambda: MappingProxyType({}))
    attribute_option_combo: str | Ident | None = None
    attribute_option_combos: Mapping[str, str | Ident] = field(
        default_factory=lambda: MappingProxyType({})
    )
    _de: _Lookup = field(init=False, repr=False, compare=False)
    _ou: _Lookup = field(init=False, repr=False, compare=False)
    _ds: _Lookup = field(init=False, repr=False, compare=False)
    _coc: _Lookup = field(init=False, repr=False, compare=False)
    _aoc: _Lookup = field(init=False, repr=False, compare=False)
    _cat_back: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cocs = {  # bare strings are UIDs (the form mapping files had first)
            k: v if isinstance(v, Ident) else Ident(id=v)
            for k, v in self.category_option_combos.items()
        }
        cocs.setdefault(DEFAULT_CATEGORY_KEY, DHIS2_DEFAULT_COMBO)
        object.__setattr__(self, "category_option_combos", MappingProxyType(cocs))
        if isinstance(self.attribute_option_combo, str):
            object.__setattr__(
                self, "attribute_option_combo", Ident(id=self.attribute_option_combo)
            )
        object.__setattr__(self, "_de", _Lookup(self.data_elements))
        object.__setattr__(self, "_ou", _Lookup(self.org_units))
        object.__setattr__(self, "_ds", _Lookup(self.data_sets))
        object.__setattr__(self, "_coc", _Lookup(cocs))
        aocs = {
            k: v if isinstance(v, Ident) else Ident(id=v)
            for k, v in self.attribute_option_combos.items()
        }
        default = self.attribute_option_combo
        if isinstance(default, Ident) and DEFAULT_ATTRIBUTE_KEY not in aocs:
            aocs[DEFAULT_ATTRIBUTE_KEY] = default
        aocs.setdefault(DEFAULT_ATTRIBUTE_KEY, DHIS2_DEFAULT_COMBO)
        object.__setattr__(self, "attribute_option_combos", MappingProxyType(aocs))
        object.__setattr__(self, "_aoc", _Lookup(aocs))
        object.__setattr__(self, "_cat_back", {c.code: ours for ours, c in self.categories.items()})

    def _lookup(self, kind: IdKind) -> _Lookup:
        return {
            IdKind.DATA_SET: self._ds,
            IdKind.DATA_ELEMENT: self._de,
            IdKind.ORG_UNIT: self._ou,
            IdKind.CATEGORY_OPTION_COMBO: self._coc,
            IdKind.ATTRIBUTE_OPTION_COMBO: self._aoc,
        }[kind]

    def identifier_out(self, kind: IdKind, ours: str, scheme: IdScheme) -> str | None:
        """DHIS2's identifier for doseflow's ``ours`` under ``scheme``; None if the
        mapping gives it no UID (see :meth:`_Lookup.strict_out`)."""
        return self._lookup(kind).strict_out(ours, scheme)

    def identifier_in(self, kind: IdKind, theirs: str, scheme: IdScheme | None) -> str | None:
        """The doseflow code DHIS2's ``theirs`` names under ``scheme`` (None: either);
        None if ``theirs`` is not an identifier of that scheme."""
        return self._lookup(kind).strict_into(theirs, scheme)

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
    attribute_option_combo: Code | _IdentModel | None = None
    data_sets: dict[Code, _IdentModel] = {}
    data_elements: dict[Code, _IdentModel] = {}
    org_units: dict[Code, _IdentModel] = {}
    category_option_combos: dict[Code, Code | _IdentModel] = {}
    attribute_option_combos: dict[Code, Code | _IdentModel] = {}
    categories: dict[Code, _CategoryModel] = {}


def _ident(model: str | _IdentModel) -> Ident:
    return Ident(id=model) if isinstance(model, str) else Ident(model.id, model.code)


def _idents(models: Mapping[str, str | _IdentModel]) -> Mapping[str, Ident]:
    return MappingProxyType({k: _ident(v) for k, v in models.items()})


def load_mapping(path: Path | str | None) -> Dhis2Mapping:
    """The mapping in the YAML file at ``path`` (identity mapping when None)."""
    if path is None:
        return Dhis2Mapping()
    return _mapping_of(YamlDocument.read(path, "REPORT_MAPPING_INVALID"))


def mapping_from_text(text: str, source: str) -> Dhis2Mapping:
    """The mapping in a mapping file's text (as stored by ``doseflow report mapping load``);
    ``source`` names it in errors. The same checks as :func:`load_mapping`."""
    return _mapping_of(YamlDocument(source, text, "REPORT_MAPPING_INVALID"))


def _mapping_of(doc: YamlDocument) -> Dhis2Mapping:
    m = doc.validate(_MappingFileModel)
    problems = []
    sections: dict[str, Mapping[str, Ident]] = {
        "data_sets": _idents(m.data_sets),
        "data_elements": _idents(m.data_elements),
        "org_units": _idents(m.org_units),
        "category_option_combos": _idents(m.category_option_combos),
        "attribute_option_combos": _idents(m.attribute_option_combos),
    }
    if m.attribute_option_combo is not None:
        aoc = _ident(m.attribute_option_combo)
        if aoc.id is not None and not is_uid(aoc.id):
            problems.append(
                doc.detail(
                    ("attribute_option_combo",),
                    f"'{aoc.id}' is not a DHIS2 UID",
                    expected=UID_RULE,
                    value=aoc.id,
                )
            )
    for section, entries in sections.items():
        for ours, ident in entries.items():
            if ident.id is not None and not is_uid(ident.id):
                problems.append(
                    doc.detail(
                        (section, ours),
                        f"'{ident.id}' is not a DHIS2 UID",
                        expected=UID_RULE + " (a code goes under 'code:')",
                        value=ident.id,
                    )
                )
    for section in (
        "data_elements",
        "org_units",
        "category_option_combos",
        "attribute_option_combos",
    ):
        entries = sections[section]
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
        data_elements=sections["data_elements"],
        org_units=sections["org_units"],
        data_sets=sections["data_sets"],
        category_option_combos=sections["category_option_combos"],
        attribute_option_combos=sections["attribute_option_combos"],
        categories=MappingProxyType(
            {
                k: CategoryCodes(v.code, MappingProxyType(dict(v.options)))
                for k, v in m.categories.items()
            }
        ),
        attribute_option_combo=None
        if m.attribute_option_combo is None
        else _ident(m.attribute_option_combo),
    )
