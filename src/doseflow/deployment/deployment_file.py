"""The deployment file: YAML naming the country, stock, regions and priority groups.

``regions:``, ``stock:`` and ``groups:`` are either lists written in the YAML or, in a file
the user named (:func:`load_deployment`, the command line), the name of a CSV file
(relative to the YAML) with one row per item and the same fields as columns
(``cold_chain_litres`` becomes one column per band: ``litres_2_8``, ``litres_frozen``,
``litres_ultra_cold``, ``litres_ambient``; lists such as ``regions`` of a group are written
``A|B|C``). A document parsed from text or data (:func:`parse_deployment_yaml` without
``csv_dir``, :func:`parse_deployment_document`: what the service does with a request) has
no file access at all: a file name there is refused (``DEPLOY_FILE_REFERENCE``) without
looking at the file system, so a request can neither read a server file nor learn whether
one exists. Every record is validated with pydantic, every problem in the file is reported
at once with its file, line and field (codes ``DEPLOY_...``), and nothing is returned
unless the whole file is good. See ``docs/deployment.md`` for the format.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doseflow.data.fields import (
    BoundedDate,
    Code,
    Label,
    Litres,
    LotNumber,
    Name,
    Number,
    Quantity,
    text_cells,
)
from doseflow.data.user_files import LineMap, UserFiles, line_for, readable_csv
from doseflow.deployment.groups import GroupSpec, size_group
from doseflow.deployment.model import (
    DeploymentInput,
    GroupKind,
    ProductPolicy,
    Region,
    StockLot,
    Strategy,
)
from doseflow.deployment.products import product_policy
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_NAME_LENGTH
from doseflow.domain.product import Product
from doseflow.domain.temperature import TemperatureBand

M = TypeVar("M", bound=BaseModel)
FILES = UserFiles("DEPLOY")

_BAND_COLUMNS: dict[str, TemperatureBand] = {
    "litres_ultra_cold": TemperatureBand.ULTRA_COLD,
    "litres_frozen": TemperatureBand.FROZEN,
    "litres_2_8": TemperatureBand.CHILLED,
    "litres_ambient": TemperatureBand.AMBIENT,
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductRecord(_Record):
    """A product: its code, plus its full definition unless the caller already knows it."""

    code: Code
    name: Name | None = None
    manufacturer: Label = ""
    doses_per_course: Quantity | None = Field(default=None, ge=1, le=4)
    doses_per_vial: Quantity | None = Field(default=None, ge=1)
    pack_doses: Quantity | None = Field(default=None, ge=1)
    shelf_life_days: Quantity = Field(default=180, ge=1)
    storage_band: TemperatureBand | None = None
    interval_days: Quantity | None = Field(default=None, ge=1)
    reserve_later_doses: bool | None = None
    cm3_per_dose: Number | None = Field(default=None, gt=0)
    store_band: TemperatureBand | None = None
    days_in_store_band: Quantity | None = Field(default=None, ge=1)


class StockRecord(_Record):
    product: Code
    lot: LotNumber
    doses: Quantity = Field(ge=0)
    expiry: BoundedDate | None = None


class RegionRecord(_Record):
    code: Code
    name: Label = ""
    population: Quantity = Field(gt=0)
    doses_per_day: Quantity = Field(ge=0)
    lead_days: Quantity = Field(default=0, ge=0)
    cold_chain_litres: dict[TemperatureBand, Litres] = Field(default_factory=dict)
    node: Code | None = None


class GroupRecord(_Record):
    name: Name
    kind: GroupKind = GroupKind.CUSTOM
    coverage: Number = Field(ge=0, le=1)
    priority: Quantity = Field(default=1, ge=1)
    weight: Number = Field(default=1.0, ge=0)
    count: Quantity | None = Field(default=None, ge=0)
    share: Number | None = Field(default=None, ge=0, le=1)
    per_region: dict[Code, Quantity] | None = None
    min_age: Quantity | None = Field(default=None, ge=0, le=100)
    max_age: Quantity | None = Field(default=None, ge=5, le=105)
    regions: list[Code] | None = None


class DeploymentRecord(_Record):
    country: str = Field(pattern=r"^[A-Z]{3}$")
    start: BoundedDate
    horizon_days: Quantity = Field(default=90, ge=1, le=3650)
    strategy: Strategy = Strategy.PRIORITY
    reserve_later_doses: bool = True
    origin: Code = "national-store"
    products: list[ProductRecord] = Field(min_length=1)
    stock: list[dict[str, Any]] | str
    regions: list[dict[str, Any]] | str
    groups: list[dict[str, Any]] | str


def load_deployment(
    path: str | os.PathLike[str], products: Mapping[str, Product] | None = None
) -> DeploymentInput:
    """Read a deployment file the user named; its ``stock:``, ``regions:`` and ``groups:``
    may name CSV files beside it. ``products`` supplies definitions a file may refer to by
    code (e.g. the products of an allocation round)."""
    source = str(path)
    text = FILES.read_text(source)
    return parse_deployment_yaml(text, source, products, csv_dir=Path(source).parent)


def _csv_rows(path: Path, source: str) -> list[tuple[int, dict[str, Any]]]:
    text = FILES.read_text(str(path), source=source)
    reader = csv.DictReader(io.StringIO(text))
    with readable_csv("DEPLOY_BAD_FORMAT", str(path), lambda: reader.line_num):
        raw_rows = [(reader.line_num, row) for row in reader]
    if not reader.fieldnames:
        raise DoseflowError(
            "DEPLOY_BAD_CSV_HEADER",
            "the CSV file has no header",
            source=str(path),
            line=1,
            expected="a header row naming the columns",
        )
    rows = []
    for line, row in raw_rows:
        cells = {k.strip(): v.strip() for k, v in row.items() if k and v is not None}
        rows.append((line, {k: v for k, v in cells.items() if v != ""}))
    return rows


def _csv_record(kind: str, cells: dict[str, Any]) -> dict[str, Any]:
    out = dict(cells)
    if kind == "regions":
        litres = {}
        for column, band in _BAND_COLUMNS.items():
            if column in out:
                litres[band.value] = out.pop(column)
        if litres:
            out["cold_chain_litres"] = litres
    if kind == "groups" and isinstance(out.get("regions"), str):
        out["regions"] = [p.strip() for p in out["regions"].split("|") if p.strip()]
    return out


def _items(
    raw: list[dict[str, Any]] | str,
    kind: str,
    model: type[M],
    source: str,
    csv_dir: Path | None,
    lines: LineMap,
    problems: list[ErrorDetail],
) -> list[tuple[str, int | None, M]]:
    """Validated records of ``kind`` with (source, line) of each."""
    if isinstance(raw, str) and csv_dir is None:
        # not read from a file the user named: never touch the file system (not even to
        # see whether the file exists), so the answer is the same for any name
        problems.append(
            ErrorDetail(
                "DEPLOY_FILE_REFERENCE",
                f"'{kind}' names a file, but this document was not read from a file: "
                f"list the {kind} in the document itself",
                ErrorLocation(source=source, line=line_for(lines, (kind,)), field=kind),
                expected=f"a list of {kind} records",
                value=raw[:MAX_NAME_LENGTH],
            )
        )
        return []
    if isinstance(raw, str):
        assert csv_dir is not None
        path = csv_dir / raw
        entries: list[tuple[str, int | None, dict[str, Any]]] = [
            (str(path), ln, _csv_record(kind, c)) for ln, c in _csv_rows(path, source)
        ]
    else:
        entries = [(source, line_for(lines, (kind, i)), item) for i, item in enumerate(raw)]
    out: list[tuple[str, int | None, M]] = []
    for i, (src, line, item) in enumerate(entries):
        try:
            # CSV cells are text: numbers written in them are numbers (data.fields)
            context = text_cells() if src != source else None
            out.append((src, line, model.model_validate(item, context=context)))
        except ValidationError as err:
            problems.extend(
                FILES.validation_details(
                    err,
                    model=model,
                    source=src,
                    what=f"{kind} entry {i + 1}",
                    within=(kind, i),
                    lines=lines if src == source else None,
                    line=line,
                )
            )
    return out


def parse_deployment_yaml(
    text: str,
    source: str,
    products: Mapping[str, Product] | None = None,
    *,
    csv_dir: str | os.PathLike[str] | None = None,
) -> DeploymentInput:
    """A :class:`DeploymentInput` from the text of a deployment file (see module docs).

    CSV files named in it are read from ``csv_dir`` only when a caller that reads the user's
    own files (the command line) gives one; without it, naming a file is an error.
    """
    data, lines = FILES.yaml_with_lines(text, source)
    return _deployment_from_data(
        data, lines, source, products, None if csv_dir is None else Path(csv_dir)
    )


def parse_deployment_document(
    document: Mapping[str, Any],
    source: str,
    products: Mapping[str, Product] | None = None,
) -> DeploymentInput:
    """A :class:`DeploymentInput` from a document already parsed (a JSON request body),
    checked by the same rules as a file's text; it may not name files."""
    data, lines = FILES.document_with_lines(document, source)
    return _deployment_from_data(data, lines, source, products, None)


