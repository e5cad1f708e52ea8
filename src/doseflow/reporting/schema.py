"""What a participant reports: report types, data elements and their disaggregations.

A *data element* is one figure owed in a report (doses administered, people tested...). It
may be disaggregated by *categories* (dose number, priority group, wastage reason); one
value is reported per combination of options, written as a *category key*
``dose=dose1,group=hcw`` (categories in the element's order) or ``default`` when the element
has no categories. This mirrors DHIS2's category option combos.

The built-in schema (:data:`DEFAULT_SCHEMA`) covers distribution, administration, wastage
and weekly surveillance; a schema file adds elements, categories and report types
(:mod:`doseflow.reporting.schema_file`). Each element may carry a *role* that tells the
cross-checks and plausibility methods what it means, so they keep working on renamed or
added elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from doseflow.reporting.periods import PeriodType

DEFAULT_CATEGORY_KEY = "default"


class ValueType(StrEnum):
    """The type of an element's values, named after DHIS2's value types (``INTEGER`` is
    ``integer``...) so a schema can say what the DHIS2 data element says; the rules are
    DHIS2's (:mod:`doseflow.reporting.value_types`)."""

    INTEGER = "integer"  # counts of doses or people
    NUMBER = "number"  # anything with decimals
    INTEGER_POSITIVE = "integer_positive"
    INTEGER_ZERO_OR_POSITIVE = "integer_zero_or_positive"
    INTEGER_NEGATIVE = "integer_negative"
    PERCENTAGE = "percentage"
    UNIT_INTERVAL = "unit_interval"

    @property
    def whole(self) -> bool:
        """Whether values must be whole numbers."""
        return self not in (ValueType.NUMBER, ValueType.UNIT_INTERVAL)


class Role(StrEnum):
    """What an element means to the cross-checks and plausibility methods."""

    RECEIVED = "received"
    DISTRIBUTED = "distributed"
    STOCK_ON_HAND = "stock_on_hand"
    ADMINISTERED = "administered"
    WASTED = "wasted"
    TESTED = "tested"
    POSITIVE = "positive"
    ILI = "ili"
    SARI = "sari"
    HEALTH_WORKERS_TESTED = "health_workers_tested"
    DEATHS = "deaths"


@dataclass(frozen=True)
class CategoryOption:
    code: str
    name: str


@dataclass(frozen=True)
class Category:
    """A disaggregation (e.g. dose number) and its options (dose 1, dose 2...)."""

    code: str
    name: str
    options: tuple[CategoryOption, ...]

    def option_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)


@dataclass(frozen=True)
class ReportType:
    """A report a participant owes (e.g. ``surveillance``) and the periods it may cover."""

    code: str
    name: str
    period_types: tuple[PeriodType, ...]
    description: str = ""

    @property
    def default_period_type(self) -> PeriodType:
        return self.period_types[0]


@dataclass(frozen=True)
class DataElement:
    """One figure of a report. ``minimum``/``maximum`` bound every value (inclusive)."""

    code: str
    name: str
    report: str
    value_type: ValueType = ValueType.INTEGER
    categories: tuple[str, ...] = ()
    minimum: float | None = 0.0
    maximum: float | None = None
    role: Role | None = None
    description: str = ""


@dataclass(frozen=True)
class Schema:
    """Report types, categories and data elements, checked consistent when built."""

    report_types: Mapping[str, ReportType]
    categories: Mapping[str, Category]
    elements: Mapping[str, DataElement]
    _keys: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    def element(self, code: str) -> DataElement | None:
        return self.elements.get(code)

    def elements_of(self, report: str) -> tuple[DataElement, ...]:
        return tuple(e for e in self.elements.values() if e.report == report)

    def elements_with_role(self, role: Role) -> tuple[DataElement, ...]:
        return tuple(e for e in self.elements.values() if e.role is role)

    def category_keys(self, element: DataElement) -> tuple[str, ...]:
        """Every valid category key of ``element``, in option order."""
        cached = self._keys.get(element.code)
        if cached is not None:
            return cached
        return _category_keys(element, self.categories)

    def options_of(self, key: str) -> dict[str, str]:
        """``{"dose": "dose1", ...}`` for a category key (empty for ``default``)."""
        return parse_category_key(key)


def parse_category_key(key: str) -> dict[str, str]:
    """Split ``dose=dose1,group=hcw`` into ``{"dose": "dose1", "group": "hcw"}``."""
    if key == DEFAULT_CATEGORY_KEY or not key:
        return {}
    found: dict[str, str] = {}
    for part in key.split(","):
        name, sep, option = part.partition("=")
        if not sep:
            raise ValueError(part)
        found[name.strip()] = option.strip()
    return found


