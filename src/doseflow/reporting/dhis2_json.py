"""DHIS2 ``dataValueSets`` JSON: read into submitted values, write from stored values.

The format (DHIS2 Web API, ``/api/dataValueSets``)::

    {"dataSet": "Wkly0Surv01", "period": "2021W38", "orgUnit": "OuPRK000001",
     "dataValues": [
        {"dataElement": "DeTested001", "period": "2021W38", "orgUnit": "OuPRK000001",
         "categoryOptionCombo": "HllvX50cXC0", "value": "667", "comment": "..."}]}

``period``, ``orgUnit`` and ``attributeOptionCombo`` at the top level apply to every value
that does not give its own. ``dataSet`` names the report; with ``completeDate`` (and a
top-level ``period`` and ``orgUnit``) it registers the report as complete for that org unit,
period and attribute option combo (:mod:`doseflow.reporting.registrations`). Values are
strings, as DHIS2 writes them. Only the envelope can
make a file unreadable (``REPORT_DHIS2_JSON_INVALID``); a bad value becomes a conflict of
its own in the import summary, located by its path (``dataValues[3].value``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdScheme
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


def _bad(
    source: str, message: str, fld: str | None, expected: str, value: Any = None
) -> DoseflowError:
    return DoseflowError(CODE, message, source=source, field=fld, expected=expected, value=value)


def read_data_value_set(
    text: str | bytes, mapping: Dhis2Mapping, *, source: str = "<dataValueSets>"
) -> list[SubmittedValue]:
    """The values of a ``dataValueSets`` document, mapped to doseflow codes, unchecked."""
    return read_data_value_set_document(text, mapping, source=source).values


def _text(raw: object) -> str:
    return "" if raw is None else str(raw).strip()


def read_data_value_set_document(
    text: str | bytes, mapping: Dhis2Mapping, *, source: str = "<dataValueSets>"
) -> ExchangeDocument:
    """The values of a ``dataValueSets`` document and the data set (and completion) it
    names, mapped to doseflow codes, unchecked."""
    try:
        doc = json.loads(text)
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
    default_period = doc.get("period")
    default_ou = doc.get("orgUnit")
    doc_aoc = _text(doc.get("attributeOptionCombo"))
    default_attribute = mapping.aoc_in(doc_aoc) if doc_aoc else DEFAULT_ATTRIBUTE_KEY
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
        found.append(
            SubmittedValue(
                data_element=mapping.data_element_in(str(row.get("dataElement", ""))),
                period=str(row.get("period", default_period) or ""),
                org_unit=mapping.org_unit_in(str(row.get("orgUnit", default_ou) or "")),
                value=row.get("value"),
                category=mapping.coc_in(str(coc)) if coc else DEFAULT_CATEGORY_KEY,
                comment=None if comment is None else str(comment),
                origin=origin,
                attribute=mapping.aoc_in(aoc) if aoc else default_attribute,
            )
        )
    return ExchangeDocument(found, _data_set_request(doc, mapping, default_attribute, source))


def _data_set_request(
    doc: dict[str, Any], mapping: Dhis2Mapping, attribute: str, source: str
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
    return (
        RegistrationRequest(
            data_set=mapping.data_set_in(data_set),
            period=_text(doc.get("period")),
            org_unit=mapping.org_unit_in(_text(doc.get("orgUnit"))),
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
    registrations: Sequence[CompleteRegistration] = (),
    schema: Schema | None = None,
) -> dict[str, Any]:
    """A ``dataValueSets`` document for ``values`` (identifiers per ``id_scheme``).

    A document has room for one completion: when every value belongs to one report, org unit,
    period and attribute option combo and ``registrations`` holds its registration, the
    document says so at the top (``dataSet``, ``completeDate``, ``period``, ``orgUnit``,
    ``attributeOptionCombo``). ADX, with a group per report, carries any number."""
    rows: list[dict[str, Any]] = []
    values = list(values)
    doc: dict[str, Any] = {}
    done = _one_registration(values, registrations, schema or DEFAULT_SCHEMA)
    if done is not None:
        doc["dataSet"] = mapping.data_set_out(done.report, id_scheme)
        doc["completeDate"] = done.completed.isoformat()
        doc["period"] = done.period
        doc["orgUnit"] = mapping.org_unit_out(done.org_unit, id_scheme)
        aoc = mapping.aoc_out(done.attribute)
        if aoc:
            doc["attributeOptionCombo"] = aoc
    elif data_set:
        doc["dataSet"] = mapping.data_set_out(data_set, id_scheme)
    for v in values:
        row: dict[str, Any] = {
            "dataElement": mapping.data_element_out(v.data_element, id_scheme),
            "period": v.period,
            "orgUnit": mapping.org_unit_out(v.org_unit, id_scheme),
            "categoryOptionCombo": mapping.coc_out(v.category),
            "value": format_number(v.value),
        }
        aoc = mapping.aoc_out(v.attribute)
        if aoc:
            row["attributeOptionCombo"] = aoc
        if v.comment:
            row["comment"] = v.comment
        rows.append(row)
    doc["dataValues"] = rows
    return doc


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


def write_data_value_set(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    *,
    id_scheme: IdScheme = IdScheme.UID,
    data_set: str | None = None,
    registrations: Sequence[CompleteRegistration] = (),
    schema: Schema | None = None,
) -> str:
    return json.dumps(
        data_value_set(
            values,
            mapping,
            id_scheme=id_scheme,
            data_set=data_set,
            registrations=registrations,
            schema=schema,
        ),
        indent=2,
        ensure_ascii=False,
    )