def _deployment_from_data(
    data: Any,
    lines: LineMap,
    source: str,
    products: Mapping[str, Product] | None,
    csv_dir: Path | None,
) -> DeploymentInput:
    if not isinstance(data, dict):
        raise DoseflowError(
            "DEPLOY_BAD_FIELD",
            "a deployment file is a mapping of fields",
            source=source,
            line=1,
            expected="country:, start:, products:, stock:, regions:, groups:",
        )
    try:
        top = DeploymentRecord.model_validate(data)
    except ValidationError as err:
        raise DoseflowError.from_details(
            FILES.validation_details(
                err, model=DeploymentRecord, source=source, what="deployment", lines=lines
            )
        ) from None
    problems: list[ErrorDetail] = []
    stock = _items(top.stock, "stock", StockRecord, source, csv_dir, lines, problems)
    regions = _items(top.regions, "regions", RegionRecord, source, csv_dir, lines, problems)
    groups = _items(top.groups, "groups", GroupRecord, source, csv_dir, lines, problems)
    known = dict(products or {})
    policies: list[ProductPolicy] = []
    for i, prec in enumerate(top.products):
        where = ErrorLocation(source=source, line=line_for(lines, ("products", i)), field="code")
        try:
            policies.append(_policy(prec, known, top.reserve_later_doses))
        except DoseflowError as err:
            problems.extend(
                ErrorDetail(
                    d.code,
                    d.message,
                    ErrorLocation(source=source, line=where.line, field=d.location.field or "code"),
                    d.expected,
                    d.value,
                )
                for d in err.details
            )
    codes = {p.product.code for p in policies}
    seen: dict[tuple[str, ...], int | None] = {}
    keyed: list[tuple[str, str, int | None, tuple[str, ...]]] = [
        *(("stock", src, ln, (r.product, r.lot)) for src, ln, r in stock),
        *(("regions", src, ln, (r.code,)) for src, ln, r in regions),
        *(("groups", src, ln, (r.name,)) for src, ln, r in groups),
    ]
    for kind, src, line, key in keyed:
        k = (kind, *key)
        if k in seen:
            problems.append(
                ErrorDetail(
                    "DEPLOY_DUPLICATE",
                    f"{kind} entry '{'/'.join(key)}' is given twice (first at line {seen[k]})",
                    ErrorLocation(source=src, line=line, field=kind),
                    expected="each region, group and lot once",
                    value="/".join(key),
                )
            )
        seen[k] = line
    for src, line, rec in stock:
        if rec.product not in codes:
            problems.append(
                ErrorDetail(
                    "DEPLOY_UNKNOWN_PRODUCT",
                    f"stock lot {rec.lot} is of product '{rec.product}', not listed under products",
                    ErrorLocation(source=src, line=line, field="product"),
                    expected="one of " + ", ".join(sorted(codes)),
                    value=rec.product,
                )
            )
    if problems:
        raise DoseflowError.from_details(sorted(problems, key=lambda d: d.location.line or 0))
    region_objs = tuple(
        Region(
            code=r.code,
            name=r.name or r.code,
            population=r.population,
            doses_per_day=r.doses_per_day,
            capacity_litres=MappingProxyType(dict(r.cold_chain_litres)),
            lead_days=r.lead_days,
            node=r.node,
        )
        for _, _, r in regions
    )
    group_objs = []
    for src, line, g in groups:
        spec = GroupSpec(
            name=g.name,
            kind=g.kind,
            coverage=g.coverage,
            priority=g.priority,
            weight=g.weight,
            count=g.count,
            share=g.share,
            per_region=g.per_region,
            min_age=g.min_age
            if g.min_age is not None
            else (60 if g.kind is GroupKind.OLDER_PEOPLE and g.max_age is None else None),
            max_age=g.max_age,
            regions=None if g.regions is None else tuple(g.regions),
        )
        try:
            group_objs.append(size_group(spec, region_objs, top.country))
        except DoseflowError as err:
            problems.extend(
                ErrorDetail(
                    d.code,
                    f"group '{g.name}': {d.message}",
                    ErrorLocation(source=src, line=line, field=d.location.field),
                    d.expected,
                    d.value,
                )
                for d in err.details
            )
    if problems:
        raise DoseflowError.from_details(problems)
    return DeploymentInput(
        country=top.country,
        start=top.start,
        horizon_days=top.horizon_days,
        strategy=top.strategy,
        regions=region_objs,
        groups=tuple(group_objs),
        products=tuple(policies),
        stock=tuple(
            StockLot(product=s.product, lot=s.lot, doses=s.doses, expiry=s.expiry)
            for _, _, s in stock
        ),
        origin=top.origin,
        source=source,
    )


