"""Reading storage profiles from CSV (one row per presentation) or YAML (one entry per product).

CSV columns (the bundled table uses the same; only product, long_term, doses_per_vial and
the two volumes are required)::

    product,label,name,aliases,long_term,days_ultra_cold,days_frozen,days_2_8,days_ambient,
    doses_per_course,shelf_life_days,doses_per_vial,presentation,pack_doses,
    storage_cm3_per_dose,transport_cm3_per_dose,indicative,source

YAML (a ``storage_profiles:`` list in a network file, or a list on its own)::

    - product: MYVAX
      name: My vaccine
      long_term: 2-8
      allowed_days: {ambient: 0.5}
      presentations:
        - {doses_per_vial: 10, storage_cm3_per_dose: 2.5, transport_cm3_per_dose: 7.5}
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from doseflow.data.fields import FreeText, Label, Number, Quantity
from doseflow.domain.errors import ErrorDetail, ErrorLocation
from doseflow.domain.temperature import TemperatureBand
from doseflow.logistics.file_errors import (
    LineMap,
    raise_all,
    read_text,
    validation_details,
    yaml_with_lines,
)
from doseflow.logistics.file_fields import Band, Code
from doseflow.logistics.storage_profiles import PackedVolume, StorageProfile

_DAY_COLUMNS: dict[str, TemperatureBand] = {
    "days_ultra_cold": TemperatureBand.ULTRA_COLD,
    "days_frozen": TemperatureBand.FROZEN,
    "days_2_8": TemperatureBand.CHILLED,
    "days_ambient": TemperatureBand.AMBIENT,
}


class PresentationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doses_per_vial: Quantity = Field(gt=0)
    presentation: Label = ""
    pack_doses: Quantity | None = Field(default=None, gt=0)
    storage_cm3_per_dose: Number = Field(gt=0)
    transport_cm3_per_dose: Number = Field(gt=0)
    indicative: bool = True
    source: FreeText = ""


class ProfileRecord(BaseModel):
    """One product's profile as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    product: Code
    label: Label = ""
    name: Label = ""
    aliases: list[Label] = Field(default_factory=list)
    long_term: Band
    allowed_days: dict[Band, Number] = Field(default_factory=dict)
    doses_per_course: Quantity | None = Field(default=None, gt=0)
    shelf_life_days: Quantity | None = Field(default=None, gt=0)
    presentations: list[PresentationRecord] = Field(default_factory=list)
    source: FreeText = ""

    @field_validator("allowed_days")
    @classmethod
    def _days_not_negative(
        cls, value: dict[TemperatureBand, float]
    ) -> dict[TemperatureBand, float]:
        for band, days in value.items():
            if days < 0:
                raise ValueError(f"days allowed at {band.value} must be >= 0, got {days}")
        return value


class ProfileRow(BaseModel):
    """One presentation of a product, as a CSV row."""

    model_config = ConfigDict(extra="forbid")

    product: Code
    label: Label = ""
    name: Label = ""
    aliases: FreeText = ""
    long_term: Band
    days_ultra_cold: Number | None = Field(default=None, ge=0)
    days_frozen: Number | None = Field(default=None, ge=0)
    days_2_8: Number | None = Field(default=None, ge=0)
    days_ambient: Number | None = Field(default=None, ge=0)
    doses_per_course: Quantity | None = Field(default=None, gt=0)
    shelf_life_days: Quantity | None = Field(default=None, gt=0)
    doses_per_vial: Quantity = Field(gt=0)
    presentation: Label = ""
    pack_doses: Quantity | None = Field(default=None, gt=0)
    storage_cm3_per_dose: Number = Field(gt=0)
    transport_cm3_per_dose: Number = Field(gt=0)
    indicative: bool = True
    source: FreeText = ""


def _profile(
    record: ProfileRecord, *, user: bool, source: str, line: int | None
) -> tuple[StorageProfile, list[ErrorDetail]]:
    problems: list[ErrorDetail] = []
    if record.long_term in record.allowed_days:
        problems.append(
            ErrorDetail(
                "LOGISTICS_BAD_PROFILE",
                f"profile {record.product}: the long-term band {record.long_term.value} "
                "cannot also have a time limit",
                ErrorLocation(source=source, line=line, field="allowed_days"),
                expected="time limits only for bands other than the long-term one",
                value=record.long_term.value,
            )
        )
    seen: set[int] = set()
    for p in record.presentations:
        if p.doses_per_vial in seen:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_BAD_PROFILE",
                    f"profile {record.product}: two presentations with "
                    f"{p.doses_per_vial} doses per vial",
                    ErrorLocation(source=source, line=line, field="doses_per_vial"),
                    expected="one packed volume per presentation",
                    value=p.doses_per_vial,
                )
            )
        seen.add(p.doses_per_vial)
    profile = StorageProfile(
        product=record.product,
        name=record.name or record.product,
        long_term=record.long_term,
        allowed_days=MappingProxyType(dict(record.allowed_days)),
        volumes=tuple(
            PackedVolume(
                doses_per_vial=p.doses_per_vial,
                presentation=p.presentation or f"{p.doses_per_vial}-dose vial",
                storage_cm3=p.storage_cm3_per_dose,
                transport_cm3=p.transport_cm3_per_dose,
                indicative=p.indicative,
                source=p.source or record.source,
                pack_doses=p.pack_doses,
            )
            for p in record.presentations
        ),
        aliases=frozenset(a.strip() for a in record.aliases if a.strip()),
        source=record.source,
        user_supplied=user,
        label=record.label,
        doses_per_course=record.doses_per_course,
        shelf_life_days=record.shelf_life_days,
    )
    return profile, problems


