"""Reading the reporting YAML files (schema, hierarchy, DHIS2 mapping, requirements).

Every file is validated with a pydantic model; each problem becomes an error naming the file,
the line and the field path (``data_elements[2].minimum``), so a user can find it in a long
file. Line numbers come from the YAML node tree, not from guesswork.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from doseflow.data.user_files import (
    document_error,
    expected_for,
    field_path,
    line_for,
    parse_yaml_with_lines,
)
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation

M = TypeVar("M", bound=BaseModel)


class YamlDocument:
    """A parsed YAML file and its node tree, to place errors on lines."""

    def __init__(self, source: str, text: str, code: str) -> None:
        self.source = source
        self.code = code
        try:
            self.data, self.lines = parse_yaml_with_lines(text)
        except yaml.YAMLError as exc:
            raise document_error(exc, code, source, "a YAML document") from None

    @classmethod
    def read(cls, path: Path | str, code: str) -> YamlDocument:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise DoseflowError(
                code,
                f"cannot read the file: {exc.strerror or exc}",
                source=str(p),
                expected="a readable UTF-8 YAML file",
            ) from None
        return cls(str(p), text, code)

    def line(self, path: tuple[int | str, ...]) -> int | None:
        return line_for(self.lines, path)

    def detail(
        self,
        path: tuple[int | str, ...],
        message: str,
        *,
        code: str | None = None,
        expected: str | None = None,
        value: Any = None,
    ) -> ErrorDetail:
        return ErrorDetail(
            code or self.code,
            message,
            ErrorLocation(source=self.source, line=self.line(path), field=field_path(path)),
            expected=expected,
            value=value,
        )

    def validate(self, model: type[M]) -> M:
        """The document as ``model``, or every validation problem at once."""
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as exc:
            details = []
            for err in exc.errors():
                loc = tuple(err["loc"])
                details.append(
                    self.detail(
                        loc,
                        err["msg"],
                        expected=expected_for(err, model),
                        value=err.get("input") if not isinstance(err.get("input"), dict) else None,
                    )
                )
            raise DoseflowError.from_details(details) from None
