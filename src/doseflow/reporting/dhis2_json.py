"""DHIS2 ``dataValueSets`` JSON: read into submitted values, write from stored values.

The format (DHIS2 Web API, ``/api/dataValueSets``)::

    {"dataSet": "Wkly0Surv01", "period": "2021W38", "orgUnit": "OuPRK000001",
     "dataValues": [
        {"dataElement": "DeTested001", "period": "2021W38", "orgUnit": "OuPRK000001",
         "categoryOptionCombo": "HllvX50cXC0", "value": "667", "comment": "..."}]}

``period``, ``orgUnit`` and ``attributeOptionCombo`` at the top level apply to every value
that does not give its own. ``dataSet`` names the report; with ``completeDate`` (and a
top-level ``period`` and ``orgUnit``) it registers the report as complete for that org unit,
period and attribute option combo (:mod:`doseflow.reporting.registrations`). A value with
``"deleted": true`` asks for the stored value to be deleted (as DHIS2 does on import).
Values are strings, as DHIS2 writes them (a JSON number is read
as the text it is written with, as DHIS2 does, so ``12.0`` is not an integer). Only the
envelope can make a file unreadable (``REPORT_DHIS2_JSON_INVALID``); a bad value becomes a
conflict of its own in the import summary, located by its path (``dataValues[3].value``).

Identifier schemes: a document may state DHIS2's ``idScheme`` and per-kind
``dataElementIdScheme``, ``orgUnitIdScheme``, ``categoryOptionComboIdScheme``... (as DHIS2
reads them, the document's own override the importer's options); an export states the
schemes it used, so DHIS2 and doseflow read it back without being told. An identifier that is
not of its scheme refuses the document (``REPORT_DHIS2_ID_SCHEME_MISMATCH``, every one
listed with its path), as does an export under UID of anything the mapping has no UID for
(``REPORT_DHIS2_UNMAPPED_ID``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.reporting.dhis2_mapping import (
    UID_RULE,
    Dhis2Mapping,
    IdKind,
    IdScheme,
    IdSchemes,
)
from doseflow.reporting.registrations import (
    CompleteRegistration,
    ExchangeDocument,
    RegistrationRequest,
    registration_index,
)
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY, DEFAULT_SCHEMA, Schema
from doseflow.reporting.values import (
    DEFAULT_ATTRIBUTE_KEY,
    DataValue,
    Origin,
    SubmittedValue,
    format_number,
)

CODE = "REPORT_DHIS2_JSON_INVALID"
MISMATCH = "REPORT_DHIS2_ID_SCHEME_MISMATCH"
UNMAPPED = "REPORT_DHIS2_UNMAPPED_ID"
#: Shown at most in one error (a million-value file with the wrong scheme is one mistake).
MAX_DETAILS = 50
_LABELS = {
    IdKind.DATA_SET: "data set",
    IdKind.DATA_ELEMENT: "data element",
    IdKind.ORG_UNIT: "org unit",
    IdKind.CATEGORY_OPTION_COMBO: "category option combo",
    IdKind.ATTRIBUTE_OPTION_COMBO: "attribute option combo",
}


def document_schemes(doc: dict[str, Any], source: str) -> IdSchemes:
    """The schemes a document states (``idScheme``, ``dataElementIdScheme``...)."""
    given: dict[IdKind | None, str | None] = {None: doc.get("idScheme")}
    for kind in IdKind:
        given[kind] = doc.get(kind.parameter)
    return IdSchemes.parse(
        {k: None if v is None else str(v) for k, v in given.items()}, source=source
    )


def mismatch_detail(
    source: str, path: str, kind: IdKind, theirs: str, scheme: IdScheme, line: int | None = None
) -> ErrorDetail:
    """``theirs`` is not an identifier of ``scheme`` (see ``Dhis2Mapping.identifier_in``)."""
    if scheme is IdScheme.UID:
        expected = f"{UID_RULE}, as the {kind.parameter} or idScheme in force is UID"
        what = "not a DHIS2 UID" if theirs else "empty"
    else:
        expected = (
            f"a DHIS2 code (the mapping's code, or the doseflow code where none is mapped), "
            f"as the {kind.parameter} or idScheme in force is CODE"
        )
        what = "a UID or a doseflow code whose DHIS2 code differs, not a code"
    return ErrorDetail(
        MISMATCH,
        f"{_LABELS[kind]} '{theirs}' is {what}",
        ErrorLocation(source=source, line=line, field=path),
        expected,
        theirs,
    )


def _bad(
    source: str, message: str, fld: str | None, expected: str, value: Any = None
) -> DoseflowError:
    return DoseflowError(CODE, message, source=source, field=fld, expected=expected, value=value)


def _is_true(flag: object) -> bool:
    """DHIS2's ``"deleted"``: a JSON ``true`` or the text ``"true"`` (any case)."""
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def read_data_value_set(
    text: str | bytes,
    mapping: Dhis2Mapping,
    *,
    source: str = "<dataValueSets>",
    id_schemes: IdSchemes | None = None,
) -> list[SubmittedValue]:
    """The values of a ``dataValueSets`` document, mapped to doseflow codes, unchecked.
    ``id_schemes``: the importer's schemes (default: auto); the document's own override."""
    return read_data_value_set_document(text, mapping, source=source, id_schemes=id_schemes).values


