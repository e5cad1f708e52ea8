"""The parameters of DHIS2's ``/api/dataValueSets``, read into what doseflow's engine takes.

A DHIS2 client sends the same parameters to doseflow as to DHIS2 (2.40's Web API, "Data
values"): on import ``dryRun``, ``importStrategy``, ``atomicMode``, the id schemes and
``async``; on export ``dataSet``, ``period``, ``startDate``, ``endDate``, ``orgUnit``,
``children``, ``lastUpdated``, ``attributeOptionCombo``, ``limit`` and the id schemes
(``includeDeleted=true`` is refused: doseflow deletes values outright). The id schemes
(``idScheme`` and one per kind of identifier: ``dataElementIdScheme``, ``orgUnitIdScheme``,
``categoryOptionComboIdScheme``, ``dataSetIdScheme``, ``attributeOptionComboIdScheme``) are
read into :class:`~doseflow.reporting.dhis2_mapping.IdSchemes`, the one reading of schemes
doseflow has. What doseflow cannot do as DHIS2 does is refused
(``REPORT_DHIS2_UNSUPPORTED_PARAMETER``; a scheme other than UID or CODE,
``REPORT_ID_SCHEME_UNSUPPORTED``) rather than silently done differently; a query DHIS2 itself
refuses (no data set, no period, no org unit) is refused the same way
(``REPORT_DHIS2_QUERY_INVALID``). Payloads are read by content type: dataValueSets JSON or
ADX XML, with the data sets and completions they name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.adx import read_adx_document
from doseflow.reporting.dhis2_json import read_data_value_set_document
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, IdKind, IdScheme, IdSchemes
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.import_strategy import ImportStrategy, parse_import_strategy
from doseflow.reporting.periods import parse_period
from doseflow.reporting.registrations import ExchangeDocument
from doseflow.reporting.schema import Schema

UNSUPPORTED = "REPORT_DHIS2_UNSUPPORTED_PARAMETER"
QUERY_INVALID = "REPORT_DHIS2_QUERY_INVALID"
MEDIA_TYPE = "SERVICE_UNSUPPORTED_MEDIA_TYPE"
JSON_TYPES = ("application/json",)
ADX_TYPES = ("application/adx+xml", "application/xml+adx")


def _unsupported(name: str, value: str, expected: str, why: str) -> DoseflowError:
    return DoseflowError(
        UNSUPPORTED,
        f"'{name}={value}' is not supported here: {why}",
        field=name,
        expected=expected,
        value=value[:100],
    )


#: DHIS2's id scheme parameters, by the kind of identifier each governs (None: ``idScheme``,
#: every kind without its own).
SCHEME_PARAMETERS: dict[str, IdKind | None] = {"idScheme": None} | {
    kind.parameter: kind for kind in IdKind
}


def request_schemes(given: Mapping[str, str | None]) -> IdSchemes:
    """The schemes a request's parameters ask for (``idScheme``, ``dataElementIdScheme``,
    ``orgUnitIdScheme``, ``categoryOptionComboIdScheme``, ``dataSetIdScheme``,
    ``attributeOptionComboIdScheme``; blank or missing: not given). Each kind may have its own
    scheme, as in DHIS2; UID or CODE only (``REPORT_ID_SCHEME_UNSUPPORTED`` names the
    parameter). DHIS2's ``id`` is its name for UID."""
    texts: dict[IdKind | None, str | None] = {}
    names: dict[IdKind | None, str] = {}
    for name, value in given.items():
        kind = SCHEME_PARAMETERS[name]
        if value is None or not value.strip():
            continue
        text = value.strip()
        texts[kind] = "uid" if text.lower() == "id" else text
        names[kind] = name
    return IdSchemes.parse(texts, names=names)


def given_schemes(schemes: IdSchemes) -> dict[str, str]:
    """The schemes given, by DHIS2's parameter names, as the import summary lists them."""
    found: dict[str, str] = {}
    for name, kind in SCHEME_PARAMETERS.items():
        scheme = schemes.general if kind is None else schemes.of(kind)
        if scheme is not None and (kind is None or scheme is not schemes.general):
            found[name] = scheme.name
    return found


@dataclass(frozen=True)
class ImportParams:
    """What a ``POST /api/dataValueSets`` asks of the engine."""

    dry_run: bool = False
    strategy: ImportStrategy = ImportStrategy.CREATE_AND_UPDATE
    atomic: bool = False
    id_schemes: IdSchemes = field(default_factory=IdSchemes)


