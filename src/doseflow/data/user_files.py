"""Reading users' files (YAML, CSV) so that every problem names file, line and field.

Each area's file parsers (scenario, network, deployment, report, impact files) bind a
:class:`UserFiles` to their error-code prefix, so codes stay area-specific
(``LOGISTICS_BAD_YAML``, ``DEPLOY_MISSING_FIELD``...) while the reading, the line
bookkeeping and the translation of pydantic errors live here once.

YAML is composed once to learn the line of every key and list item, so a pydantic error at
``("lanes", 3, "trips_per_week")`` is reported at the line the user wrote it on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from doseflow.data.fields import expected_text
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation

#: Path inside a parsed document (mapping keys and list indexes) -> 1-based line number.
LineMap = dict[tuple[str | int, ...], int]

_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


@contextmanager
def readable_csv(code: str, source: str, lines_read: Callable[[], int]) -> Iterator[None]:
    """Turn the csv module's own refusals (a cell longer than its field size limit, 131,072
    characters) into ``code`` located at the line after ``lines_read()`` (a reader's
    ``line_num``, which counts only the lines it finished), instead of a crash."""
    try:
        yield
    except csv.Error as exc:
        raise DoseflowError(
            code,
            f"not readable as CSV: {exc}",
            source=source,
            line=lines_read() + 1,
            expected=f"CSV text whose cells hold at most {csv.field_size_limit():,} characters",
        ) from None


def line_for(lines: Mapping[tuple[str | int, ...], int], path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or of its closest enclosing element."""
    key = tuple(path)
    while True:
        if key in lines:
            return lines[key]
        if not key:
            return None
        key = key[:-1]


def field_path(path: Sequence[str | int]) -> str:
    """``("data_elements", 2, "minimum")`` -> ``data_elements[2].minimum``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def raise_all(details: Iterable[ErrorDetail]) -> None:
    """Raise every collected problem at once, sorted by line; do nothing if there is none."""
    found = sorted(details, key=lambda d: (d.location.line or 0, d.code))
    if found:
        raise DoseflowError.from_details(found)


def expected_for(error: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    """What a user should have written, in words, for one pydantic error."""
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    bounded = expected_text(error)
    if bounded is not None:
        return bounded
    if kind == "missing":
        return "a value"
    if kind == "extra_forbidden":
        if model is None:
            return "only the documented fields"
        names = sorted((f.alias or name) for name, f in model.model_fields.items())
        return "one of the fields " + ", ".join(names)
    if kind == "enum" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "a number >= 0", not ">= 0.0"
        return f"a number {_BOUNDS[kind]} {bound}"
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return "a number"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return "a whole number"
    if kind in {"string_type", "string_too_short"}:
        return "non-empty text"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern', '')}"
    if kind in {"list_type", "too_short"}:
        return "a non-empty list"
    if kind == "dict_type":
        return "a mapping of names to values"
    if kind in {"date_from_datetime_parsing", "date_parsing", "date_type"}:
        return "a date YYYY-MM-DD"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_yaml_with_lines(text: str) -> tuple[Any, LineMap]:
    """The YAML document and the line of every key and list item.

    Raises ``yaml.YAMLError`` as PyYAML does; :meth:`UserFiles.yaml_with_lines` turns it
    into a located :class:`DoseflowError`.
    """
    # one pass of libyaml (when PyYAML has it) gives both the data and the node marks,
    # far faster than composing and loading the text twice in pure Python
    loader = _YAML_LOADER(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    lines: LineMap = {}
    if root is not None:
        _walk(root, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: tuple[str | int, ...], lines: LineMap) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


@dataclass(frozen=True)
class UserFiles:
    """File reading for one area; every error code it raises starts with ``code_prefix``.

    Codes: ``<prefix>_FILE_NOT_FOUND``, ``<prefix>_BAD_FORMAT`` (not UTF-8),
    ``<prefix>_BAD_YAML``, ``<prefix>_MISSING_FIELD``, ``<prefix>_UNKNOWN_FIELD``,
    ``<prefix>_BAD_FIELD``.
    """

    code_prefix: str
    file_kind: str = "YAML or CSV file"

    def code(self, name: str) -> str:
        return f"{self.code_prefix}_{name}"

    def read_text(self, path: str, source: str | None = None) -> str:
        """The file's text (UTF-8, a BOM allowed)."""
        shown = source or path
        try:
            with open(path, encoding="utf-8-sig") as handle:
                return handle.read()
        except OSError as exc:
            raise DoseflowError(
                self.code("FILE_NOT_FOUND"),
                f"cannot open {path}: {exc.strerror or exc}",
                source=shown,
                expected="an existing, readable file",
                value=path,
            ) from exc
        except UnicodeDecodeError as exc:
            raise DoseflowError(
                self.code("BAD_FORMAT"),
                "the file is not UTF-8 text",
                source=shown,
                expected=f"a UTF-8 encoded {self.file_kind}",
            ) from exc

    def yaml_with_lines(self, text: str, source: str) -> tuple[Any, LineMap]:
        """Parse YAML and remember the line of every mapping key and list item."""
        try:
            return parse_yaml_with_lines(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise DoseflowError(
                self.code("BAD_YAML"),
                f"not valid YAML: {exc.problem or exc}",
                source=source,
                line=None if mark is None else mark.line + 1,
                column=None if mark is None else mark.column + 1,
                expected="well-formed YAML",
            ) from exc
        except yaml.YAMLError as exc:
            raise DoseflowError(
                self.code("BAD_YAML"), f"not valid YAML: {exc}", source=source
            ) from exc

    def validation_details(
        self,
        err: ValidationError,
        *,
        model: type[BaseModel] | None,
        source: str,
        what: str,
        within: tuple[str | int, ...] = (),
        lines: Mapping[tuple[str | int, ...], int] | None = None,
        line: int | None = None,
        field_names: Mapping[str, str] | None = None,
    ) -> list[ErrorDetail]:
        """One :class:`ErrorDetail` per pydantic error.

        Located by ``lines`` (a YAML line map; ``within`` is where the record sits in the
        document) or by a fixed ``line`` (a CSV row). ``what`` names the record
        ("node 3", "lane PUN -> DLC"); ``field_names`` maps a model field path to the name
        the user wrote (e.g. a CSV column).
        """
        details: list[ErrorDetail] = []
        for error in err.errors(include_url=False):
            loc = tuple(error["loc"])
            path = ".".join(str(part) for part in loc)
            shown = (field_names or {}).get(path, path) or None
            kind = str(error["type"])
            if kind == "missing":
                code, message = self.code("MISSING_FIELD"), f"{what}: field '{shown}' is missing"
            elif kind == "extra_forbidden":
                code, message = self.code("UNKNOWN_FIELD"), f"{what}: unknown field '{shown}'"
            else:
                code, message = self.code("BAD_FIELD"), f"{what}: bad value for '{shown}'"
            at = line if lines is None else line_for(lines, (*within, *loc))
            value = None if kind == "missing" else error.get("input")
            if isinstance(value, Mapping):
                value = None
            details.append(
                ErrorDetail(
                    code,
                    message,
                    ErrorLocation(source=source, line=at, field=shown),
                    expected=expected_for(error, model),
                    value=value,
                )
            )
        return details
