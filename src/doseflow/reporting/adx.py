"""ADX (IHE Aggregate Data Exchange) XML: read into submitted values, write from stored values.

The format, as DHIS2 reads and writes it::

    <adx xmlns="urn:ihe:qrph:adx:2015" exported="2021-09-27T08:00:00Z">
      <group orgUnit="PRK" period="2021-09-20/P7D" dataSet="COVID_WEEKLY">
        <dataValue dataElement="C19_TESTED" value="667"/>
        <dataValue dataElement="C19_DOSES" DOSE="D1" GROUP="HCW" value="120">
          <annotation>catch-up session</annotation>
        </dataValue>
      </group>
    </adx>

Periods are ISO 8601 intervals (first day and duration ``P7D`` or ``P1M``; ``P1W`` is also
read; the start may be a date-time at midnight, as SDMX's TimeRangeType allows); identifiers
are codes by default (UIDs on request, category attributes always codes); a disaggregated
value carries one attribute per category (category code = option code) or, as DHIS2 also
reads, a ``categoryOptionCombo`` attribute naming the combo itself (mapped like the JSON
``categoryOptionCombo``), never both.

As in DHIS2, the ``<group>`` carries what applies to all its values: besides ``orgUnit``,
``period`` and ``dataSet``, the attribute option combo, either exploded into one attribute
per attribute category (``FUNDER="GAVI"``, read like a value's categories; the key lists the
categories in alphabetical order: ``funder=gavi,partner=who``) or as an
``attributeOptionCombo`` identifier (DHIS2's legacy form, mapped through the mapping file's
``attribute_option_combos``); and ``completeDate``, which registers the group's report as
complete (:mod:`doseflow.reporting.registrations`).

The reader uses expat directly so every value keeps its line number, and refuses documents
with a DOCTYPE (no entity expansion, so no "billion laughs").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pyexpat import ExpatError, ParserCreate, errors
from typing import Any

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_json import IdentifiersOut, mismatch_detail
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdKind, IdScheme, IdSchemes
from doseflow.reporting.periods import parse_period
from doseflow.reporting.registrations import (
    CompleteRegistration,
    ExchangeDocument,
    RegistrationRequest,
    registration_index,
)
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY, Schema, parse_category_key
from doseflow.reporting.values import (
    DEFAULT_ATTRIBUTE_KEY,
    DataValue,
    Origin,
    SubmittedValue,
    format_number,
)

ADX_NAMESPACE = "urn:ihe:qrph:adx:2015"
CODE = "REPORT_ADX_INVALID"
_VALUE_ATTRIBUTES = {"dataElement", "value"}
#: <group> attributes that are not attribute categories.
_GROUP_ATTRIBUTES = {"orgUnit", "period", "dataSet", "completeDate", "attributeOptionCombo"}
_COMBO = "categoryOptionCombo"  # DHIS2: the combo itself instead of category attributes


class _AdxReader:
    def __init__(
        self, mapping: Dhis2Mapping, schema: Schema, source: str, schemes: IdSchemes
    ) -> None:
        self.mapping = mapping
        self.schemes = schemes
        self.schema = schema
        self.source = source
        self.values: list[SubmittedValue] = []
        self.data_sets: list[RegistrationRequest] = []
        self.stack: list[str] = []
        self.group: dict[str, str] | None = None
        self.pending: dict[str, Any] | None = None  # dataValue awaiting its annotation
        self.text: list[str] = []
        self.parser = ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.chars
        self.parser.StartDoctypeDeclHandler = self.doctype

    def fail(self, message: str, expected: str, value: Any = None, fld: str | None = None) -> None:
        raise DoseflowError(
            CODE,
            message,
            source=self.source,
            line=self.parser.CurrentLineNumber,
            column=self.parser.CurrentColumnNumber + 1,
            field=fld,
            expected=expected,
            value=value,
        )

    def doctype(self, *_: Any) -> None:
        self.fail("ADX documents must not carry a DOCTYPE", "an <adx> document without DOCTYPE")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        depth = len(self.stack)
        self.stack.append(local)
        if depth == 0:
            if local != "adx":
                self.fail(f"the root element is <{local}>", "an <adx> root element", local)
        elif depth == 1 and local == "group":
            for needed in ("orgUnit", "period"):
                if not attrs.get(needed):
                    self.fail(f"<group> has no {needed}", f"an {needed} attribute", None, needed)
            self.group = {
                **attrs,
                "_line": str(self.parser.CurrentLineNumber),
                "_attribute": self.group_attribute(attrs),
            }
            self.group_data_set(attrs)
        elif depth == 2 and local == "dataValue":
            self.check_combo(attrs)
            self.pending = {"attrs": attrs, "line": self.parser.CurrentLineNumber}
        elif depth == 3 and local == "annotation":
            self.text = []
        elif depth >= 1 and self.stack[1] != "group":
            self.fail(f"unexpected <{local}> element", "<group> elements in <adx>", local)

    def ident(self, kind: IdKind, theirs: str, fld: str, line: int) -> str:
        scheme = self.schemes.of(kind)
        ours = self.mapping.identifier_in(kind, theirs, scheme)
        if ours is None:
            assert scheme is not None
            raise DoseflowError.from_details(
                [mismatch_detail(self.source, fld, kind, theirs, scheme, line)]
            )
        return ours

    def check_combo(self, attrs: dict[str, str]) -> None:
        """A value names its disaggregation one way: a ``categoryOptionCombo`` or one
        attribute per category, never both (which would be meant is anyone's guess)."""
        if _COMBO not in attrs:
            return
        if not attrs[_COMBO].strip():
            self.fail(
                "categoryOptionCombo is empty",
                "a category option combo identifier",
                attrs[_COMBO],
                _COMBO,
            )
        categories = sorted(a for a in attrs if a not in _VALUE_ATTRIBUTES and " " not in a)
        categories.remove(_COMBO)
        if categories:
            self.fail(
                f"dataValue gives both categoryOptionCombo and category attributes "
                f"({', '.join(categories)})",
                "either categoryOptionCombo or one attribute per category, not both",
                attrs[_COMBO],
                _COMBO,
            )

    def chars(self, data: str) -> None:
        if self.stack and self.stack[-1] == "annotation":
            self.text.append(data)

    def end(self, name: str) -> None:
        local = self.stack.pop()
        if local == "annotation" and self.pending is not None:
            self.pending["comment"] = "".join(self.text).strip() or None
        elif local == "dataValue" and self.pending is not None and self.group is not None:
            self.values.append(self.value(self.pending, self.group))
            self.pending = None
        elif local == "group":
            self.group = None

    def group_attribute(self, attrs: dict[str, str]) -> str:
        """The group's attribute option combo key (``default`` when it has none)."""
        if attrs.get("attributeOptionCombo"):
            return self.ident(
                IdKind.ATTRIBUTE_OPTION_COMBO,
                attrs["attributeOptionCombo"],
                "attributeOptionCombo",
                self.parser.CurrentLineNumber,
            )
        options: dict[str, str] = {}
        for attr, option in attrs.items():
            if attr in _GROUP_ATTRIBUTES or " " in attr:
                continue
            cat, opt = self.mapping.category_in(attr, option)
            options[cat] = opt
        if not options:
            return DEFAULT_ATTRIBUTE_KEY
        return ",".join(f"{c}={options[c]}" for c in sorted(options))

    def group_data_set(self, attrs: dict[str, str]) -> None:
        data_set = attrs.get("dataSet", "").strip()
        complete = attrs.get("completeDate", "").strip() or None
        if not data_set:
            if complete is not None:
                self.fail(
                    "<group> has a completeDate but no dataSet",
                    "a dataSet attribute beside completeDate",
                    None,
                    "dataSet",
                )
            return
        self.data_sets.append(
            RegistrationRequest(
                data_set=self.ident(
                    IdKind.DATA_SET, data_set, "dataSet", self.parser.CurrentLineNumber
                ),
                period=attrs.get("period", ""),
                org_unit=self.ident(
                    IdKind.ORG_UNIT,
                    attrs.get("orgUnit", ""),
                    "orgUnit",
                    self.parser.CurrentLineNumber,
                ),
                attribute=self.group_attribute(attrs),
                completed=complete,
                origin=Origin(
                    source=self.source,
                    line=self.parser.CurrentLineNumber,
                    columns={
                        "data_set": "group dataSet",
                        "completed": "group completeDate",
                        "period": "group period",
                        "org_unit": "group orgUnit",
                    },
                ),
            )
        )

    def value(self, pending: dict[str, Any], group: dict[str, str]) -> SubmittedValue:
        attrs: dict[str, str] = pending["attrs"]
        line: int = pending["line"]
        element_code = self.ident(
            IdKind.DATA_ELEMENT, attrs.get("dataElement", ""), "dataElement", line
        )
        combo = attrs.get(_COMBO)
        options: dict[str, str] = {}
        for attr, option in attrs.items():
            if attr in _VALUE_ATTRIBUTES or " " in attr or attr == _COMBO:
                continue
            cat, opt = self.mapping.category_in(attr, option)
            options[cat] = opt
        element = self.schema.elements.get(element_code)
        order = list(element.categories) if element is not None else []
        order += sorted(c for c in options if c not in order)
        key = ",".join(f"{c}={options[c]}" for c in order if c in options)
        if element is not None and not options and not element.categories:
            key = DEFAULT_CATEGORY_KEY
        if combo is not None:  # the combo itself, as in dataValueSets JSON
            key = self.ident(IdKind.CATEGORY_OPTION_COMBO, combo.strip(), _COMBO, line)
        return SubmittedValue(
            data_element=element_code,
            period=group["period"],
            org_unit=self.ident(IdKind.ORG_UNIT, group["orgUnit"], "orgUnit", line),
            value=attrs.get("value"),
            category=key or DEFAULT_CATEGORY_KEY,
            comment=pending.get("comment"),
            attribute=group["_attribute"],
            origin=Origin(
                source=self.source,
                line=pending["line"],
                columns={
                    "data_element": "dataElement",
                    "value": "value",
                    "category": _COMBO if combo is not None else "category attributes",
                    "period": "group period",
                    "org_unit": "group orgUnit",
                    "participant": "group orgUnit",
                    "attribute": "group attributes",
                },
            ),
        )


def read_adx(
    data: str | bytes,
    mapping: Dhis2Mapping,
    schema: Schema,
    *,
    source: str = "<adx>",
    id_schemes: IdSchemes | None = None,
) -> list[SubmittedValue]:
    """The values of an ADX document, mapped to doseflow codes, unchecked. Identifiers
    are read under ``id_schemes`` (default: auto, either UID or code)."""
    return read_adx_document(data, mapping, schema, source=source, id_schemes=id_schemes).values


def read_adx_document(
    data: str | bytes,
    mapping: Dhis2Mapping,
    schema: Schema,
    *,
    source: str = "<adx>",
    id_schemes: IdSchemes | None = None,
) -> ExchangeDocument:
    """The values of an ADX document and the data sets (and completions) its groups name,
    mapped to doseflow codes, unchecked."""
    reader = _AdxReader(mapping, schema, source, id_schemes or IdSchemes())
    try:
        reader.parser.Parse(data, True)
    except ExpatError as exc:
        raise DoseflowError(
            CODE,
            f"not well-formed XML: {errors.messages[exc.code]}"
            if exc.code in errors.messages
            else f"not well-formed XML: {exc}",
            source=source,
            line=exc.lineno,
            column=exc.offset + 1,
            expected="an ADX XML document",
        ) from None
    return ExchangeDocument(reader.values, tuple(reader.data_sets))


def write_adx(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    schema: Schema,
    *,
    exported: datetime | None = None,
    registrations: Sequence[CompleteRegistration] = (),
    id_schemes: IdSchemes | None = None,
) -> str:
    """An ADX document for ``values``: one group per org unit, period, report type and
    attribute option combo, with its ``completeDate`` when ``registrations`` holds one.

    Org units, data sets, data elements and a group's ``attributeOptionCombo`` identifier
    are under ``id_schemes`` (per kind; CODE for a kind given none, as ADX and DHIS2's ADX
    default); category attributes are always codes, as ADX requires. Under UID, what the
    mapping gives no UID refuses the document (``REPORT_DHIS2_UNMAPPED_ID``), as for
    dataValueSets JSON."""
    out = IdentifiersOut(mapping, id_schemes or IdSchemes(), IdScheme.CODE)
    ET.register_namespace("", ADX_NAMESPACE)
    ns = f"{{{ADX_NAMESPACE}}}"
    when = (exported or datetime.now(UTC)).replace(microsecond=0)
    root = ET.Element(f"{ns}adx", {"exported": when.isoformat().replace("+00:00", "Z")})
    groups: dict[tuple[str, str, str, str], list[DataValue]] = {}
    for v in values:
        report = schema.elements[v.data_element].report if v.data_element in schema.elements else ""
        groups.setdefault((v.org_unit, v.period, report, v.attribute), []).append(v)
    done = registration_index(registrations)
    for (org_unit, period, report, attribute), members in sorted(groups.items()):
        attrs = {
            "orgUnit": out(IdKind.ORG_UNIT, org_unit),
            "period": parse_period(period).adx,
        }
        if report:
            attrs["dataSet"] = out(IdKind.DATA_SET, report)
        attrs.update(_attribute_out(attribute, mapping, out))
        registration = done.get((org_unit, report, period, attribute))
        if registration is not None:
            attrs["completeDate"] = registration.completed.isoformat()
        group = ET.SubElement(root, f"{ns}group", attrs)
        for v in members:
            dv_attrs = {"dataElement": out(IdKind.DATA_ELEMENT, v.data_element)}
            for cat, opt in parse_category_key(v.category).items():
                code, option = mapping.category_out(cat, opt)
                dv_attrs[code] = option
            dv_attrs["value"] = format_number(v.value)
            dv = ET.SubElement(group, f"{ns}dataValue", dv_attrs)
            if v.comment:
                ET.SubElement(dv, f"{ns}annotation").text = v.comment
    out.check()
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _attribute_out(key: str, mapping: Dhis2Mapping, out: IdentifiersOut) -> dict[str, str]:
    """A group's attribute option combo: nothing for ``default``; one attribute per attribute
    category for a key like ``funder=gavi`` (DHIS2's preferred ADX form, codes whatever the
    scheme); otherwise the ``attributeOptionCombo`` identifier under its scheme."""
    if key == DEFAULT_ATTRIBUTE_KEY:
        return {}
    try:
        options = parse_category_key(key)
    except ValueError:
        options = {}
    if not options:
        return {"attributeOptionCombo": out(IdKind.ATTRIBUTE_OPTION_COMBO, key)}
    found: dict[str, str] = {}
    for cat, opt in options.items():
        code, option = mapping.category_out(cat, opt)
        found[code] = option
    return found
