"""Validating a submission value by value into an import summary.

Every submitted value gets exactly one outcome:

* ``accepted``: a new value, to be stored;
* ``updated``: replaces a stored value that differed (value or comment);
* ``ignored``: identical to the stored value (so re-submitting is harmless), or left alone
  by the import strategy (see :mod:`doseflow.reporting.import_strategy`);
* ``deleted``: a value marked deleted (DHIS2 ``"deleted": true``, or any value under the
  DELETE strategy) whose stored value is removed; with nothing stored it is ``ignored``;
* ``conflict``: refused, with a stable code naming what was wrong (see ``docs/reporting.md``).

Values without conflicts are written even when others conflict (as DHIS2 does), unless the
submission is *atomic*, in which case one conflict means nothing is written. A *dry run*
validates and summarises without writing. Cross-checks against the ledger add conflicts
(administered above available) and warnings (stock differing from the ledger).

This module is pure: stored values, locks and ledger figures come in as mappings, and the
values to write go out in :attr:`ImportSummary.writes`.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from doseflow.data.fields import free_text_problem
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_TEXT_LENGTH
from doseflow.reporting.crosscheck import LedgerFigures
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.import_strategy import ImportStrategy
from doseflow.reporting.locks import LockKey, PeriodLock
from doseflow.reporting.periods import Period, parse_period
from doseflow.reporting.registrations import CompleteRegistration
from doseflow.reporting.schema import DEFAULT_CATEGORY_KEY, DataElement, Role, Schema, ValueType
from doseflow.reporting.value_check import ValueProblem, check_number, element_bounds
from doseflow.reporting.value_types import parse_text
from doseflow.reporting.values import (
    DEFAULT_ATTRIBUTE_KEY,
    DataValue,
    Origin,
    SubmittedValue,
    ValueKey,
    format_number,
)

#: Stored values the submission is compared with: key -> (value, comment).
StoredValues = Mapping[ValueKey, tuple[float, str | None]]


_INFINITIES = (math.inf, -math.inf)
#: The longest attribute option combo key (the store's column width).
MAX_ATTRIBUTE_KEY_LENGTH = 200
#: Distinct value texts remembered per value type (most submissions repeat few figures).
_TEXT_CACHE_SIZE = 1 << 16


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    UPDATED = "updated"
    IGNORED = "ignored"
    CONFLICT = "conflict"
    DELETED = "deleted"


class SummaryStatus(StrEnum):
    OK = "OK"  # no conflict, no warning
    WARNING = "WARNING"  # written, with warnings or some conflicts
    ERROR = "ERROR"  # nothing written because of conflicts (atomic) or every value conflicted


@dataclass(frozen=True)
class Conflict:
    """A problem with the value at ``index`` of the submission."""

    index: int
    error: ErrorDetail

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, **self.error.to_dict()}


@dataclass(frozen=True)
class ImportSummary:
    """The answer to a submission: an outcome per value, the conflicts and warnings with
    their codes, and the values that were (or, in a dry run, would be) written."""

    outcomes: tuple[Outcome, ...]
    conflicts: tuple[Conflict, ...]
    warnings: tuple[Conflict, ...]
    writes: tuple[DataValue, ...]
    dry_run: bool = False
    atomic: bool = False
    reports: frozenset[LockKey] = field(default_factory=frozenset)
    #: completions (complete data set registrations) the file asked for, checked
    completed: tuple[CompleteRegistration, ...] = ()
    #: Keys of the stored values that were (or, in a dry run, would be) deleted.
    deletes: tuple[ValueKey, ...] = ()
    strategy: ImportStrategy = ImportStrategy.CREATE_AND_UPDATE

    @property
    def written(self) -> bool:
        return not self.dry_run and bool(self.writes or self.deletes)

    @property
    def completions_written(self) -> bool:
        """Registrations are stored with the values, and not when nothing could be."""
        return not self.dry_run and self.status is not SummaryStatus.ERROR

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes if o is outcome)

    @property
    def counts(self) -> dict[str, int]:
        tally = dict.fromkeys((o.value for o in Outcome), 0)
        for o in self.outcomes:
            tally[o.value] += 1
        return tally

    @property
    def status(self) -> SummaryStatus:
        if (
            self.conflicts
            and not self.writes
            and not self.deletes
            and self.count(Outcome.IGNORED) == 0
        ):
            return SummaryStatus.ERROR
        if self.conflicts and self.atomic:
            return SummaryStatus.ERROR
        if self.conflicts or self.warnings:
            return SummaryStatus.WARNING
        return SummaryStatus.OK

    def to_dict(self, max_items: int | None = None) -> dict[str, Any]:
        """A JSON-ready form (the REST service's response body)."""
        conflicts = self.conflicts if max_items is None else self.conflicts[:max_items]
        warnings = self.warnings if max_items is None else self.warnings[:max_items]
        return {
            "status": self.status.value,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "counts": self.counts,
            "written": len(self.writes) if self.written else 0,
            "completed": len(self.completed) if self.completions_written else 0,
            "deleted": len(self.deletes) if self.written else 0,
            "import_strategy": self.strategy.value,
            "conflicts": [c.to_dict() for c in conflicts],
            "warnings": [w.to_dict() for w in warnings],
            "truncated": len(conflicts) < len(self.conflicts) or len(warnings) < len(self.warnings),
        }


@dataclass(frozen=True)
class SubmissionContext:
    """Everything a submission is checked against."""

    schema: Schema
    hierarchy: Hierarchy
    as_of: date
    stored: StoredValues = field(default_factory=dict)
    locks: Mapping[LockKey, PeriodLock] = field(default_factory=dict)
    ledger: LedgerFigures | None = None


def _location(origin: Origin | None, fld: str) -> ErrorLocation:
    if origin is None:
        return ErrorLocation(field=fld)
    return ErrorLocation(
        source=origin.source, line=origin.line, column=origin.columns.get(fld), field=fld
    )


class _Validator:
    """Checks values one by one, with caches so a million values stay fast."""

    def __init__(self, ctx: SubmissionContext) -> None:
        self.ctx = ctx
        self.periods: dict[str, Period | ErrorDetail] = {}
        self.units: dict[tuple[str, str | None], str | ErrorDetail] = {}
        self.categories: dict[tuple[str, str], bool] = {}
        self.attributes: dict[str, bool] = {DEFAULT_ATTRIBUTE_KEY: True}
        self.locks = ctx.locks
        self.texts: dict[ValueType, dict[str, float]] = {t: {} for t in ValueType}
        self.element_info = {
            e.code: (
                e.report,
                e.value_type.whole,
                *element_bounds(e),
                e.value_type,
                self.texts[e.value_type],
            )
            for e in ctx.schema.elements.values()
        }
        self.period_info: dict[tuple[str, str], str] = {}

    def detail(
        self,
        v: SubmittedValue,
        code: str,
        fld: str,
        message: str,
        expected: str | None,
        value: Any,
    ) -> ErrorDetail:
        return ErrorDetail(code, message, _location(v.origin, fld), expected, value)

    def period(self, v: SubmittedValue, element: DataElement) -> Period | ErrorDetail:
        key = v.period
        found = self.periods.get(key)
        if found is None:
            try:
                found = parse_period(key)
            except DoseflowError as err:
                found = err.detail
            self.periods[key] = found
        if isinstance(found, ErrorDetail):
            return ErrorDetail(
                found.code,
                found.message,
                _location(v.origin, "period"),
                found.expected,
                found.value,
            )
        allowed = self.ctx.schema.report_types[element.report].period_types
        if found.type not in allowed:
            return self.detail(
                v,
                "REPORT_WRONG_PERIOD_TYPE",
                "period",
                f"report '{element.report}' is not kept per {found.type.value} period",
                " or ".join(t.value for t in allowed) + " periods",
                v.period,
            )
        return found

    def participant(self, v: SubmittedValue) -> str | ErrorDetail:
        key = (v.org_unit, v.participant)
        found = self.units.get(key)
        if found is not None:
            return found
        hierarchy = self.ctx.hierarchy
        if v.participant is not None:
            national = hierarchy.unit(v.participant)
            if national is None or not national.is_national:
                found = self.detail(
                    v,
                    "REPORT_UNKNOWN_PARTICIPANT",
                    "participant",
                    f"'{v.participant}' is not a participant in the reporting hierarchy",
                    "a participant code from the hierarchy (e.g. an ISO3 code)",
                    v.participant,
                )
                self.units[key] = found
                return found
        unit = hierarchy.unit(v.org_unit)
        if unit is None or (v.participant is not None and unit.participant != v.participant):
            owner = v.participant or "any participant"
            found = self.detail(
                v,
                "REPORT_ORG_UNIT_NOT_IN_HIERARCHY",
                "org_unit",
                f"org unit '{v.org_unit}' is not in the hierarchy of {owner}",
                "the participant's own code or one of its regions",
                v.org_unit,
            )
        else:
            found = unit.participant
        self.units[key] = found
        return found

    def category(self, v: SubmittedValue, element: DataElement) -> ErrorDetail | None:
        ck = (element.code, v.category)
        ok = self.categories.get(ck)
        if ok is None:
            ok = v.category in self.ctx.schema.category_keys(element)
            self.categories[ck] = ok
        if ok:
            return None
        if element.categories:
            expected = "one option of each of " + ", ".join(
                f"{c} ({'|'.join(self.ctx.schema.categories[c].option_codes())})"
                for c in element.categories
            )
            expected += f", written like {self.ctx.schema.category_keys(element)[0]}"
        else:
            expected = f"'{DEFAULT_CATEGORY_KEY}' (this element is not disaggregated)"
        return self.detail(
            v,
            "REPORT_BAD_CATEGORY_COMBO",
            "category",
            f"'{v.category}' is not a category combination of data element '{element.code}'",
            expected,
            v.category,
        )

    def attribute(self, v: SubmittedValue) -> ErrorDetail | None:
        """Attribute option combos are not declared in the schema (DHIS2 ties them to the data
        set, doseflow keeps whatever the mapping gives): only a key that cannot be stored is
        refused."""
        key = v.attribute
        ok = self.attributes.get(key)
        if ok is None:
            ok = (
                0 < len(key) <= MAX_ATTRIBUTE_KEY_LENGTH
                and key.isprintable()
                and key == key.strip()
            )
            self.attributes[key] = ok
        if ok:
            return None
        return self.detail(
            v,
            "REPORT_BAD_ATTRIBUTE_COMBO",
            "attribute",
            f"'{key}' cannot be an attribute option combo",
            f"'{DEFAULT_ATTRIBUTE_KEY}' or a key like funder=gavi, of 1-"
            f"{MAX_ATTRIBUTE_KEY_LENGTH} printable characters",
            key,
        )

    def number(self, v: SubmittedValue, element: DataElement) -> float | ErrorDetail:
        found = check_number(element, v.value)
        if isinstance(found, ValueProblem):
            return self.detail(v, found.code, "value", found.message, found.expected, v.value)
        return found

    def check(self, v: SubmittedValue, *, deleting: bool = False) -> DataValue | ErrorDetail:
        """The validated value, or the first problem. A deletion is checked for what it
        names (element, period, org unit, category, lock), not for its value or comment."""
        element = self.ctx.schema.elements.get(v.data_element)
        if element is None:
            return self.detail(
                v,
                "REPORT_UNKNOWN_DATA_ELEMENT",
                "data_element",
                f"'{v.data_element}' is not a data element of the reporting schema",
                "a data element code from the schema (see `doseflow report schema`)",
                v.data_element,
            )
        period = self.period(v, element)
        if isinstance(period, ErrorDetail):
            return period
        participant = self.participant(v)
        if isinstance(participant, ErrorDetail):
            return participant
        bad_category = self.category(v, element)
        if bad_category is not None:
            return bad_category
        bad_attribute = self.attribute(v)
        if bad_attribute is not None:
            return bad_attribute
        if period.start > self.ctx.as_of:
            return self.detail(
                v,
                "REPORT_PERIOD_NOT_OPEN",
                "period",
                f"period {period.code} starts on {period.start.isoformat()}, after "
                f"{self.ctx.as_of.isoformat()}: it is not open for reporting yet",
                f"a period that has started by {self.ctx.as_of.isoformat()}",
                v.period,
            )
        lock = self.ctx.locks.get((participant, element.report, period.code))
        if lock is not None:
            return self.detail(
                v,
                "REPORT_PERIOD_LOCKED",
                "period",
                f"the {element.report} report of {participant} for {period.code} was approved "
                f"and locked by {lock.locked_by} on {lock.locked_at:%Y-%m-%d}; "
                "reopen it to correct it",
                "an open period (or `doseflow report reopen` with a reason)",
                period.code,
            )
        if deleting:
            return DataValue(
                participant,
                v.org_unit,
                period.code,
                element.code,
                v.category,
                math.nan,
                None,
                v.attribute,
            )
        number = self.number(v, element)
        if isinstance(number, ErrorDetail):
            return number
        problem = None if v.comment is None else free_text_problem(v.comment)
        if problem is not None:
            return self.detail(
                v,
                "REPORT_BAD_COMMENT",
                "comment",
                f"the comment cannot be stored: {problem}",
                f"at most {MAX_TEXT_LENGTH} characters, tabs and line breaks the only control "
                "characters",
                v.comment,
            )
        return DataValue(
            participant,
            v.org_unit,
            period.code,
            element.code,
            v.category,
            number,
            v.comment,
            v.attribute,
        )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while millions of acyclic tuples are made:
    it would otherwise walk every live object again and again (~40% of a large import).
    Reference counting still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_submission(
    values: Sequence[SubmittedValue],
    ctx: SubmissionContext,
    *,
    dry_run: bool = False,
    atomic: bool = False,
    strategy: ImportStrategy = ImportStrategy.CREATE_AND_UPDATE,
) -> ImportSummary:
    """Check every value of ``values`` and decide its outcome (see the module docstring);
    ``strategy`` is DHIS2's ``importStrategy``."""
    with paused_gc():
        return _validate(values, ctx, dry_run=dry_run, atomic=atomic, strategy=strategy)


def _validate(
    values: Sequence[SubmittedValue],
    ctx: SubmissionContext,
    *,
    dry_run: bool,
    atomic: bool,
    strategy: ImportStrategy = ImportStrategy.CREATE_AND_UPDATE,
) -> ImportSummary:
    checker = _Validator(ctx)
    deleting: dict[ValueKey, int] = {}  # key -> index of the value deleting it
    delete_all = strategy is ImportStrategy.DELETE
    outcomes: list[Outcome] = [Outcome.CONFLICT] * len(values)
    conflicts: dict[int, ErrorDetail] = {}
    accepted: dict[ValueKey, tuple[int, DataValue]] = {}
    duplicated: set[ValueKey] = set()
    stored = ctx.stored
    element_info = checker.element_info
    period_info = checker.period_info
    units = checker.units
    categories = checker.categories
    attributes = checker.attributes
    locks = ctx.locks
    as_of = ctx.as_of
    accepted_get = accepted.get
    stored_get = stored.get
    for index, v in enumerate(values):
        if v.deleted or delete_all:
            _deletion(
                index,
                values,
                checker,
                strategy,
                accepted,
                deleting,
                duplicated,
                outcomes,
                conflicts,
            )
            continue
        # The fast path: every check through a cache, inline (a million values a go).
        checked: DataValue | None = None
        info = element_info.get(v.data_element)
        if info is not None:
            report, whole, low, high, value_type, texts = info
            code = period_info.get((v.period, report))
            participant = units.get((v.org_unit, v.participant))
            raw = v.value
            kind = raw.__class__
            number = math.nan
            if kind is str:
                parsed = texts.get(raw)  # type: ignore[call-overload]
                if parsed is None:
                    parsed = parse_text(raw, value_type)  # type: ignore[arg-type]
                    if len(texts) < _TEXT_CACHE_SIZE:
                        texts[raw] = parsed  # type: ignore[index]
                number = parsed
            elif kind is int or kind is float:
                number = float(raw)  # type: ignore[arg-type]
            if (
                code is not None
                and participant.__class__ is str
                and categories.get((v.data_element, v.category))
                and attributes.get(v.attribute)
                and number == number
                and number not in _INFINITIES
                and not (whole and not number.is_integer())
                and (low is None or number >= low)
                and (high is None or number <= high)
                and not (locks and (participant, report, code) in locks)
            ):
                checked = DataValue(
                    participant,
                    v.org_unit,
                    code,
                    v.data_element,
                    v.category,
                    number,
                    v.comment,
                    v.attribute,
                )
        if checked is None:
            slow = checker.check(v)
            if isinstance(slow, ErrorDetail):
                conflicts[index] = slow
                continue
            checked = slow
            if (v.period, slow_report := ctx.schema.elements[v.data_element].report) not in (
                period_info
            ) and parse_period(slow.period).start <= as_of:
                period_info[(v.period, slow_report)] = slow.period
        key = (
            checked.participant,
            checked.org_unit,
            checked.period,
            checked.data_element,
            checked.category,
            checked.attribute,
        )
        if deleting and key in deleting:
            _clash((index, deleting.pop(key)), values, checker, outcomes, conflicts)
            duplicated.add(key)
            continue
        earlier = accepted_get(key)
        if earlier is None and key in duplicated:
            conflicts[index] = checker.detail(
                v,
                "REPORT_DUPLICATE_IN_SUBMISSION",
                "value",
                "the same value is submitted more than twice with different figures",
                "each value once per submission",
                v.value,
            )
            continue
        if earlier is not None:
            first_index, first = earlier
            if first.value == checked.value and first.comment == checked.comment:
                outcomes[index] = Outcome.IGNORED
                continue
            message = (
                f"the same value is submitted twice with different figures "
                f"({format_number(first.value)} at item {first_index + 1}, "
                f"{format_number(checked.value)} at item {index + 1})"
            )
            for i in (first_index, index):
                conflicts[i] = checker.detail(
                    values[i],
                    "REPORT_DUPLICATE_IN_SUBMISSION",
                    "value",
                    message,
                    "each value once per submission",
                    values[i].value,
                )
                outcomes[i] = Outcome.CONFLICT
            del accepted[key]
            duplicated.add(key)
            continue
        before = stored_get(key)
        if before is None:
            if strategy is ImportStrategy.UPDATE:
                outcomes[index] = Outcome.IGNORED  # UPDATE creates nothing
                continue
            outcomes[index] = Outcome.ACCEPTED
        elif strategy is ImportStrategy.CREATE:
            outcomes[index] = Outcome.IGNORED  # CREATE leaves stored values alone
            continue
        elif before[0] == checked.value and before[1] == checked.comment:
            outcomes[index] = Outcome.IGNORED
        else:
            outcomes[index] = Outcome.UPDATED
        accepted[key] = (index, checked)
    warnings: list[Conflict] = []
    if ctx.ledger is not None:
        _ledger_checks(values, ctx, accepted, deleting, outcomes, conflicts, warnings)
    writes = tuple(dv for index, dv in accepted.values() if outcomes[index] is not Outcome.IGNORED)
    deletes = tuple(key for key, index in deleting.items() if outcomes[index] is Outcome.DELETED)
    if atomic and conflicts:
        writes = ()
        deletes = ()
    reports = frozenset(
        (dv.participant, ctx.schema.elements[dv.data_element].report, dv.period)
        for _, dv in accepted.values()
    )
    return ImportSummary(
        outcomes=tuple(outcomes),
        conflicts=tuple(Conflict(i, conflicts[i]) for i in sorted(conflicts)),
        warnings=tuple(warnings),
        writes=writes,
        dry_run=dry_run,
        atomic=atomic,
        reports=reports if writes or not conflicts else frozenset(),
        deletes=deletes,
        strategy=strategy,
    )


def _deletion(
    index: int,
    values: Sequence[SubmittedValue],
    checker: _Validator,
    strategy: ImportStrategy,
    accepted: dict[ValueKey, tuple[int, DataValue]],
    deleting: dict[ValueKey, int],
    duplicated: set[ValueKey],
    outcomes: list[Outcome],
    conflicts: dict[int, ErrorDetail],
) -> None:
    """The outcome of a value that asks for a deletion: deleted if a value is stored under
    its key, ignored if none is (or under CREATE, which deletes nothing, as in DHIS2)."""
    found = checker.check(values[index], deleting=True)
    if isinstance(found, ErrorDetail):
        conflicts[index] = found
        return
    key: ValueKey = found.key
    if key in accepted:
        _clash((index, accepted.pop(key)[0]), values, checker, outcomes, conflicts)
        duplicated.add(key)
    elif key in duplicated:
        _clash((index,), values, checker, outcomes, conflicts)
    elif key in deleting or strategy is ImportStrategy.CREATE or key not in checker.ctx.stored:
        outcomes[index] = Outcome.IGNORED
    else:
        deleting[key] = index
        outcomes[index] = Outcome.DELETED


def _clash(
    indices: tuple[int, ...],
    values: Sequence[SubmittedValue],
    checker: _Validator,
    outcomes: list[Outcome],
    conflicts: dict[int, ErrorDetail],
) -> None:
    """One key both given a value and deleted in the same submission: a conflict on each."""
    for i in indices:
        conflicts[i] = checker.detail(
            values[i],
            "REPORT_DUPLICATE_IN_SUBMISSION",
            "value",
            "the same value is both submitted and deleted in this submission",
            "each value once per submission",
            values[i].value,
        )
        outcomes[i] = Outcome.CONFLICT


def _ledger_checks(
    values: Sequence[SubmittedValue],
    ctx: SubmissionContext,
    accepted: dict[ValueKey, tuple[int, DataValue]],
    deleting: dict[ValueKey, int],
    outcomes: list[Outcome],
    conflicts: dict[int, ErrorDetail],
    warnings: list[Conflict],
) -> None:
    ledger = ctx.ledger
    assert ledger is not None
    schema = ctx.schema
    administered = {e.code for e in schema.elements_with_role(Role.ADMINISTERED)}
    stock = {e.code for e in schema.elements_with_role(Role.STOCK_ON_HAND)}
    groups: dict[tuple[str, str, str], list[tuple[int, ValueKey]]] = {}
    for index, dv in accepted.values():
        if dv.data_element in administered:
            groups.setdefault((dv.participant, dv.org_unit, dv.period), []).append((index, dv.key))
        elif dv.data_element in stock:
            position = ledger.get((dv.org_unit, dv.period))
            if position is not None and dv.value != position.closing:
                diff = dv.value - position.closing
                warnings.append(
                    Conflict(
                        index,
                        ErrorDetail(
                            "REPORT_STOCK_DIFFERS_FROM_LEDGER",
                            f"reported stock of {dv.org_unit} at the end of {dv.period} "
                            f"({position.time_zone} time) is {dv.value:,.0f} doses; the "
                            f"ledger holds {position.closing:,} (difference {diff:+,.0f} "
                            "doses)",
                            _location(values[index].origin, "value"),
                            f"{position.closing} doses, as in the ledger",
                            values[index].value,
                        ),
                    )
                )
    # every category and attribute option combo counts: the stored values of the groups
    # checked, except those this submission replaces or deletes
    totals: dict[tuple[str, str, str], float] = dict.fromkeys(groups, 0.0)
    for _, dv in accepted.values():
        group = (dv.participant, dv.org_unit, dv.period)
        if dv.data_element in administered and group in totals:
            totals[group] += dv.value
    if totals:
        for key, (old, _) in ctx.stored.items():
            if key[3] not in administered:
                continue  # most stored values: one set lookup, no tuple built
            group = (key[0], key[1], key[2])
            if group in totals and key not in accepted and key not in deleting:
                totals[group] += old
    for (participant, org_unit, period), members in groups.items():
        position = ledger.get((org_unit, period))
        if position is None:
            continue
        total = totals[(participant, org_unit, period)]
        if total <= position.available:
            continue
        excess = total - position.available
        for index, key in members:
            conflicts[index] = ErrorDetail(
                "REPORT_ADMINISTERED_EXCEEDS_AVAILABLE",
                f"{total:,.0f} doses administered in {org_unit} in {period} "
                f"exceed the {position.available:,} doses available there per the ledger "
                f"({period} in {position.time_zone} time: stock {position.opening:,} at the "
                f"start + {position.received:,} received; {excess:,.0f} too many)",
                _location(values[index].origin, "value"),
                f"at most {position.available:,} doses in total",
                values[index].value,
            )
            outcomes[index] = Outcome.CONFLICT
            del accepted[key]