def _policy(rec: ProductRecord, known: Mapping[str, Product], reserve: bool) -> ProductPolicy:
    product = known.get(rec.code)
    if product is None:
        missing = [
            name
            for name in ("doses_per_course", "doses_per_vial", "pack_doses", "storage_band")
            if getattr(rec, name) is None
        ]
        if missing:
            raise DoseflowError(
                "DEPLOY_UNKNOWN_PRODUCT",
                f"product '{rec.code}' is not defined: give {', '.join(missing)} (or plan from "
                "an allocation round that has it)",
                field=missing[0],
                expected="a full product definition",
                value=rec.code,
            )
        assert rec.doses_per_course is not None
        assert rec.doses_per_vial is not None
        assert rec.pack_doses is not None
        assert rec.storage_band is not None
        product = Product(
            code=rec.code,
            name=rec.name or rec.code,
            manufacturer=rec.manufacturer,
            doses_per_course=rec.doses_per_course,
            storage_band=rec.storage_band,
            shelf_life_days=rec.shelf_life_days,
            doses_per_vial=rec.doses_per_vial,
            pack_doses=rec.pack_doses,
        )
    return product_policy(
        product,
        reserve_later_doses=reserve if rec.reserve_later_doses is None else rec.reserve_later_doses,
        interval_days=rec.interval_days,
        cm3_per_dose=rec.cm3_per_dose,
        store_band=rec.store_band,
        days_in_store_band=rec.days_in_store_band,
    )
