"""The schema file: report types, categories and data elements a user adds to the built-in
schema (:data:`doseflow.reporting.schema.DEFAULT_SCHEMA`).

Example (``data/examples/reporting_schema.yaml``)::

    report_types:
      - {code: aefi, name: Adverse events following immunisation, period_types: [monthly]}
    categories:
      - code: severity
        name: Severity
        options: [{code: serious, name: Serious}, {code: non_serious, name: Non-serious}]
    data_elements:
      - {code: aefi_reports, name: AEFI reports, report: aefi, categories: [severity]}

An element whose code is already built in replaces the built-in one (to set a maximum, say).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from doseflow.data.fields import Code, FreeText, Name, Number
from doseflow.domain.errors import DoseflowError, ErrorDetail
from doseflow.domain.limits import MAX_CODE_LENGTH
from doseflow.reporting.periods import PeriodType
from doseflow.reporting.schema import (
    DEFAULT_SCHEMA,
    Category,
    CategoryOption,
    DataElement,
    ReportType,
    Role,
    Schema,
    ValueType,
    build_schema,
)
from doseflow.reporting.yaml_source import YamlDocument

CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ReportTypeModel(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=MAX_CODE_LENGTH)
    name: Name
    period_types: list[PeriodType] = Field(min_length=1)
    description: FreeText = ""


class _OptionModel(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=MAX_CODE_LENGTH)
    name: Name


class _CategoryModel(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=MAX_CODE_LENGTH)
    name: Name
    options: list[_OptionModel] = Field(min_length=1)


class _ElementModel(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=MAX_CODE_LENGTH)
    name: Name
    report: Code
    value_type: ValueType = ValueType.INTEGER
    categories: list[Code] = []
    minimum: Number | None = 0.0
    maximum: Number | None = None
    role: Role | None = None
    description: FreeText = ""


class _SchemaFileModel(_Strict):
    report_types: list[_ReportTypeModel] = []
    categories: list[_CategoryModel] = []
    data_elements: list[_ElementModel] = []


def load_schema(path: Path | str | None, base: Schema = DEFAULT_SCHEMA) -> Schema:
    """``base`` extended with the schema file at ``path`` (``base`` itself when None)."""
    if path is None:
        return base
    doc = YamlDocument.read(path, "REPORT_SCHEMA_INVALID")
    return extend_schema(doc, base)


def extend_schema(doc: YamlDocument, base: Schema = DEFAULT_SCHEMA) -> Schema:
    model = doc.validate(_SchemaFileModel)
    problems: list[ErrorDetail] = []

    def duplicates(kind: str, codes: list[str]) -> None:
        seen: set[str] = set()
        for i, code in enumerate(codes):
            if code in seen:
                problems.append(
                    doc.detail(
                        (kind, i, "code"),
                        f"'{code}' is defined twice in this file",
                        code="REPORT_SCHEMA_DUPLICATE",
                        expected="each code once per file",
                        value=code,
                    )
                )
            seen.add(code)

    duplicates("report_types", [r.code for r in model.report_types])
    duplicates("categories", [c.code for c in model.categories])
    duplicates("data_elements", [e.code for e in model.data_elements])

    report_types = dict(base.report_types)
    for r in model.report_types:
        report_types[r.code] = ReportType(r.code, r.name, tuple(r.period_types), r.description)
    categories = dict(base.categories)
    for i, c in enumerate(model.categories):
        option_codes = [o.code for o in c.options]
        if len(set(option_codes)) != len(option_codes):
            problems.append(
                doc.detail(
                    ("categories", i, "options"),
                    f"category '{c.code}' lists an option twice",
                    code="REPORT_SCHEMA_DUPLICATE",
                    expected="distinct option codes",
                    value=option_codes,
                )
            )
        categories[c.code] = Category(
            c.code, c.name, tuple(CategoryOption(o.code, o.name) for o in c.options)
        )
    elements = dict(base.elements)
    for i, e in enumerate(model.data_elements):
        if e.report not in report_types:
            problems.append(
                doc.detail(
                    ("data_elements", i, "report"),
                    f"data element '{e.code}' names report type '{e.report}', which is not defined",
                    code="REPORT_SCHEMA_UNKNOWN_REFERENCE",
                    expected="one of " + ", ".join(sorted(report_types)),
                    value=e.report,
                )
            )
        for j, cat in enumerate(e.categories):
            if cat not in categories:
                problems.append(
                    doc.detail(
                        ("data_elements", i, "categories", j),
                        f"data element '{e.code}' names category '{cat}', which is not defined",
                        code="REPORT_SCHEMA_UNKNOWN_REFERENCE",
                        expected="one of " + ", ".join(sorted(categories)),
                        value=cat,
                    )
                )
        if e.minimum is not None and e.maximum is not None and e.minimum > e.maximum:
            problems.append(
                doc.detail(
                    ("data_elements", i, "maximum"),
                    f"data element '{e.code}' has a maximum below its minimum",
                    expected=f"a maximum >= {e.minimum:g}",
                    value=e.maximum,
                )
            )
        elements[e.code] = DataElement(
            code=e.code,
            name=e.name,
            report=e.report,
            value_type=e.value_type,
            categories=tuple(e.categories),
            minimum=e.minimum,
            maximum=e.maximum,
            role=e.role,
            description=e.description,
        )
    if problems:
        raise DoseflowError.from_details(problems)
    return build_schema(report_types.values(), categories.values(), elements.values())