def category_key(element: DataElement, options: Mapping[str, str]) -> str:
    """The canonical key for ``options`` (categories in the element's order)."""
    if not element.categories:
        return DEFAULT_CATEGORY_KEY
    return ",".join(f"{c}={options[c]}" for c in element.categories)


def _category_keys(element: DataElement, categories: Mapping[str, Category]) -> tuple[str, ...]:
    keys: list[dict[str, str]] = [{}]
    for cat_code in element.categories:
        cat = categories[cat_code]
        keys = [{**k, cat_code: opt.code} for k in keys for opt in cat.options]
    return tuple(category_key(element, k) for k in keys)


def build_schema(
    report_types: Iterable[ReportType],
    categories: Iterable[Category],
    elements: Iterable[DataElement],
) -> Schema:
    """A schema whose element keys are precomputed. Callers validate references first
    (the schema file loader does; the built-in schema is consistent by construction)."""
    rts = {r.code: r for r in report_types}
    cats = {c.code: c for c in categories}
    els = {e.code: e for e in elements}
    keys = {e.code: _category_keys(e, cats) for e in els.values()}
    return Schema(
        report_types=MappingProxyType(rts),
        categories=MappingProxyType(cats),
        elements=MappingProxyType(els),
        _keys=MappingProxyType(keys),
    )


_W = (PeriodType.WEEKLY,)
_MW = (PeriodType.MONTHLY, PeriodType.WEEKLY)

DEFAULT_REPORT_TYPES: tuple[ReportType, ...] = (
    ReportType("distribution", "Distribution and receipt", _MW, "doses received, sent on, held"),
    ReportType("administration", "Doses administered", _MW, "by dose, priority group, region"),
    ReportType("wastage", "Wastage", _MW, "doses wasted, by reason"),
    ReportType("surveillance", "Weekly surveillance", _W, "tests, positives, ILI, SARI, deaths"),
)

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        "dose",
        "Dose number",
        (
            CategoryOption("dose1", "Dose 1"),
            CategoryOption("dose2", "Dose 2"),
            CategoryOption("booster1", "First booster"),
            CategoryOption("booster2", "Second booster"),
        ),
    ),
    Category(
        "group",
        "Priority group",
        (
            CategoryOption("hcw", "Health and care workers"),
            CategoryOption("older", "Older adults (60+)"),
            CategoryOption("comorbid", "Adults with underlying conditions"),
            CategoryOption("other_priority", "Other priority groups"),
            CategoryOption("general", "General population"),
        ),
    ),
    Category(
        "reason",
        "Wastage reason",
        (
            CategoryOption("expired", "Expired"),
            CategoryOption("temperature", "Temperature excursion"),
            CategoryOption("open_vial", "Opened vial not used in time"),
            CategoryOption("damaged", "Broken or damaged"),
            CategoryOption("other", "Other or unknown"),
        ),
    ),
)

DEFAULT_ELEMENTS: tuple[DataElement, ...] = (
    DataElement("doses_received", "Doses received", "distribution", role=Role.RECEIVED),
    DataElement("doses_distributed", "Doses sent on", "distribution", role=Role.DISTRIBUTED),
    DataElement(
        "stock_on_hand",
        "Doses in stock at period end",
        "distribution",
        role=Role.STOCK_ON_HAND,
    ),
    DataElement(
        "doses_administered",
        "Doses administered",
        "administration",
        categories=("dose", "group"),
        role=Role.ADMINISTERED,
    ),
    DataElement(
        "doses_wasted", "Doses wasted", "wastage", categories=("reason",), role=Role.WASTED
    ),
    DataElement("people_tested", "People tested", "surveillance", role=Role.TESTED),
    DataElement("positives", "People testing positive", "surveillance", role=Role.POSITIVE),
    DataElement("ili_cases", "Influenza-like illness cases", "surveillance", role=Role.ILI),
    DataElement(
        "sari_cases", "Severe acute respiratory infection cases", "surveillance", role=Role.SARI
    ),
    DataElement(
        "health_workers_tested",
        "Health workers tested",
        "surveillance",
        role=Role.HEALTH_WORKERS_TESTED,
    ),
    DataElement("deaths", "Deaths", "surveillance", role=Role.DEATHS),
)

#: The built-in schema; a schema file extends it.
DEFAULT_SCHEMA: Schema = build_schema(DEFAULT_REPORT_TYPES, DEFAULT_CATEGORIES, DEFAULT_ELEMENTS)
