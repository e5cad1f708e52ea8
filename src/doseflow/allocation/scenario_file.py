"""Reading a scenario from YAML or TOML, validated with pydantic.

Every problem is reported at once with a stable code, the file, the line (YAML and TOML,
see :mod:`doseflow.allocation.scenario_locate`), the field path
(``participants[3].ceiling``), what was expected and what was found: each item is
validated on its own and the cross-reference checks run on every part in the same pass.
Nothing is returned (and so nothing written) unless the whole file is valid.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doseflow.allocation.policy import (
    CeilingRounding,
    ComplianceGate,
    Phase,
    Policy,
    SevereSupply,
    SharingWeight,
    ThreatWeights,
)
from doseflow.allocation.scenario import Decline, Redirect, RoundKind, RoundSpec, Scenario
from doseflow.allocation.scenario_locate import Locator, NoLocator, TomlLocator, YamlLocator
from doseflow.allocation.scenario_usage import unused_fields
from doseflow.data.fields import (
    BoundedDate,
    Code,
    FreeText,
    Identifier,
    Label,
    Name,
    Number,
    Quantity,
    expected_text,
)
from doseflow.data.population import countries
from doseflow.data.time_zones import EXPECTED as ZONE_EXPECTED
from doseflow.data.time_zones import is_zone_name
from doseflow.data.user_files import (
    DATE_ERRORS,
    DocumentRefused,
    check_document_depth,
    check_document_size,
    document_error,
    expected_for,
    parse_yaml_with_lines,
)
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_DOCUMENT_DEPTH, MAX_ROUND_NUMBER
from doseflow.domain.participant import Demand, Participant, ThreatInputs
from doseflow.domain.product import Financing, Product, ProductKind
from doseflow.domain.supply import Membership, Origin, Tranche
from doseflow.domain.temperature import TemperatureBand

# ---------------------------------------------------------------------------------------
# The document, as pydantic models (field names are the file's keys)
# ---------------------------------------------------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LicenceDoc(_Doc):
    iso3: list[str] | None = None
    financing: list[Financing] | None = None


class MembersDoc(_Doc):
    """Who may draw from a tranche's pool: financing groups and/or participants' ISO3."""

    financing: list[Financing] = Field(default_factory=list)
    iso3: list[str] = Field(default_factory=list)


class ProductDoc(_Doc):
    code: Code
    name: Label = ""
    manufacturer: Label = ""
    kind: ProductKind = ProductKind.VACCINE
    doses_per_course: Quantity = Field(2, ge=1)
    storage: TemperatureBand = TemperatureBand.CHILLED
    shelf_life_days: Quantity = Field(180, ge=1)
    doses_per_vial: Quantity = Field(10, ge=1)
    pack_doses: Quantity = Field(ge=1)
    vials_per_shipper: Quantity | None = Field(None, ge=1)
    licence: LicenceDoc | None = None
    unit_name: Label = "dose"


class ThreatDoc(_Doc):
    share_older: Number | None = Field(None, ge=0, le=1)
    health_system_capacity: Number | None = Field(None, ge=0, le=1)
    deaths_per_million: Number = Field(0.0, ge=0)


class ParticipantDoc(_Doc):
    iso3: str
    name: Name | None = None
    population: Quantity | None = Field(None, ge=1)
    financing: Financing
    ceiling: Number = Field(0.20, ge=0, le=1)
    authorised: list[Code] | Literal["all"] = "all"
    indemnified: list[Code] | Literal["all"] = "all"
    deployment_plan: bool = True
    import_permit: bool = True
    cold_chain: list[TemperatureBand] = Field(
        default_factory=lambda: [TemperatureBand.CHILLED, TemperatureBand.AMBIENT]
    )
    other_sources_doses: Quantity = Field(0, ge=0)
    opt_out: list[Code] = Field(default_factory=list)
    delays: dict[Code, BoundedDate] = Field(default_factory=dict)
    lead_time_days: Quantity | None = Field(None, ge=0)
    threat: ThreatDoc = Field(default_factory=ThreatDoc)
    absorption_per_month: Quantity | None = Field(None, ge=0)
    requests: dict[Code, Quantity] = Field(default_factory=dict)
    requested_coverage: dict[Code, Annotated[Number, Field(ge=0, le=1)]] = Field(
        default_factory=dict
    )
    share_of_level: Number | None = Field(None, gt=0, le=1)
    awaiting_second_dose: dict[Code, Quantity] = Field(default_factory=dict)
    # IANA zone whose days the reporting compliance gate judges due dates in (like
    # compliance_gate, kept when the gate is off: `--compliance-gate` turns it on)
    time_zone: str | None = Field(None, max_length=64)


class ThreatWeightsDoc(_Doc):
    older: Number = Field(1.0, ge=0)
    health_system: Number = Field(1.0, ge=0)
    deaths: Number = Field(1.0, ge=0)
    older_age: Literal[50, 55, 60, 65, 70, 75, 80] = 65
    base: Number = Field(0.25, ge=0)


class SevereDoc(_Doc):
    enabled: bool = True
    threshold: Number = Field(0.01, ge=0, le=1)
    min_packs: Quantity = Field(1, ge=0)


class ComplianceGateDoc(_Doc):
    enabled: bool = False
    lookback_periods: Quantity = Field(4, ge=1)
    max_missing: Quantity = Field(0, ge=0)
    max_late: Quantity | None = Field(None, ge=0)


class PolicyDoc(_Doc):
    ladder: list[Number] = Field(default_factory=lambda: [0.03, 0.20], min_length=1)
    floors: dict[Code, Quantity] = Field(default_factory=dict)
    caps: dict[Code, Quantity] = Field(default_factory=dict)
    cap_share_of_pool: Number | None = Field(None, ge=0, le=1)
    humanitarian_buffer: Number = Field(0.0, ge=0, le=1)
    count_other_sources: bool = True
    other_sources_doses_per_course: Quantity = Field(2, ge=1)
    phase: Literal[1, 2] = 1
    target: Number = Field(0.70, gt=0, le=1)
    phase2_weight: SharingWeight = SharingWeight.DEMAND
    need_per_1000: dict[Code, Number] = Field(default_factory=dict)
    min_days_before_expiry: Quantity = Field(0, ge=0)
    lead_time_days: Quantity = Field(14, ge=0)
    threat: ThreatWeightsDoc = Field(default_factory=ThreatWeightsDoc)
    severe: SevereDoc = Field(default_factory=SevereDoc)
    compliance_gate: ComplianceGateDoc = Field(default_factory=ComplianceGateDoc)
    ceiling_rounding: CeilingRounding = CeilingRounding.NEAREST
    floors_prevail: bool = True


class TrancheDoc(_Doc):
    id: Identifier | None = None
    product: Code
    doses: Quantity = Field(ge=0)
    available: BoundedDate | None = None
    origin: Origin = Origin.PURCHASE
    donor: Name | None = None
    earmarked: list[Code] | None = None
    expiry: BoundedDate | None = None
    members: MembersDoc | None = None


class RoundDoc(_Doc):
    number: Quantity | None = Field(None, ge=1, le=MAX_ROUND_NUMBER)
    name: Name | None = None
    date: BoundedDate
    kind: RoundKind = RoundKind.REGULAR
    phase: Literal[1, 2] | None = None
    months: Number = Field(1.0, gt=0)
    completes: list[Code] = Field(default_factory=list)
    policy: dict[str, Any] | None = None
    tranches: list[TrancheDoc] = Field(default_factory=list)


class DeclineDoc(_Doc):
    round: Quantity = Field(ge=1, le=MAX_ROUND_NUMBER)
    product: Code
    iso3: str
    doses: Quantity | None = Field(None, ge=0)
    reason: FreeText = ""
    redirect: Redirect | None = None
    recipients: list[Code] = Field(default_factory=list)
    pool: Label | None = None


class ScenarioDoc(_Doc):
    name: Name
    description: FreeText = ""
    products: list[ProductDoc] = Field(min_length=1)
    participants: list[ParticipantDoc] = Field(min_length=1)
    policy: PolicyDoc = Field(default_factory=PolicyDoc)
    rounds: list[RoundDoc] = Field(min_length=1)
    declines: list[DeclineDoc] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Naming a field and its problem
# ---------------------------------------------------------------------------------------


def _field(path: Sequence[int | str]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_CEILING_FIELDS = {"ceiling", "ladder", "target"}


def _code_for(error: Mapping[str, Any]) -> tuple[str, str]:
    """Our stable code and what was expected, for one pydantic error."""
    kind = str(error["type"])
    loc = [p for p in error["loc"] if isinstance(p, str)]
    name = loc[-1] if loc else ""
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in ("less_than_equal", "less_than") and (
        name in _CEILING_FIELDS or "ladder" in loc or "requested_coverage" in loc
    ):
        return "ALLOC_CEILING_ABOVE_100", "a share between 0 and 1 (20% is written 0.2)"
    bounded = expected_text(error)
    if bounded is not None:
        return "ALLOC_INVALID_FIELD", bounded
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        if isinstance(value, int | float) and value < 0:
            return "ALLOC_NEGATIVE_QUANTITY", f"a number >= {limit}"
        return "ALLOC_INVALID_FIELD", f"a number {'>=' if 'ge' in ctx else '>'} {limit}"
    if kind == "missing":
        return "ALLOC_MISSING_FIELD", "this field to be present"
    if kind == "extra_forbidden":
        return "ALLOC_UNKNOWN_FIELD", "only the fields described in docs/allocation.md"
    if kind == "enum" and name == "ceiling_rounding":
        return "ALLOC_BAD_ROUNDING", "one of: " + ", ".join(r.value for r in CeilingRounding)
    if kind == "enum" or kind == "literal_error":
        return "ALLOC_INVALID_FIELD", str(ctx.get("expected", "one of the allowed values"))
    if kind in DATE_ERRORS or kind == "date_from_datetime_inexact":
        return "ALLOC_INVALID_FIELD", expected_for(error, None)
    return "ALLOC_INVALID_FIELD", str(error.get("msg", "a valid value"))


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


_TOML_LINE = re.compile(r"line (\d+)(?:, column (\d+))?")


_TOML_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def _refuse_toml_date(text: str, source: str, line: int, column: int) -> None:
    """TOML reads ``2021-13-01`` as the number 2021 followed by stray text; when the error
    points into such an impossible date, say that instead of "expected newline"."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return
    for found in _TOML_DATE.finditer(lines[line - 1]):
        if found.start() < column <= found.end() + 1:
            try:
                date.fromisoformat(found.group())
            except ValueError as exc:
                raise DoseflowError(
                    "ALLOC_MALFORMED_FILE",
                    f"'{found.group()}' is not a possible date: {exc}",
                    source=source,
                    line=line,
                    column=found.start() + 1,
                    expected="a real date YYYY-MM-DD",
                    value=found.group(),
                ) from None