def _text(raw: object) -> str:
    return "" if raw is None else str(raw).strip()


def read_data_value_set_document(
    text: str | bytes,
    mapping: Dhis2Mapping,
    *,
    source: str = "<dataValueSets>",
    id_schemes: IdSchemes | None = None,
) -> ExchangeDocument:
    """The values of a ``dataValueSets`` document and the data set (and completion) it
    names, mapped to doseflow codes, unchecked."""
    try:
        doc = json.loads(text, parse_float=str)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise DoseflowError(
            CODE,
            f"not valid JSON: {getattr(exc, 'msg', exc)}",
            source=source,
            line=line,
            column=getattr(exc, "colno", None),
            expected="a DHIS2 dataValueSets JSON document",
        ) from None
    except RecursionError:  # a data value set is rows: no real one nests beyond a few levels
        raise DoseflowError(
            CODE,
            "the JSON is nested too deep",
            source=source,
            expected="a DHIS2 dataValueSets JSON document",
        ) from None
    if not isinstance(doc, dict):
        raise _bad(source, "the document is not a JSON object", None, '{"dataValues": [...]}')
    rows = doc.get("dataValues")
    if not isinstance(rows, list):
        raise _bad(
            source,
            "there is no list of dataValues",
            "dataValues",
            "a list of data value objects",
            None if rows is None else type(rows).__name__,
        )
    schemes = document_schemes(doc, source).over(id_schemes or IdSchemes())
    de_scheme = schemes.of(IdKind.DATA_ELEMENT)
    ou_scheme = schemes.of(IdKind.ORG_UNIT)
    coc_scheme = schemes.of(IdKind.CATEGORY_OPTION_COMBO)
    aoc_scheme = schemes.of(IdKind.ATTRIBUTE_OPTION_COMBO)
    mismatches: list[ErrorDetail] = []

    def ident(kind: IdKind, theirs: str, scheme: IdScheme | None, path: str) -> str:
        ours = mapping.identifier_in(kind, theirs, scheme)
        if ours is None:
            assert scheme is not None
            if len(mismatches) < MAX_DETAILS:
                mismatches.append(mismatch_detail(source, path, kind, theirs, scheme))
            return theirs
        return ours

    default_period = doc.get("period")
    default_ou = doc.get("orgUnit")
    doc_aoc = _text(doc.get("attributeOptionCombo"))
    default_attribute = (
        ident(IdKind.ATTRIBUTE_OPTION_COMBO, doc_aoc, aoc_scheme, "attributeOptionCombo")
        if doc_aoc
        else DEFAULT_ATTRIBUTE_KEY
    )
    found: list[SubmittedValue] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _bad(
                source,
                f"data value {i + 1} is not an object",
                f"dataValues[{i}]",
                "an object with dataElement, period, orgUnit and value",
                row,
            )
        path = f"dataValues[{i}]"
        origin = Origin(
            source=source,
            columns={
                "data_element": f"{path}.dataElement",
                "period": f"{path}.period",
                "org_unit": f"{path}.orgUnit",
                "category": f"{path}.categoryOptionCombo",
                "value": f"{path}.value",
                "participant": f"{path}.orgUnit",
                "attribute": f"{path}.attributeOptionCombo"
                if "attributeOptionCombo" in row
                else "attributeOptionCombo",
            },
        )
        aoc = _text(row.get("attributeOptionCombo"))
        coc = row.get("categoryOptionCombo")
        comment = row.get("comment")
        ou_path = f"{path}.orgUnit" if "orgUnit" in row else "orgUnit"
        found.append(
            SubmittedValue(
                data_element=ident(
                    IdKind.DATA_ELEMENT,
                    str(row.get("dataElement", "")),
                    de_scheme,
                    f"{path}.dataElement",
                ),
                period=str(row.get("period", default_period) or ""),
                org_unit=ident(
                    IdKind.ORG_UNIT,
                    str(row.get("orgUnit", default_ou) or ""),
                    ou_scheme,
                    ou_path,
                ),
                value=row.get("value"),
                category=ident(
                    IdKind.CATEGORY_OPTION_COMBO,
                    str(coc),
                    coc_scheme,
                    f"{path}.categoryOptionCombo",
                )
                if coc
                else DEFAULT_CATEGORY_KEY,
                comment=None if comment is None else str(comment),
                origin=origin,
                attribute=ident(
                    IdKind.ATTRIBUTE_OPTION_COMBO,
                    aoc,
                    aoc_scheme,
                    f"{path}.attributeOptionCombo",
                )
                if aoc
                else default_attribute,
                deleted=_is_true(row.get("deleted")),
            )
        )
    requests = _data_set_request(doc, default_attribute, source, ident, schemes)
    if mismatches:
        raise DoseflowError.from_details(mismatches)
    return ExchangeDocument(found, requests)


