"""DHIS2 ``dataValueSets`` JSON: read into submitted values, write from stored values.

The format (DHIS2 Web API, ``/api/dataValueSets``)::

    {"dataSet": "Wkly0Surv01", "period": "2021W38", "orgUnit": "OuPRK000001",
     "dataValues": [
        {"dataElement": "DeTested001", "period": "2021W38", "orgUnit": "OuPRK000001",
         "categoryOptionCombo": "HllvX50cXC0", "value": "667", "comment": "..."}]}

A value with ``"deleted": true`` asks for the stored value to be deleted (as DHIS2 does on
import). ``period``, ``orgUnit`` and ``attributeOptionCombo`` at the top level apply to every value
that does not give its own. Values are strings, as DHIS2 writes them. Only the envelope can
make a file unreadable (``REPORT_DHIS2_JSON_INVALID``); a bad value becomes a conflict of
its own in the import summary, located by its path (``dataValues[3].value``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdScheme
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY
from doseflow.reporting.values import DataValue, Origin, SubmittedValue, format_number

CODE = "REPORT_DHIS2_JSON_INVALID"


def _bad(
    source: str, message: str, fld: str | None, expected: str, value: Any = None
) -> DoseflowError:
    return DoseflowError(CODE, message, source=source, field=fld, expected=expected, value=value)


def _is_true(flag: object) -> bool:
    """DHIS2's ``"deleted"``: a JSON ``true`` or the text ``"true"`` (any case)."""
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def read_data_value_set(
    text: str | bytes, mapping: Dhis2Mapping, *, source: str = "<dataValueSets>"
) -> list[SubmittedValue]:
    """The values of a ``dataValueSets`` document, mapped to doseflow codes, unchecked."""
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
            },
        )
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
                deleted=_is_true(row.get("deleted")),
            )
        )
    return found


def data_value_set(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    *,
    id_scheme: IdScheme = IdScheme.UID,
    data_set: str | None = None,
) -> dict[str, Any]:
    """A ``dataValueSets`` document for ``values`` (identifiers per ``id_scheme``)."""
    rows: list[dict[str, Any]] = []
    for v in values:
        row: dict[str, Any] = {
            "dataElement": mapping.data_element_out(v.data_element, id_scheme),
            "period": v.period,
            "orgUnit": mapping.org_unit_out(v.org_unit, id_scheme),
            "categoryOptionCombo": mapping.coc_out(v.category),
            "value": format_number(v.value),
        }
        if mapping.attribute_option_combo:
            row["attributeOptionCombo"] = mapping.attribute_option_combo
        if v.comment:
            row["comment"] = v.comment
        rows.append(row)
    doc: dict[str, Any] = {}
    if data_set:
        doc["dataSet"] = mapping.data_set_out(data_set, id_scheme)
    doc["dataValues"] = rows
    return doc


def write_data_value_set(
    values: Iterable[DataValue],
    mapping: Dhis2Mapping,
    *,
    id_scheme: IdScheme = IdScheme.UID,
    data_set: str | None = None,
) -> str:
    return json.dumps(
        data_value_set(values, mapping, id_scheme=id_scheme, data_set=data_set),
        indent=2,
        ensure_ascii=False,
    )