def import_params(
    *,
    dry_run: bool = False,
    import_strategy: str | None = None,
    atomic_mode: str | None = None,
    run_async: bool = False,
    id_schemes: Mapping[str, str | None] | None = None,
) -> ImportParams:
    """The import's parameters; ``async=true`` is refused (doseflow imports synchronously:
    the answer is the import summary itself, never a job to poll). ``id_schemes``: the id
    scheme parameters by name (see :func:`request_schemes`)."""
    if run_async:
        raise _unsupported(
            "async",
            "true",
            "async=false (the default)",
            "imports run synchronously and answer with the import summary",
        )
    atomic = False
    if atomic_mode is not None and atomic_mode.strip():
        mode = atomic_mode.strip().upper()
        if mode not in ("ALL", "NONE"):
            raise DoseflowError(
                QUERY_INVALID,
                f"'{atomic_mode}' is not an atomic mode",
                field="atomicMode",
                expected="ALL or NONE",
                value=atomic_mode[:100],
            )
        atomic = mode == "ALL"
    return ImportParams(
        dry_run=dry_run,
        strategy=parse_import_strategy(import_strategy),
        atomic=atomic,
        id_schemes=request_schemes(id_schemes or {}),
    )


def media_type(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` header, lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_payload(
    content_type: str | None,
    body: bytes,
    mapping: Dhis2Mapping,
    schema: Schema,
    *,
    source: str = "request body",
    id_schemes: IdSchemes | None = None,
) -> ExchangeDocument:
    """The values and data sets (completions) of a dataValueSets JSON or ADX XML body, by
    its content type; identifiers read under ``id_schemes`` (default: auto), the
    document's own schemes winning as in DHIS2."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        return read_data_value_set_document(body, mapping, source=source, id_schemes=id_schemes)
    if kind in ADX_TYPES:
        return read_adx_document(body, mapping, schema, source=source, id_schemes=id_schemes)
    raise DoseflowError(
        MEDIA_TYPE,
        f"a dataValueSets body of type '{kind or 'none'}' cannot be read here",
        field="Content-Type",
        expected="application/json (dataValueSets JSON) or application/adx+xml (ADX); "
        "DXF2 XML and CSV are not supported",
        value=(content_type or "")[:100],
    )


@dataclass(frozen=True)
class ExportQuery:
    """Which stored values a ``GET /api/dataValueSets`` asks for, in doseflow's codes."""

    data_elements: tuple[str, ...]
    org_units: tuple[str, ...]
    periods: tuple[str, ...] | None
    start: date | None
    end: date | None
    updated_since: datetime | None
    id_schemes: IdSchemes  # every kind's scheme (``general`` set)
    data_set: str | None  # the one data set asked for (echoed in the answer), else None
    attributes: tuple[str, ...] | None = None  # attribute option combo keys (None: all)
    #: (key, as given) of the attribute option combos the mapping does not know: they exist
    #: only if stored values carry them, which the store judges
    unmapped_attributes: tuple[tuple[str, str], ...] = ()
    limit: int | None = None  # the first values only (DHIS2's ``limit``)


def _moment(name: str, text: str) -> datetime:
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DoseflowError(
            QUERY_INVALID,
            f"'{text}' is not a date",
            field=name,
            expected="an ISO 8601 date or date and time (2021-09-27, 2021-09-27T08:00:00)",
            value=text[:100],
        ) from None
    if found.tzinfo is not None:
        found = found.astimezone(UTC).replace(tzinfo=None)
    return found


def unknown_attribute(given: str) -> DoseflowError:
    """The refusal of an attribute option combo neither mapped nor stored."""
    return DoseflowError(
        QUERY_INVALID,
        f"attribute option combo '{given}' is not known",
        field="attributeOptionCombo",
        expected="an attribute option combo of the DHIS2 mapping or of stored values "
        "(default: DHIS2's default combo)",
        value=given[:100],
    )


def _attributes(
    given: Sequence[str], mapping: Dhis2Mapping, scheme: IdScheme | None
) -> tuple[tuple[str, ...] | None, tuple[tuple[str, str], ...]]:
    """The attribute option combo keys ``given`` names (under ``scheme``, either when None)
    and those of them the mapping does not know."""
    if not given:
        return None, ()
    keys: list[str] = []
    unmapped: list[tuple[str, str]] = []
    for text in given:
        key = mapping.identifier_in(IdKind.ATTRIBUTE_OPTION_COMBO, text.strip(), scheme)
        if key is None:
            assert scheme is not None
            raise DoseflowError(
                QUERY_INVALID,
                f"attribute option combo '{text}' is not an identifier under {scheme.name}",
                field="attributeOptionCombo",
                expected=f"an attribute option combo's {scheme.name} "
                "(attributeOptionComboIdScheme or idScheme)",
                value=text[:100],
            )
        keys.append(key)
        if key not in mapping.attribute_option_combos:
            unmapped.append((key, text))
    return tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(unmapped))


def _limit(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        found = int(text.strip())
    except ValueError:
        found = 0
    if found < 1:
        raise DoseflowError(
            QUERY_INVALID,
            f"'{text}' is not a positive whole number of values",
            field="limit",
            expected="a positive integer (the most values to answer)",
            value=text[:100],
        )
    return found


def _missing(name: str, expected: str) -> DoseflowError:
    return DoseflowError(
        QUERY_INVALID, f"{expected} must be specified", field=name, expected=expected
    )


def export_query(
    *,
    schema: Schema,
    hierarchy: Hierarchy,
    mapping: Dhis2Mapping,
    data_sets: Sequence[str] = (),
    periods: Sequence[str] = (),
    start_date: str | None = None,
    end_date: str | None = None,
    org_units: Sequence[str] = (),
    children: bool = False,
    last_updated: str | None = None,
    id_schemes: IdSchemes | None = None,
    default_scheme: IdScheme = IdScheme.UID,
    attribute_option_combos: Sequence[str] = (),
    limit: str | None = None,
    include_deleted: bool = False,
) -> ExportQuery:
    """DHIS2's export query, checked as DHIS2 checks it: at least one data set; a period, a
    start and end date, or ``lastUpdated``; at least one org unit. ``period`` takes
    precedence over the dates; ``children`` adds every unit below the ones named. The
    answer's identifiers are under ``id_schemes`` (per kind), ``default_scheme`` for every
    kind given none. ``attribute_option_combos`` are read under the attribute option combo
    scheme given (either scheme when none is); ``limit`` (text, as sent) must be a positive
    integer. ``include_deleted`` is refused: doseflow keeps no deleted values to include."""
    if include_deleted:
        raise _unsupported(
            "includeDeleted",
            "true",
            "includeDeleted=false (the default)",
            "doseflow has no deleted values to include: a deleted value is deleted outright, "
            "not kept marked deleted as in DHIS2",
        )
    if not data_sets:
        raise _missing("dataSet", "at least one data set")
    reports: list[str] = []
    for given in data_sets:
        code = mapping.identifier_in(IdKind.DATA_SET, given, None) or given  # either scheme
        if code not in schema.report_types:
            raise DoseflowError(
                QUERY_INVALID,
                f"data set '{given}' is not a report type of the reporting schema",
                field="dataSet",
                expected="one of " + ", ".join(sorted(schema.report_types)),
                value=given[:100],
            )
        reports.append(code)
    has_dates = bool(start_date and end_date)
    if not periods and not has_dates and not last_updated:
        raise _missing("period", "a period, a start and end date, or lastUpdated")
    if not org_units:
        raise _missing("orgUnit", "at least one organisation unit")
    units: list[str] = []
    for given in org_units:
        code = mapping.identifier_in(IdKind.ORG_UNIT, given, None) or given  # either scheme
        if hierarchy.unit(code) is None:
            raise DoseflowError(
                QUERY_INVALID,
                f"org unit '{given}' is not in the reporting hierarchy",
                field="orgUnit",
                expected="a participant's code or one of its regions",
                value=given[:100],
            )
        units.append(code)
        if children:
            units.extend(u.code for u in hierarchy.descendants(code))
    codes = tuple(parse_period(p).code for p in periods) if periods else None
    start = end = None
    if codes is None and has_dates:
        assert start_date is not None
        assert end_date is not None
        start = _moment("startDate", start_date).date()
        end = _moment("endDate", end_date).date()
    elements = tuple(sorted(e.code for e in schema.elements.values() if e.report in set(reports)))
    attributes, unmapped = _attributes(
        attribute_option_combos,
        mapping,
        (id_schemes or IdSchemes()).of(IdKind.ATTRIBUTE_OPTION_COMBO),
    )
    return ExportQuery(
        data_elements=elements,
        org_units=tuple(dict.fromkeys(units)),
        periods=codes,
        start=start,
        end=end,
        updated_since=_moment("lastUpdated", last_updated) if last_updated else None,
        id_schemes=(id_schemes or IdSchemes()).over(IdSchemes(general=default_scheme)),
        data_set=reports[0] if len(reports) == 1 else None,
        attributes=attributes,
        unmapped_attributes=unmapped,
        limit=_limit(limit),
    )


def within_dates(period: str, query: ExportQuery) -> bool:
    """Whether a stored period lies wholly between the query's start and end dates (DHIS2's
    reading of ``startDate`` and ``endDate``)."""
    if query.start is None or query.end is None:
        return True
    found = parse_period(period)
    return found.start >= query.start and found.end <= query.end