def _data_set_request(
    doc: dict[str, Any],
    attribute: str,
    source: str,
    ident: Callable[[IdKind, str, IdScheme | None, str], str],
    schemes: IdSchemes,
) -> tuple[RegistrationRequest, ...]:
    data_set = _text(doc.get("dataSet"))
    complete = _text(doc.get("completeDate")) or None
    if not data_set and complete is None:
        return ()
    if not data_set:
        raise _bad(
            source,
            "completeDate is given without the dataSet it completes",
            "dataSet",
            "a dataSet beside completeDate",
        )
    org_unit = _text(doc.get("orgUnit"))
    return (
        RegistrationRequest(
            data_set=ident(IdKind.DATA_SET, data_set, schemes.of(IdKind.DATA_SET), "dataSet"),
            period=_text(doc.get("period")),
            org_unit=ident(IdKind.ORG_UNIT, org_unit, schemes.of(IdKind.ORG_UNIT), "orgUnit")
            if org_unit
            else "",
            attribute=attribute,
            completed=complete,
            origin=Origin(
                source=source,
                columns={
                    "data_set": "dataSet",
                    "completed": "completeDate",
                    "period": "period",
                    "org_unit": "orgUnit",
                },
            ),
        ),
    )


def data_value_set(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    *,
    id_scheme: IdScheme = IdScheme.UID,
    data_set: str | None = None,
    id_schemes: IdSchemes | None = None,
    registrations: Sequence[CompleteRegistration] = (),
    schema: Schema | None = None,
) -> dict[str, Any]:
    """A ``dataValueSets`` document for ``values``, every identifier under its scheme
    (``id_schemes`` per kind, else ``id_scheme``), the schemes stated in the document.
    Category and attribute option combos are always written, as DHIS2 writes them; an
    unmapped ``default`` is DHIS2's own default combo (``HllvX50cXC0``, code ``default``).

    A document has room for one completion: when every value belongs to one report, org unit,
    period and attribute option combo and ``registrations`` holds its registration, the
    document says so at the top (``dataSet``, ``completeDate``, ``period``, ``orgUnit``,
    ``attributeOptionCombo``). ADX, with a group per report, carries any number."""
    schemes = (id_schemes or IdSchemes()).over(IdSchemes(general=id_scheme))
    general = schemes.general or IdScheme.UID
    out = IdentifiersOut(mapping, schemes, general)
    chosen = out.chosen

    values = list(values)
    head: dict[str, Any] = {}
    done = _one_registration(values, registrations, schema or DEFAULT_SCHEMA)
    if done is not None:
        head["dataSet"] = out(IdKind.DATA_SET, done.report)
        head["completeDate"] = done.completed.isoformat()
        head["period"] = done.period
        head["orgUnit"] = out(IdKind.ORG_UNIT, done.org_unit)
        head["attributeOptionCombo"] = out(IdKind.ATTRIBUTE_OPTION_COMBO, done.attribute)
    elif data_set:
        head["dataSet"] = out(IdKind.DATA_SET, data_set)
    rows: list[dict[str, Any]] = []
    for v in values:
        row: dict[str, Any] = {
            "dataElement": out(IdKind.DATA_ELEMENT, v.data_element),
            "period": v.period,
            "orgUnit": out(IdKind.ORG_UNIT, v.org_unit),
        }
        row["categoryOptionCombo"] = out(IdKind.CATEGORY_OPTION_COMBO, v.category)
        row["value"] = format_number(v.value)
        row["attributeOptionCombo"] = out(IdKind.ATTRIBUTE_OPTION_COMBO, v.attribute)
        if v.comment:
            row["comment"] = v.comment
        rows.append(row)
    doc: dict[str, Any] = {"idScheme": general.name}
    for kind in IdKind:
        if chosen[kind] is not general:
            doc[kind.parameter] = chosen[kind].name
    doc.update(head)
    out.check()
    doc["dataValues"] = rows
    return doc


