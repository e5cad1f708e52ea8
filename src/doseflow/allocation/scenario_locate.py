"""Finding the line of a field in a scenario file, so every error can name it.

A field is named by its path in the document (``["participants", 3, "ceiling"]``). For YAML
the parser's node marks give the line. For TOML, whose standard parser keeps no positions,
:class:`TomlLocator` scans the text once and records the line of every table header
(``[policy]``, ``[[rounds]]``, ``[[rounds.tranches]]``), every key, every element of an
array and every key of an inline table (``participants = [{iso3 = "PRK", ...}]``), on any
number of lines. A path not found exactly is given the line of its nearest recorded parent
(e.g. a missing key: the line of the table that lacks it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

from doseflow.data.user_files import LineMap, line_for

Path = Sequence[int | str]


class Locator(Protocol):
    def line(self, path: Path) -> int | None:
        """The 1-based line of ``path`` (or of its nearest parent); None when unknown."""
        ...

    @property
    def known(self) -> bool:
        """Whether lines can be given at all (False for data that came without text)."""
        ...


class NoLocator:
    """For documents that came without text (e.g. the copy kept in the store)."""

    known = False

    def line(self, path: Path) -> int | None:
        return None


class YamlLocator:
    """Lines from the YAML document's line map (``doseflow.data.user_files``)."""

    def __init__(self, lines: LineMap) -> None:
        self.lines = lines

    @property
    def known(self) -> bool:
        return bool(self.lines)

    def line(self, path: Path) -> int | None:
        return line_for(self.lines, path)


class _Stop(Exception):
    """The scanner met something it does not follow: keep the lines found so far."""


class TomlLocator:
    """Lines of TOML keys, tables and array elements, from one scan of the text.

    Only called on text ``tomllib`` has already accepted, so the scan can be simple; if it
    meets something it does not follow, it keeps what it found (lines stay best effort,
    never an error).
    """

    known = True

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lineno = 1
        self.lines: dict[tuple[int | str, ...], int] = {}
        self._arrays: dict[tuple[int | str, ...], int] = {}  # array-of-tables -> last index
        with contextlib.suppress(_Stop, IndexError):
            self._document()

    def line(self, path: Path) -> int | None:
        key = tuple(path)
        while key:
            found = self.lines.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return 1

    # -- scanning --------------------------------------------------------------------------

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _advance(self, n: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + n]
        self.lineno += chunk.count("\n")
        self.pos += n

    def _skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self._advance()
            elif c == "#":
                end = self.text.find("\n", self.pos)
                self._advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def _record(self, path: tuple[int | str, ...], line: int) -> None:
        self.lines.setdefault(path, line)

    def _key(self) -> list[str]:
        """A bare, quoted or dotted key."""
        parts: list[str] = []
        while True:
            self._skip_blank(False)
            c = self._peek()
            if c in "\"'":
                parts.append(self._string())
            else:
                start = self.pos
                while self._peek() and (self._peek().isalnum() or self._peek() in "_-"):
                    self._advance()
                if start == self.pos:
                    raise _Stop
                parts.append(self.text[start : self.pos])
            self._skip_blank(False)
            if self._peek() != ".":
                return parts
            self._advance()

    def _string(self) -> str:
        quote = self._peek()
        if self.text.startswith(quote * 3, self.pos):
            end = self.text.find(quote * 3, self.pos + 3)
            if end < 0:
                raise _Stop
            while self.text.startswith(quote, end + 3):  # up to two quotes before the end
                end += 1
            value = self.text[self.pos + 3 : end]
            self._advance(end + 3 - self.pos)
            return value
        i = self.pos + 1
        while i < len(self.text) and self.text[i] != quote:
            i += 2 if quote == '"' and self.text[i] == "\\" else 1
        value = self.text[self.pos + 1 : i]
        self._advance(i + 1 - self.pos)
        return value

    def _resolve(self, keys: list[str]) -> tuple[int | str, ...]:
        """A header's dotted key as a path: through arrays of tables, their last element."""
        path: tuple[int | str, ...] = ()
        for k in keys:
            path = (*path, k)
            if path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    def _document(self) -> None:
        table: tuple[int | str, ...] = ()
        while True:
            self._skip_blank(True)
            if self.pos >= len(self.text):
                return
            line = self.lineno
            if self._peek() == "[":
                double = self.text.startswith("[[", self.pos)
                self._advance(2 if double else 1)
                keys = self._key()
                self._advance(2 if double else 1)
                if double:
                    parent = self._resolve(keys[:-1])
                    array = (*parent, keys[-1])
                    index = self._arrays.get(array, -1) + 1
                    self._arrays[array] = index
                    self._record(array, line)
                    table = (*array, index)
                else:
                    table = self._resolve(keys)
                self._record(table, line)
                continue
            self._pair(table)

    def _pair(self, table: tuple[int | str, ...]) -> None:
        line = self.lineno
        keys = self._key()
        path = table
        for k in keys:
            path = (*path, k)
            self._record(path, line)
        self._skip_blank(False)
        if self._peek() != "=":
            raise _Stop
        self._advance()
        self._skip_blank(False)
        self._value(path)

    def _value(self, path: tuple[int | str, ...]) -> None:
        c = self._peek()
        if c == "[":
            self._advance()
            index = 0
            while True:
                self._skip_blank(True)
                if self._peek() == "]":
                    self._advance()
                    return
                self._record((*path, index), self.lineno)
                self._value((*path, index))
                self._skip_blank(True)
                if self._peek() == ",":
                    self._advance()
                    index += 1
        elif c == "{":
            self._advance()
            while True:
                self._skip_blank(False)
                if self._peek() == "}":
                    self._advance()
                    return
                self._pair(path)
                self._skip_blank(False)
                if self._peek() == ",":
                    self._advance()
        elif c in "\"'":
            self._string()
        else:
            start = self.pos
            while self._peek() and self._peek() not in ",]}\n#":
                self._advance()
            if start == self.pos:
                raise _Stop