def parse_profile_records(
    items: Any,
    source: str,
    *,
    lines: LineMap | None = None,
    prefix: tuple[str | int, ...] = (),
    user: bool = True,
) -> list[StorageProfile]:
    """Profiles from a YAML list (already parsed); every bad entry is reported together."""
    from doseflow.logistics.file_errors import line_for

    lines = lines or {}
    if not isinstance(items, list):
        raise_all(
            [
                ErrorDetail(
                    "LOGISTICS_BAD_FORMAT",
                    "storage profiles must be a list of products",
                    ErrorLocation(
                        source=source, line=line_for(lines, prefix), field="storage_profiles"
                    ),
                    expected="a YAML list",
                    value=type(items).__name__,
                )
            ]
        )
    problems: list[ErrorDetail] = []
    profiles: list[StorageProfile] = []
    seen: dict[str, int | None] = {}
    for index, item in enumerate(items):
        at = (*prefix, index)
        line = line_for(lines, at)
        try:
            record = ProfileRecord.model_validate(item)
        except ValidationError as err:
            problems += validation_details(
                err,
                model=ProfileRecord,
                source=source,
                what=f"storage profile {index + 1}",
                within=at,
                lines=lines,
            )
            continue
        if record.product in seen:
            problems.append(_duplicate(record.product, source, line, seen[record.product]))
            continue
        seen[record.product] = line
        profile, found = _profile(record, user=user, source=source, line=line)
        problems += found
        profiles.append(profile)
    raise_all(problems)
    return profiles


def _duplicate(code: str, source: str, line: int | None, first: int | None) -> ErrorDetail:
    where = f" (first at line {first})" if first is not None else ""
    return ErrorDetail(
        "LOGISTICS_DUPLICATE_PROFILE",
        f"storage profile for product '{code}' is given twice{where}",
        ErrorLocation(source=source, line=line, field="product"),
        expected="one profile per product code",
        value=code,
    )


def parse_profile_csv(text: str, source: str, *, user: bool = False) -> list[StorageProfile]:
    """Profiles from CSV text, one row per presentation; rows of one product are grouped."""
    from doseflow.logistics.csv_rows import csv_records

    problems: list[ErrorDetail] = []
    grouped: dict[str, list[tuple[int, ProfileRow]]] = {}
    for line, row in csv_records(text, source, ProfileRow, problems):
        grouped.setdefault(row.product, []).append((line, row))
    profiles: list[StorageProfile] = []
    for code, rows in grouped.items():
        first_line, first = rows[0]
        for line, row in rows[1:]:
            for name in ("long_term", "doses_per_course", "shelf_life_days", *_DAY_COLUMNS):
                if getattr(row, name) != getattr(first, name):
                    problems.append(
                        ErrorDetail(
                            "LOGISTICS_BAD_PROFILE",
                            f"product {code}: '{name}' differs from line {first_line}",
                            ErrorLocation(source=source, line=line, field=name),
                            expected=f"the same {name} on every row of one product",
                            value=getattr(row, name),
                        )
                    )
        record = ProfileRecord(
            product=code,
            label=first.label,
            name=first.name,
            aliases=[a for a in first.aliases.split(";") if a.strip()],
            long_term=first.long_term,
            allowed_days={
                band: getattr(first, column)
                for column, band in _DAY_COLUMNS.items()
                if getattr(first, column) is not None
            },
            presentations=[
                PresentationRecord(
                    doses_per_vial=row.doses_per_vial,
                    presentation=row.presentation,
                    pack_doses=row.pack_doses,
                    storage_cm3_per_dose=row.storage_cm3_per_dose,
                    transport_cm3_per_dose=row.transport_cm3_per_dose,
                    indicative=row.indicative,
                    source=row.source,
                )
                for _, row in rows
            ],
            source=first.source,
            doses_per_course=first.doses_per_course,
            shelf_life_days=first.shelf_life_days,
        )
        profile, found = _profile(record, user=user, source=source, line=first_line)
        problems += found
        profiles.append(profile)
    raise_all(problems)
    return profiles


def load_profiles(path: str | os.PathLike[str]) -> list[StorageProfile]:
    """User storage profiles from a ``.csv`` or ``.yaml``/``.yml`` file."""
    name = os.fspath(path)
    text = read_text(name, name)
    if name.lower().endswith(".csv"):
        return parse_profile_csv(text, name, user=True)
    data, lines = yaml_with_lines(text, name)
    if isinstance(data, Mapping) and "storage_profiles" in data:
        return parse_profile_records(
            data["storage_profiles"], name, lines=lines, prefix=("storage_profiles",)
        )
    return parse_profile_records(data, name, lines=lines)


def profile_columns() -> Sequence[str]:
    """The CSV header of a profile file, in order."""
    return tuple(ProfileRow.model_fields)
