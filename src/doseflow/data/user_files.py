"""Reading users' files (YAML, CSV) so that every problem names file, line and field.

Each area's file parsers (scenario, network, deployment, report, impact files) bind a
:class:`UserFiles` to their error-code prefix, so codes stay area-specific
(``LOGISTICS_BAD_YAML``, ``DEPLOY_MISSING_FIELD``...) while the reading, the line
bookkeeping and the translation of pydantic errors live here once.

Every YAML or JSON document doseflow reads from a user, from a file or a request, goes
through :func:`parse_yaml_with_lines`, the one parse: it bounds size and depth, refuses
anchors and aliases, unreadable characters and impossible values before building anything,
and learns the line of every key and list item on the way, so a pydantic error at
``("lanes", 3, "trips_per_week")`` is reported at the line the user wrote it on. Nothing
here opens a file except :meth:`UserFiles.read_text`, which only callers reading a path the
user typed (the command line) use.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from doseflow.data.fields import expected_text
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH

ModelT = TypeVar("ModelT", bound=BaseModel)

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


#: pydantic's error types for a value that is not a (possible) date.
DATE_ERRORS = frozenset({"date_from_datetime_parsing", "date_parsing", "date_type"})


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
    if kind in DATE_ERRORS:
        return "a real date YYYY-MM-DD"
    if kind == "date_from_datetime_inexact":
        return "a date YYYY-MM-DD, without a time of day"
    return str(error["msg"]).removeprefix("Value error, ")


class DocumentRefused(yaml.MarkedYAMLError):
    """Well-formed YAML (or JSON) that doseflow still will not read: too large, nested too
    deep, anchors or aliases, a character it cannot read, an impossible value.

    A :class:`yaml.MarkedYAMLError`, so every reader reports it like a syntax error (with its
    area's code, the line and the column); ``expected`` says the rule that was broken.
    """

    def __init__(self, problem: str, mark: Any = None, expected: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.expected = expected


#: The rules, as shown in errors' ``expected``.
NO_ALIASES = "no anchors (&name), aliases (*name) or merge keys (<<): write each value out"
PRINTABLE = "printable UTF-8 text (no NUL, control characters or lone surrogates)"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_NO_KEY = object()
#: NUL, control characters (tab, line feed and carriage return are text), DEL and lone
#: surrogates: what YAML refuses in a document's text, refused in its escapes too.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_document_size(text: str) -> None:
    """Refuse a document over :data:`MAX_DOCUMENT_BYTES` (UTF-8) before reading any of it."""
    if len(text) * 4 <= MAX_DOCUMENT_BYTES:
        return  # no UTF-8 text of this many characters can be too large
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(
            f"the document is {size:,} bytes, more than doseflow reads",
            expected=f"at most {MAX_DOCUMENT_BYTES:,} bytes",
        )


def check_document_depth(document: Any) -> None:
    """Refuse an already parsed document (a JSON body) nested deeper than
    :data:`MAX_DOCUMENT_DEPTH`, without recursion (so a 100,000-deep one is refused too)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > MAX_DOCUMENT_DEPTH:
            raise DocumentRefused(
                f"the document nests lists and mappings more than {MAX_DOCUMENT_DEPTH} deep",
                expected=f"at most {MAX_DOCUMENT_DEPTH} levels of nesting",
            )
        stack.extend((child, depth + 1) for child in children)


def _mark_at(text: str, position: int) -> yaml.Mark:
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return yaml.Mark("<document>", position, line, column, None, 0)


def parse_yaml_with_lines(text: str) -> tuple[Any, LineMap]:
    """The YAML (or JSON) document and the line of every key and list item.

    The one parse of users' documents in doseflow. It reads libyaml's events (when PyYAML
    has libyaml) and builds the data from them directly, so before anything is built it
    refuses (:class:`DocumentRefused`, located) a document over
    :data:`~doseflow.domain.limits.MAX_DOCUMENT_BYTES`, nesting deeper than
    :data:`~doseflow.domain.limits.MAX_DOCUMENT_DEPTH`, any anchor, alias or merge key (so
    a "billion laughs" document cannot expand), tags on lists and mappings, characters YAML
    cannot hold, and values their YAML type cannot have (``2021-02-30``, ``!!int x``). No
    node tree is composed: one pass over the events is four times faster than composing and
    constructing. Other problems raise ``yaml.YAMLError`` as PyYAML does;
    :func:`document_error` turns either into a located :class:`DoseflowError`.
    """
    check_document_size(text)
    loader = None
    try:
        loader = _YAML_LOADER(text)
        return _build(loader)
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" not in str(exc.problem):
            raise
        # libyaml's own bound (1,000 levels of flow style) met while looking ahead
        raise DocumentRefused(
            f"lists and mappings are nested more than {MAX_DOCUMENT_DEPTH} deep",
            exc.problem_mark,
            f"at most {MAX_DOCUMENT_DEPTH} levels of nesting",
        ) from None
    except yaml.reader.ReaderError as exc:
        raise DocumentRefused(
            f"character #x{exc.character:04x} cannot be read: {exc.reason}",
            _mark_at(text, exc.position),
            PRINTABLE,
        ) from None
    except UnicodeEncodeError as exc:  # libyaml reads UTF-8, which has no lone surrogates
        raise DocumentRefused(
            f"character #x{ord(text[exc.start]):04x} is a lone surrogate",
            _mark_at(text, exc.start),
            PRINTABLE,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _build(loader: Any) -> tuple[Any, LineMap]:
    """Data and line map from the loader's events (see :func:`parse_yaml_with_lines`)."""
    constructors = loader.yaml_constructors
    get = loader.get_event
    lines: LineMap = {}
    # open lists and mappings: [container, path, pending key (mappings), is mapping]
    stack: list[list[Any]] = []
    get()  # stream start
    event = get()
    if isinstance(event, yaml.StreamEndEvent):
        return None, lines  # an empty document
    root: Any = None
    while True:
        event = get()
        kind = type(event)
        if kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
            raise DocumentRefused(
                "anchors and aliases are not allowed (&name, *name)",
                event.start_mark,
                NO_ALIASES,
            )
        if kind is yaml.ScalarEvent:
            value = _scalar(loader, constructors, event)
            if not stack:
                root = value
                lines[()] = event.start_mark.line + 1
                break
            top = stack[-1]
            if not top[3]:
                lines[(*top[1], len(top[0]))] = event.start_mark.line + 1
                top[0].append(value)
            elif top[2] is _NO_KEY:
                if loader.resolve(yaml.ScalarNode, event.value, event.implicit) == _MERGE:
                    raise DocumentRefused(
                        "merge keys (<<) are not allowed", event.start_mark, NO_ALIASES
                    )
                top[2] = value
                lines[(*top[1], str(event.value))] = event.start_mark.line + 1
            else:
                top[0][top[2]] = value
                top[2] = _NO_KEY
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            mapping = kind is yaml.MappingStartEvent
            if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
                raise DocumentRefused(
                    f"the tag {event.tag} is not allowed on a list or mapping",
                    event.start_mark,
                    "plain lists and mappings",
                )
            if len(stack) >= MAX_DOCUMENT_DEPTH:
                raise DocumentRefused(
                    f"lists and mappings are nested more than {MAX_DOCUMENT_DEPTH} deep",
                    event.start_mark,
                    f"at most {MAX_DOCUMENT_DEPTH} levels of nesting",
                )
            if not stack:
                path: tuple[str | int, ...] = ()
                lines[path] = event.start_mark.line + 1
            elif not stack[-1][3]:
                path = (*stack[-1][1], len(stack[-1][0]))
                lines[path] = event.start_mark.line + 1
            elif stack[-1][2] is _NO_KEY:
                raise DocumentRefused(
                    "a list or mapping cannot be a mapping key",
                    event.start_mark,
                    "keys that are plain values (text or numbers)",
                )
            else:
                path = (*stack[-1][1], stack[-1][2])  # its line is its key's
            stack.append([{} if mapping else [], path, _NO_KEY, mapping])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            value = stack.pop()[0]
            if not stack:
                root = value
                break
            top = stack[-1]
            if top[3]:
                top[0][top[2]] = value
                top[2] = _NO_KEY
            else:
                top[0].append(value)
        else:  # pragma: no cover - libyaml gives nothing else inside a document
            raise DocumentRefused(f"unexpected {kind.__name__}", event.start_mark)
    get()  # document end
    event = get()
    if not isinstance(event, yaml.StreamEndEvent):
        raise DocumentRefused(
            "expected a single document, but found another",
            event.start_mark,
            "one YAML document (no second ---)",
        )
    return root, lines


def _scalar(loader: Any, constructors: Mapping[Any, Any], event: Any) -> Any:
    if event.style == '"' and (found := _UNPRINTABLE.search(event.value)) is not None:
        # only a double-quoted scalar's escapes (and so every string of a JSON document)
        # can hold what the reader refuses in the text itself
        raise DocumentRefused(
            f"character #x{ord(found.group()):04x} is not allowed in text",
            event.start_mark,
            PRINTABLE,
        )
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    construct = constructors.get(tag, constructors[None])
    try:
        return construct(loader, node)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, LookupError, OverflowError) as exc:
        # 2021-02-30 (datetime: "day is out of range for month"), !!int x, !!bool maybe
        shown = str(exc) if not isinstance(exc, LookupError) else "not a value of that type"
        kind = str(tag).rsplit(":", 1)[-1]
        raise DocumentRefused(
            f"'{event.value}' is not a possible {kind}: {shown}",
            event.start_mark,
            "a real date (YYYY-MM-DD)" if kind == "timestamp" else f"a valid {kind}",
        ) from None


def document_error(
    exc: yaml.YAMLError, code: str, source: str | None, expected: str, kind: str = "YAML"
) -> DoseflowError:
    """The located :class:`DoseflowError` for a document :func:`parse_yaml_with_lines` (or
    :func:`check_document_depth`) refused; one translation for every area's reader."""
    if isinstance(exc, DocumentRefused):
        mark = exc.problem_mark
        return DoseflowError(
            code,
            str(exc.problem),
            source=source,
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
            expected=exc.expected or expected,
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return DoseflowError(
            code,
            f"not valid {kind}: {exc.problem or exc}",
            source=source,
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
            expected=expected,
        )
    return DoseflowError(code, f"not valid {kind}: {exc}", source=source, expected=expected)


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
        except yaml.YAMLError as exc:
            raise document_error(exc, self.code("BAD_YAML"), source, "well-formed YAML") from None

    def document_with_lines(self, document: Mapping[str, Any], source: str) -> tuple[Any, LineMap]:
        """A document sent as JSON (already parsed), checked by the same rules as a file's
        text, and its line map: it is written out one field per line (JSON is YAML) so an
        error's line points into that rendering. No indentation (``indent=0``): the
        rendering is then about as long as the JSON that was sent, which is what the size
        bound should measure."""
        try:
            check_document_depth(document)
        except DocumentRefused as exc:
            raise document_error(exc, self.code("BAD_YAML"), source, "a document") from None
        return self.yaml_with_lines(json.dumps(document, indent=0, default=str), source)

    def model_from_yaml(
        self, text: str, source: str, model: type[ModelT], *, what: str, shape: str, expected: str
    ) -> tuple[ModelT, LineMap]:
        """A YAML document validated as ``model`` in one pass, with its line map: not a
        mapping is ``<prefix>_BAD_YAML`` (``shape`` says what the file is, ``expected`` its
        outline); every pydantic error is reported at once, located (``what`` names the
        document in the messages)."""
        document, lines = self.yaml_with_lines(text, source)
        if not isinstance(document, Mapping):
            raise DoseflowError(
                self.code("BAD_YAML"), shape, source=source, line=1, expected=expected
            )
        try:
            return model.model_validate(document), lines
        except ValidationError as err:
            raise_all(
                self.validation_details(err, model=model, source=source, what=what, lines=lines)
            )
            raise AssertionError("unreachable") from err  # raise_all raised

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