class IdentifiersOut:
    """doseflow's codes as DHIS2's identifiers, each kind under its scheme (``schemes``,
    ``general`` for a kind without one), for the dataValueSets JSON and ADX writers alike.
    What the mapping gives no UID is noted, not invented: :meth:`check` then refuses the
    document (``REPORT_DHIS2_UNMAPPED_ID``, every one listed up to :data:`MAX_DETAILS`)."""

    def __init__(self, mapping: Dhis2Mapping, schemes: IdSchemes, general: IdScheme) -> None:
        self.mapping = mapping
        self.chosen = {kind: schemes.of(kind) or general for kind in IdKind}
        self.unmapped: dict[tuple[IdKind, str], None] = {}

    def __call__(self, kind: IdKind, ours: str) -> str:
        theirs = self.mapping.identifier_out(kind, ours, self.chosen[kind])
        if theirs is None:
            self.unmapped[(kind, ours)] = None
            return ours
        return theirs

    def check(self) -> None:
        if self.unmapped:
            raise DoseflowError.from_details(
                _unmapped(kind, ours, self.chosen[kind])
                for kind, ours in list(self.unmapped)[:MAX_DETAILS]
            )


def _one_registration(
    values: Sequence[DataValue], registrations: Sequence[CompleteRegistration], schema: Schema
) -> CompleteRegistration | None:
    if not values or not registrations:
        return None
    keys = {
        (
            v.org_unit,
            schema.elements[v.data_element].report if v.data_element in schema.elements else "",
            v.period,
            v.attribute,
        )
        for v in values
    }
    if len(keys) != 1:
        return None
    return registration_index(registrations).get(keys.pop())


def _unmapped(kind: IdKind, ours: str, scheme: IdScheme) -> ErrorDetail:
    return ErrorDetail(
        UNMAPPED,
        f"{_LABELS[kind]} '{ours}' has no DHIS2 UID in the mapping (a doseflow code is not "
        "passed off as a UID)",
        ErrorLocation(field=f"{kind.section}.{ours}"),
        f"a mapping entry `{kind.section}: {{{ours}: {{id: <UID>}}}}` ({UID_RULE}), or "
        "identifiers by code (--id-scheme code)",
        ours,
    )


def write_data_value_set(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    *,
    id_scheme: IdScheme = IdScheme.UID,
    data_set: str | None = None,
    id_schemes: IdSchemes | None = None,
    registrations: Sequence[CompleteRegistration] = (),
    schema: Schema | None = None,
) -> str:
    return json.dumps(
        data_value_set(
            values,
            mapping,
            id_scheme=id_scheme,
            data_set=data_set,
            id_schemes=id_schemes,
            registrations=registrations,
            schema=schema,
        ),
        indent=2,
        ensure_ascii=False,
    )
