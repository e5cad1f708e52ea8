"""DHIS2's import strategies for data values, and the older names DHIS2 still accepts.

What each does to a value that is (or is not) stored, as DHIS2 2.40's data value import
does it (``DefaultDataValueSetService``):

================== =================================== ==============================
strategy           value stored                        nothing stored
================== =================================== ==============================
CREATE_AND_UPDATE  updated (deleted if marked deleted) created (ignored if deleted)
CREATE             ignored                             created (ignored if deleted)
UPDATE             updated (deleted if marked deleted) ignored
DELETE             deleted                             ignored
================== =================================== ==============================
"""

from __future__ import annotations

from enum import StrEnum

from doseflow.domain.errors import DoseflowError


class ImportStrategy(StrEnum):
    CREATE_AND_UPDATE = "CREATE_AND_UPDATE"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


#: DHIS2's older names (before 2.22), still accepted by its Web API.
ALIASES: dict[str, ImportStrategy] = {
    "NEW_AND_UPDATES": ImportStrategy.CREATE_AND_UPDATE,
    "NEW": ImportStrategy.CREATE,
    "UPDATES": ImportStrategy.UPDATE,
    "DELETES": ImportStrategy.DELETE,
}


def parse_import_strategy(text: str | None, *, fld: str = "importStrategy") -> ImportStrategy:
    """The strategy named by ``text`` (any case; default CREATE_AND_UPDATE)."""
    if text is None or not text.strip():
        return ImportStrategy.CREATE_AND_UPDATE
    name = text.strip().upper()
    if name in ImportStrategy.__members__:
        return ImportStrategy[name]
    if name in ALIASES:
        return ALIASES[name]
    raise DoseflowError(
        "REPORT_UNKNOWN_IMPORT_STRATEGY",
        f"'{text}' is not a DHIS2 import strategy",
        field=fld,
        expected="CREATE_AND_UPDATE (default), CREATE, UPDATE or DELETE "
        "(or NEW_AND_UPDATES, NEW, UPDATES, DELETES)",
        value=text[:100],
    )
