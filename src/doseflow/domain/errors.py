"""Errors with stable codes.

Every error a user can cause carries a stable code (documented in ``docs/errors.md``), a
plain-language message, and where it happened: the file, line and column when the input came
from a file, the field that was wrong, what was expected and what was found. Interfaces render
these the same way (CLI, REST), so a user can search for the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from doseflow.domain.limits import MAX_TEXT_LENGTH


def shown_value(value: Any) -> str:
    """``value`` as an error shows it: cut to ``MAX_TEXT_LENGTH`` characters, so a refused
    50 MB value is not sent back (or printed) whole."""
    text = str(value)
    if len(text) <= MAX_TEXT_LENGTH:
        return text
    return f"{text[:MAX_TEXT_LENGTH]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class ErrorLocation:
    """Where a bad value was found. Every part is optional; give as many as are known."""

    source: str | None = None
    line: int | None = None
    column: int | str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.source:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class ErrorDetail:
    """One problem: a stable code, a message, a location, what was expected and what was found."""

    code: str
    message: str
    location: ErrorLocation = field(default_factory=ErrorLocation)
    expected: str | None = None
    value: Any = None

    def render(self) -> str:
        where = str(self.location)
        text = f"[{self.code}] "
        if where:
            text += f"{where}: "
        text += self.message
        if self.expected is not None:
            text += f" (expected {self.expected}"
            if self.value is not None:
                text += f", got {self._got()}"
            text += ")"
        elif self.value is not None:
            text += f" (got {self._got()})"
        return text

    def _got(self) -> str:
        shown = repr(self.value)
        return shown if len(shown) <= MAX_TEXT_LENGTH else repr(shown_value(self.value))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, used by the REST service and ``--json`` CLI output."""
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "source": loc.source,
            "line": loc.line,
            "column": loc.column,
            "field": loc.field,
            "expected": self.expected,
            "value": None if self.value is None else shown_value(self.value),
        }


class DoseflowError(Exception):
    """An error the user can fix. Holds one or more :class:`ErrorDetail`.

    Raised before anything is written: code that writes validates first, so a raised
    ``DoseflowError`` always means nothing changed.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | str | None = None,
        field: str | None = None,
        expected: str | None = None,
        value: Any = None,
    ) -> None:
        detail = ErrorDetail(
            code=code,
            message=message,
            location=ErrorLocation(source=source, line=line, column=column, field=field),
            expected=expected,
            value=value,
        )
        self.details: tuple[ErrorDetail, ...] = (detail,)
        super().__init__(detail.render())

    @classmethod
    def from_details(cls, details: Iterable[ErrorDetail]) -> DoseflowError:
        """Bundle several problems found in one pass (e.g. every bad row of a file)."""
        found = tuple(details)
        if not found:
            raise ValueError("from_details needs at least one ErrorDetail")
        err = cls.__new__(cls)
        err.details = found
        Exception.__init__(err, "\n".join(d.render() for d in found))
        return err

    @property
    def code(self) -> str:
        """The code of the first problem (the one most callers branch on)."""
        return self.details[0].code

    @property
    def detail(self) -> ErrorDetail:
        return self.details[0]

    def __iter__(self) -> Iterator[ErrorDetail]:
        return iter(self.details)

    def with_source(self, source: str) -> DoseflowError:
        """The same problems, attributed to ``source`` where no source was known yet."""
        return DoseflowError.from_details(
            ErrorDetail(
                code=d.code,
                message=d.message,
                location=ErrorLocation(
                    source=d.location.source or source,
                    line=d.location.line,
                    column=d.location.column,
                    field=d.location.field,
                ),
                expected=d.expected,
                value=d.value,
            )
            for d in self.details
        )