def _read(path: Path) -> tuple[Any, Locator]:
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise DoseflowError(
            "ALLOC_UNSUPPORTED_FORMAT",
            "a scenario file must be YAML or TOML",
            source=source,
            expected="a file ending in .yaml, .yml or .toml",
            value=path.suffix or path.name,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise DoseflowError(
            "ALLOC_FILE_NOT_FOUND",
            "no such scenario file",
            source=source,
            expected="the path of an existing YAML or TOML file",
            value=str(path),
        ) from err
    except UnicodeDecodeError as err:
        raise DoseflowError(
            "ALLOC_MALFORMED_FILE",
            "the file is not UTF-8 text",
            source=source,
            expected="a UTF-8 encoded YAML or TOML file",
        ) from err
    return parse_text(text, "toml" if suffix == ".toml" else "yaml", source)


def parse_text(text: str, fmt: str, source: str) -> tuple[Any, Locator]:
    """The data of a YAML or TOML text, and a locator for the lines of its fields."""
    if fmt == "toml":
        try:
            check_document_size(text)
            data = tomllib.loads(text)
            check_document_depth(data)
        except DocumentRefused as err:
            raise document_error(err, "ALLOC_MALFORMED_FILE", source, "TOML syntax") from None
        except RecursionError:  # tomllib recurses into nested inline tables and arrays
            raise DoseflowError(
                "ALLOC_MALFORMED_FILE",
                "inline tables and arrays are nested too deep",
                source=source,
                expected=f"at most {MAX_DOCUMENT_DEPTH} levels of nesting",
            ) from None
        except tomllib.TOMLDecodeError as err:
            m = _TOML_LINE.search(str(err))
            at_end = "end of document" in str(err)
            if m and m.group(2):
                _refuse_toml_date(text, source, int(m.group(1)), int(m.group(2)))
            raise DoseflowError(
                "ALLOC_MALFORMED_FILE",
                f"not valid TOML: {str(err).split(' (at')[0]}",
                source=source,
                line=int(m.group(1)) if m else (text.count("\n") + 1 if at_end else None),
                column=int(m.group(2)) if m and m.group(2) else None,
                expected="TOML syntax (https://toml.io)",
            ) from err
        return data, TomlLocator(text)
    try:
        data, lines = parse_yaml_with_lines(text)
    except yaml.YAMLError as err:
        raise document_error(err, "ALLOC_MALFORMED_FILE", source, "YAML syntax") from None
    return data, YamlLocator(lines)


def read_scenario_file(path: Path) -> tuple[Any, Locator]:
    """The data of a scenario file (YAML or TOML) and a locator for its lines, unchecked."""
    return _read(path)


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in a YAML or TOML file, fully validated (raises :class:`DoseflowError`)."""
    p = Path(path)
    data, locator = _read(p)
    return scenario_from_document(data, source=str(p), locator=locator)


def parse_scenario(text: str, fmt: str = "yaml", source: str = "<scenario>") -> Scenario:
    """A scenario from YAML or TOML text (as uploaded to the REST service)."""
    data, locator = parse_text(text, fmt, source)
    return scenario_from_document(data, source=source, locator=locator)


def scenario_from_document(
    data: Any,
    *,
    source: str | None = None,
    locator: Locator | None = None,
    check_unused: bool = True,
) -> Scenario:
    """A scenario from already-parsed data (e.g. the document kept in the store).

    ``check_unused=False`` skips the unused-field rule (ALLOC_FIELD_UNUSED) only: the store
    reads back documents accepted when they were stored, perhaps before the rule existed,
    and a stored scenario must stay readable.

    Every problem is reported in one :class:`DoseflowError`: type and range problems of each
    product, participant, round, tranche and decline, and the cross-reference checks (unknown
    ISO3, unknown product, duplicates, ...) on every part that did parse."""
    loc = locator or NoLocator()
    try:
        check_document_depth(data)  # a JSON body is not parsed by parse_text
    except DocumentRefused as err:
        raise document_error(err, "ALLOC_MALFORMED_FILE", source, "a scenario") from None
    if not isinstance(data, Mapping):
        raise DoseflowError(
            "ALLOC_MALFORMED_FILE",
            "a scenario must be a mapping of sections (name, products, participants, ...)",
            source=source,
            line=1 if loc.known else None,
            expected="a mapping at the top level",
            value=type(data).__name__,
        )
    parts = _Parts(dict(data), source, loc)
    builder = _Builder(parts, source, loc, check_unused=check_unused)
    scenario = builder.build()
    problems = sorted(
        [*parts.problems, *builder.problems],
        key=lambda d: (d.location.line is None, d.location.line or 0),
    )
    if problems or scenario is None:
        raise DoseflowError.from_details(problems)
    return scenario


def tranche_from_doc(t: TrancheDoc, tid: str, default_date: date) -> Tranche:
    """The :class:`Tranche` a tranche entry describes (``tid``: its id, given or made up;
    ``default_date``: when it is available unless it says). One translation for scenario
    files and revisions' added tranches, so no field of the entry is dropped by either."""
    return Tranche(
        id=tid,
        product=t.product,
        doses=t.doses,
        available=t.available or default_date,
        origin=t.origin,
        donor=t.donor,
        earmarked=None if t.earmarked is None else frozenset(c.upper() for c in t.earmarked),
        expiry=t.expiry,
        members=None
        if t.members is None
        else Membership(
            financing=frozenset(t.members.financing),
            iso3=frozenset(c.upper() for c in t.members.iso3),
        ),
    )


def _details(
    err: ValidationError, prefix: Sequence[int | str], source: str | None, loc: Locator
) -> list[ErrorDetail]:
    """Our error details for a pydantic error, located under ``prefix``."""
    details = []
    for e in err.errors():
        code, expected = _code_for(e)
        path = [*prefix, *[p for p in e["loc"] if isinstance(p, str | int)]]
        # pydantic adds the union member tried ("list[str]", "literal['all']"): drop it
        path = [p for p in path if not (isinstance(p, str) and ("[" in p or "'" in p))]
        value = e.get("input")
        details.append(
            ErrorDetail(
                code,
                str(e["msg"]),
                ErrorLocation(source=source, line=loc.line(path), field=_field(path)),
                expected=expected,
                value=value if isinstance(value, str | int | float) else None,
            )
        )
    return details


class _Shell(_Doc):
    """The top level only: sections are checked one item at a time by :class:`_Parts`."""

    name: Name
    description: FreeText = ""
    products: list[Any] = Field(min_length=1)
    participants: list[Any] = Field(min_length=1)
    policy: dict[str, Any] | None = None
    rounds: list[Any] = Field(min_length=1)
    declines: list[Any] = Field(default_factory=list)


_ItemDoc = TypeVar("_ItemDoc", bound=_Doc)


class _Parts:
    """The document validated section by section and item by item, so one bad item does
    not hide the others: each section keeps the items that parsed, with their index in
    the file, and the codes every product and participant entry names (parsed or not)."""

    def __init__(self, data: dict[str, Any], source: str | None, loc: Locator) -> None:
        self.data = data
        self.source = source
        self.loc = loc
        self.problems: list[ErrorDetail] = []
        #: items that did not parse, kept as written so their references are checked too
        self.failed: list[tuple[type[_Doc], list[int | str], dict[str, Any]]] = []
        try:
            _Shell.model_validate(data)
        except ValidationError as err:
            self.problems.extend(_details(err, [], source, loc))
        self.name = data.get("name") if isinstance(data.get("name"), str) else None
        self.products = self._items("products", ProductDoc)
        self.participants = self._items("participants", ParticipantDoc)
        self.policy = self._one(data.get("policy") or {}, ["policy"], PolicyDoc)
        self.rounds = self._rounds()
        self.declines = self._items("declines", DeclineDoc)
        self.product_codes = self._codes("products", "code", upper=False)
        self.iso3_codes = self._codes("participants", "iso3", upper=True)

    @property
    def valid(self) -> bool:
        return not self.problems

    def _one(self, raw: Any, path: list[int | str], model: type[_ItemDoc]) -> _ItemDoc | None:
        try:
            return model.model_validate(raw)
        except ValidationError as err:
            self.problems.extend(_details(err, path, self.source, self.loc))
            if isinstance(raw, dict):
                self.failed.append((model, path, raw))
            return None

    def _items(self, section: str, model: type[_ItemDoc]) -> list[tuple[int, _ItemDoc]]:
        raw = self.data.get(section)
        if not isinstance(raw, list):
            return []
        out = []
        for i, item in enumerate(raw):
            doc = self._one(item, [section, i], model)
            if doc is not None:
                out.append((i, doc))
        return out

    def _rounds(self) -> list[tuple[int, RoundDoc, list[tuple[int, TrancheDoc]]]]:
        """Rounds, each with the tranches that parsed (a bad tranche leaves its round and
        the other tranches checked)."""
        raw = self.data.get("rounds")
        if not isinstance(raw, list):
            return []
        out = []
        for i, item in enumerate(raw):
            tranches_raw = item.get("tranches") if isinstance(item, dict) else None
            if isinstance(item, dict) and isinstance(tranches_raw, list):
                doc = self._one({**item, "tranches": []}, ["rounds", i], RoundDoc)
                tranches = []
                for k, t in enumerate(tranches_raw):
                    tranche = self._one(t, ["rounds", i, "tranches", k], TrancheDoc)
                    if tranche is not None:
                        tranches.append((k, tranche))
            else:
                doc = self._one(item, ["rounds", i], RoundDoc)
                tranches = [] if doc is None else list(enumerate(doc.tranches))
            if doc is not None:
                out.append((i, doc, tranches))
        return out

    def _codes(self, section: str, key: str, *, upper: bool) -> set[str]:
        raw = self.data.get(section)
        codes: set[str] = set()
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                codes.add(item[key].upper() if upper else item[key])
        return codes


def _strings(value: Any) -> list[tuple[int, str]]:
    """The strings of a list with their positions (nothing when it is not a list)."""
    return (
        [(j, v) for j, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )


class _Builder:
    """Cross-checks the validated document and builds the domain objects."""

    def __init__(
        self, parts: _Parts, source: str | None, locator: Locator, *, check_unused: bool = True
    ) -> None:
        self.parts = parts
        self.check_unused = check_unused
        self.source = source
        self.locator = locator
        self.problems: list[ErrorDetail] = []
        # every code the file lists, even in an entry with other problems, so a reference
        # to it is not reported as unknown as well
        self.products: set[str] = parts.product_codes
        self.iso3: set[str] = parts.iso3_codes

    def problem(
        self, code: str, message: str, path: Sequence[int | str], expected: str, value: Any
    ) -> None:
        self.problems.append(
            ErrorDetail(
                code,
                message,
                ErrorLocation(source=self.source, line=self.locator.line(path), field=_field(path)),
                expected=expected,
                value=value,
            )
        )

    def product_ref(self, code: str, path: Sequence[int | str], what: str) -> None:
        if code not in self.products:
            self.problem(
                "ALLOC_UNKNOWN_PRODUCT",
                f"{what} names product '{code}', which the scenario does not define",
                path,
                "one of " + ", ".join(sorted(self.products)),
                code,
            )

    def iso3_ref(self, code: str, path: Sequence[int | str], what: str) -> None:
        if code.upper() not in self.iso3:
            self.problem(
                "ALLOC_UNKNOWN_PARTICIPANT",
                f"{what} names '{code}', which is not a participant of the scenario",
                path,
                "the ISO3 code of a participant listed under participants",
                code,
            )

    def wrap(self, err: DoseflowError, path: Sequence[int | str]) -> None:
        for d in err.details:
            sub = d.location.field
            last = path[-1] if path else None
            if sub and isinstance(last, str) and sub.startswith(last + "."):
                sub = sub[len(last) + 1 :]
            field = _field([*path, sub] if sub else path)
            self.problems.append(
                ErrorDetail(
                    d.code,
                    d.message,
                    ErrorLocation(source=self.source, line=self.locator.line(path), field=field),
                    expected=d.expected,
                    value=d.value,
                )
            )

    def build(self) -> Scenario | None:
        """The scenario, or None when the parts or the cross-checks found any problem
        (then ``self.problems`` and ``parts.problems`` say what)."""
        parts = self.parts
        self._check_unique(
            [(i, p.code) for i, p in parts.products], "products", "code", "product code"
        )
        self._check_unique(
            [(i, p.iso3.upper()) for i, p in parts.participants],
            "participants",
            "iso3",
            "participant",
        )
        products = self._products()
        participants = self._participants()
        policy_doc = parts.policy
        policy = None if policy_doc is None else self._policy(policy_doc.model_dump(), ["policy"])
        rounds = self._rounds(policy_doc or PolicyDoc())
        declines = self._declines()
        if self.check_unused:
            self._unused(policy_doc)
        if self.problems or not parts.valid or policy is None:
            return None
        doc = ScenarioDoc.model_validate(parts.data)
        return Scenario(
            name=doc.name,
            products={p.code: p for p in products},
            participants=tuple(participants),
            policy=policy,
            rounds=tuple(rounds),
            declines=tuple(declines),
            description=doc.description,
            source=self.source,
            document=doc.model_dump(mode="json", exclude_defaults=True),
        )

    def _unused(self, policy_doc: PolicyDoc | None) -> None:
        """Report every field the file states that no round uses (ALLOC_FIELD_UNUSED). Which
        fields are used depends on every round's kind: judged only when every round parsed."""
        parts = self.parts
        raw_rounds = parts.data.get("rounds")
        if not isinstance(raw_rounds, list) or len(parts.rounds) != len(raw_rounds):
            return
        unused = unused_fields(
            parts.products,
            parts.participants,
            policy_doc,
            parts.rounds,
            parts.declines,
            PolicyDoc,
            frozenset(self.products) - self._supplied(),
        )
        for u in unused:
            self.problem("ALLOC_FIELD_UNUSED", u.message, u.path, u.expected, u.value)

    def _supplied(self) -> frozenset[str]:
        """The product of every tranche the file lists, including tranches with problems."""
        rounds = self.parts.data.get("rounds")
        found: set[str] = set()
        for r in rounds if isinstance(rounds, list) else []:
            tranches = r.get("tranches") if isinstance(r, dict) else None
            for t in tranches if isinstance(tranches, list) else []:
                if isinstance(t, dict) and isinstance(t.get("product"), str):
                    found.add(t["product"])
        return frozenset(found)

    def _check_unique(
        self, values: list[tuple[int, str]], section: str, key: str, what: str
    ) -> None:
        seen: set[str] = set()
        for i, v in values:
            if v in seen:
                self.problem(
                    "ALLOC_DUPLICATE",
                    f"{what} '{v}' is listed twice",
                    [section, i, key],
                    f"each {what} once",
                    v,
                )
            seen.add(v)

    # -- references, for parsed items and for items with problems of their own ------------

    def _participant_refs(self, base: list[int | str], code: str, raw: Mapping[str, Any]) -> None:
        for j, c in _strings(raw.get("opt_out")):
            self.product_ref(c, [*base, "opt_out", j], f"the opt-out of {code}")
        for key in ("authorised", "indemnified"):
            for j, c in _strings(raw.get(key)):
                self.product_ref(c, [*base, key, j], f"'{key}' of {code}")
        for key in ("delays", "requests", "requested_coverage", "awaiting_second_dose"):
            mapping = raw.get(key)
            for c, v in mapping.items() if isinstance(mapping, Mapping) else ():
                if not isinstance(c, str):
                    continue
                self.product_ref(c, [*base, key, c], f"'{key}' of {code}")
                if isinstance(v, int) and v < 0:
                    self.problem(
                        "ALLOC_NEGATIVE_QUANTITY",
                        f"{key} of {code} cannot be negative",
                        [*base, key, c],
                        "a whole number >= 0",
                        v,
                    )

    def _tranche_refs(self, tpath: list[int | str], raw: Mapping[str, Any], what: str) -> None:
        if isinstance(raw.get("product"), str):
            self.product_ref(raw["product"], [*tpath, "product"], what)
        for m, c in _strings(raw.get("earmarked")):
            self.iso3_ref(c, [*tpath, "earmarked", m], "an earmark")
        members = raw.get("members")
        for m, c in _strings(members.get("iso3") if isinstance(members, Mapping) else None):
            self.iso3_ref(c, [*tpath, "members", "iso3", m], "a pool's members")

    def _decline_refs(
        self, path: list[int | str], raw: Mapping[str, Any], numbers: set[int]
    ) -> None:
        number = raw.get("round")
        if isinstance(number, int) and number not in numbers:
            self.problem(
                "ALLOC_UNKNOWN_ROUND",
                f"the decline names round {number}, which is not defined",
                [*path, "round"],
                "one of " + ", ".join(str(n) for n in sorted(numbers)),
                number,
            )
        if isinstance(raw.get("product"), str):
            self.product_ref(raw["product"], [*path, "product"], "a decline")
        if isinstance(raw.get("iso3"), str):
            self.iso3_ref(raw["iso3"], [*path, "iso3"], "a decline")
        for j, c in _strings(raw.get("recipients")):
            self.iso3_ref(c, [*path, "recipients", j], "a decline's recipients")

    def _failed_refs(self, numbers: set[int]) -> None:
        """The reference checks of the items that did not parse (as far as they go)."""
        known = countries()
        for model, path, raw in self.parts.failed:
            if model is ParticipantDoc:
                iso3 = raw.get("iso3")
                code = iso3.upper() if isinstance(iso3, str) else "?"
                if isinstance(iso3, str) and code not in known:
                    self.problem(
                        "ALLOC_UNKNOWN_ISO3",
                        f"'{iso3}' is not a known ISO 3166-1 alpha-3 code",
                        [*path, "iso3"],
                        "an ISO3 code from the bundled WPP 2019 data (e.g. PRK, NGA, XKX)",
                        iso3,
                    )
                self._participant_refs(path, code, raw)
            elif model is TrancheDoc:
                what = f"tranche {int(path[3]) + 1} of round {int(path[1]) + 1}"
                self._tranche_refs(path, raw, what)
            elif model is RoundDoc:
                for j, c in _strings(raw.get("completes")):
                    self.product_ref(c, [*path, "completes", j], "a round's 'completes'")
            elif model is DeclineDoc:
                self._decline_refs(path, raw, numbers)

    def _products(self) -> list[Product]:
        out: list[Product] = []
        for i, p in self.parts.products:
            lic = p.licence
            try:
                out.append(
                    Product(
                        code=p.code,
                        name=p.name or p.code,
                        manufacturer=p.manufacturer,
                        doses_per_course=p.doses_per_course,
                        storage_band=p.storage,
                        shelf_life_days=p.shelf_life_days,
                        doses_per_vial=p.doses_per_vial,
                        pack_doses=p.pack_doses,
                        kind=p.kind,
                        vials_per_shipper=p.vials_per_shipper,
                        licence_iso3=None
                        if lic is None or lic.iso3 is None
                        else frozenset(c.upper() for c in lic.iso3),
                        licence_financing=None
                        if lic is None or lic.financing is None
                        else frozenset(lic.financing),
                        unit_name=p.unit_name,
                    )
                )
            except DoseflowError as err:
                self.wrap(err, ["products", i])
        return out

    def _participants(self) -> list[Participant]:
        known = countries()
        out: list[Participant] = []
        for i, p in self.parts.participants:
            base: list[int | str] = ["participants", i]
            code = p.iso3.upper()
            data = known.get(code)
            if data is None:
                self.problem(
                    "ALLOC_UNKNOWN_ISO3",
                    f"'{p.iso3}' is not a known ISO 3166-1 alpha-3 code",
                    [*base, "iso3"],
                    "an ISO3 code from the bundled WPP 2019 data (e.g. PRK, NGA, XKX)",
                    p.iso3,
                )
                continue
            self._participant_refs(base, code, p.model_dump())
            if p.time_zone is not None and not is_zone_name(p.time_zone):
                self.problem(
                    "TIME_ZONE_UNKNOWN",
                    f"participant {code}: '{p.time_zone}' is not a time zone of the IANA tz "
                    "database",
                    [*base, "time_zone"],
                    ZONE_EXPECTED,
                    p.time_zone,
                )
                continue
            try:
                out.append(
                    Participant(
                        iso3=code,
                        population=p.population if p.population is not None else data.population,
                        financing=p.financing,
                        ceiling=p.ceiling,
                        name=p.name or data.name,
                        authorised=None if p.authorised == "all" else frozenset(p.authorised),
                        indemnified=None if p.indemnified == "all" else frozenset(p.indemnified),
                        deployment_plan=p.deployment_plan,
                        import_permit=p.import_permit,
                        cold_chain=frozenset(p.cold_chain),
                        other_sources_doses=p.other_sources_doses,
                        opt_outs=frozenset(p.opt_out),
                        delays=dict(p.delays),
                        lead_time_days=p.lead_time_days,
                        threat=ThreatInputs(
                            share_older=p.threat.share_older,
                            health_system_capacity=p.threat.health_system_capacity,
                            deaths_per_million=p.threat.deaths_per_million,
                        ),
                        demand=Demand(
                            p.absorption_per_month, dict(p.requests), dict(p.requested_coverage)
                        ),
                        awaiting_second_dose=dict(p.awaiting_second_dose),
                        share_of_level=p.share_of_level,
                        time_zone=p.time_zone,
                    )
                )
            except DoseflowError as err:
                self.wrap(err, base)
        return out

    def _policy(self, data: dict[str, Any], path: list[int | str]) -> Policy | None:
        try:
            pd = PolicyDoc.model_validate(data)
        except ValidationError as err:
            for e in err.errors():
                code, expected = _code_for(e)
                sub = [*path, *[p for p in e["loc"] if isinstance(p, str | int)]]
                self.problem(code, str(e["msg"]), sub, expected, e.get("input"))
            return None
        for key in ("floors", "caps", "need_per_1000"):
            mapping: dict[str, Any] = getattr(pd, key)
            for c, v in mapping.items():
                self.product_ref(c, [*path, key, c], f"policy {key}")
                if v < 0:
                    self.problem(
                        "ALLOC_NEGATIVE_QUANTITY",
                        f"policy {key} for {c} cannot be negative",
                        [*path, key, c],
                        "a number >= 0",
                        v,
                    )
        try:
            return Policy(
                ladder=tuple(pd.ladder),
                floors=dict(pd.floors),
                caps=dict(pd.caps),
                cap_share_of_pool=pd.cap_share_of_pool,
                humanitarian_buffer=pd.humanitarian_buffer,
                count_other_sources=pd.count_other_sources,
                other_sources_doses_per_course=pd.other_sources_doses_per_course,
                phase=Phase(pd.phase),
                target=pd.target,
                phase2_weight=pd.phase2_weight,
                need_per_1000=dict(pd.need_per_1000),
                min_days_before_expiry=pd.min_days_before_expiry,
                lead_time_days=pd.lead_time_days,
                threat=ThreatWeights(**pd.threat.model_dump()),
                severe=SevereSupply(**pd.severe.model_dump()),
                compliance_gate=ComplianceGate(**pd.compliance_gate.model_dump()),
                ceiling_rounding=pd.ceiling_rounding,
                floors_prevail=pd.floors_prevail,
            )
        except DoseflowError as err:
            self.wrap(err, path)
            return None

    def _rounds(self, base_policy: PolicyDoc) -> list[RoundSpec]:
        out: list[RoundSpec] = []
        numbers: set[int] = set()
        tranche_ids: set[str] = set()
        for i, r, parsed in self.parts.rounds:
            path: list[int | str] = ["rounds", i]
            number = r.number or i + 1
            if number in numbers:
                self.problem(
                    "ALLOC_DUPLICATE",
                    f"round {number} is defined twice",
                    [*path, "number"],
                    "each round number once",
                    number,
                )
            numbers.add(number)
            for j, c in enumerate(r.completes):
                self.product_ref(c, [*path, "completes", j], f"round {number}'s 'completes'")
            policy = None
            if r.policy is not None:
                merged = base_policy.model_dump()
                merged.update(r.policy)
                policy = self._policy(merged, [*path, "policy"])
            tranches: list[Tranche] = []
            for k, t in parsed:
                tpath: list[int | str] = [*path, "tranches", k]
                self._tranche_refs(tpath, t.model_dump(), f"tranche {k + 1} of round {number}")
                tid = t.id or f"R{number}-{t.product}-{k + 1}"
                if tid in tranche_ids:
                    self.problem(
                        "ALLOC_DUPLICATE",
                        f"tranche id '{tid}' is used twice",
                        [*tpath, "id"],
                        "unique tranche ids",
                        tid,
                    )
                tranche_ids.add(tid)
                try:
                    tranches.append(tranche_from_doc(t, tid, r.date))
                except DoseflowError as err:
                    self.wrap(err, tpath)
            out.append(
                RoundSpec(
                    number=number,
                    name=r.name or f"Round {number}",
                    date=r.date,
                    tranches=tuple(tranches),
                    kind=r.kind,
                    phase=None if r.phase is None else Phase(r.phase),
                    months=r.months,
                    completes=frozenset(r.completes),
                    policy=policy,
                )
            )
        return out

    def _declines(self) -> list[Decline]:
        raw = self.parts.data.get("rounds")
        numbers = {
            r["number"] if isinstance(r, dict) and isinstance(r.get("number"), int) else i + 1
            for i, r in enumerate(raw if isinstance(raw, list) else [])
        }
        self._failed_refs(numbers)
        out: list[Decline] = []
        for i, d in self.parts.declines:
            path: list[int | str] = ["declines", i]
            self._decline_refs(path, d.model_dump(), numbers)
            redirect = d.redirect or (Redirect.NAMED if d.recipients else Redirect.SAME_RULES)
            if redirect is Redirect.NAMED and not d.recipients:
                self.problem(
                    "ALLOC_INVALID_FIELD",
                    "a decline redirected to named recipients must name them",
                    [*path, "recipients"],
                    "one or more ISO3 codes",
                    None,
                )
            out.append(
                Decline(
                    round=d.round,
                    product=d.product,
                    iso3=d.iso3.upper(),
                    doses=d.doses,
                    reason=d.reason,
                    redirect=redirect,
                    recipients=frozenset(c.upper() for c in d.recipients),
                    pool=d.pool,
                    source=f"{self.source or 'scenario document'}, declines[{i}]",
                )
            )
        return out


def with_compliance_gate(scenario: Scenario, enabled: bool = True) -> Scenario:
    """``scenario`` with reporting compliance as a readiness gate switched on (or off) in
    its policy, as if its file said ``policy: {compliance_gate: {enabled: true}}``; the
    gate's other settings (look-back, missing and late allowed) are kept. Rounds with
    their own ``compliance_gate`` setting keep it."""
    if not scenario.document:  # built in Python, not read from a file
        gate_setting = dataclasses.replace(scenario.policy.compliance_gate, enabled=enabled)
        policy_obj = dataclasses.replace(scenario.policy, compliance_gate=gate_setting)
        return dataclasses.replace(scenario, policy=policy_obj)
    document: dict[str, Any] = copy.deepcopy(dict(scenario.document))
    policy: dict[str, Any] = dict(document.get("policy") or {})
    gate: dict[str, Any] = dict(policy.get("compliance_gate") or {})
    if enabled:
        gate["enabled"] = True
    else:
        gate.pop("enabled", None)
    if gate:
        policy["compliance_gate"] = gate
    else:
        policy.pop("compliance_gate", None)
    if policy:
        document["policy"] = policy
    else:
        document.pop("policy", None)
    return scenario_from_document(document, source=scenario.source)
