"""Shipment requests from a CSV file (or ``PRODUCT=DEST:DOSES`` strings on the command line).

Columns: ``product`` (code, name or alias of a storage profile), ``destination`` (node code),
``doses``, and optionally ``origin`` (node codes separated by ``;``; default: the suppliers
listing the product in the network file), ``ready_day``, ``use_days``, ``doses_per_vial``
(presentation) and ``reference``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doseflow.data.fields import Label, Number, Quantity
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.logistics.csv_rows import csv_records
from doseflow.logistics.file_errors import raise_all, read_text, validation_details
from doseflow.logistics.file_fields import Code
from doseflow.logistics.network_file import NetworkFile
from doseflow.logistics.routing import ShipmentRequest
from doseflow.logistics.storage_profiles import reference_product


class RequestRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: Code
    destination: Code
    doses: Quantity = Field(gt=0)
    # node codes separated by ";", each checked against the network (so each bounded)
    origin: str = ""
    ready_day: Number = Field(default=0.0, ge=0)
    use_days: Number | None = Field(default=None, ge=0)
    doses_per_vial: Quantity | None = Field(default=None, gt=0)
    reference: Label = ""


def _request(
    row: RequestRow, net: NetworkFile, source: str, line: int | None
) -> tuple[ShipmentRequest | None, list[ErrorDetail]]:
    table = net.profile_table()
    profile = table.find(row.product)
    if profile is None:
        return None, [
            ErrorDetail(
                "LOGISTICS_UNKNOWN_PRODUCT",
                f"no storage profile for product '{row.product}'",
                ErrorLocation(source=source, line=line, field="product"),
                expected="one of " + ", ".join(sorted(table.profiles)),
                value=row.product,
            )
        ]
    origins = tuple(o.strip() for o in row.origin.split(";") if o.strip())
    origins = origins or net.origins_for_code(row.product, profile)
    problems = [
        ErrorDetail(
            "LOGISTICS_UNKNOWN_NODE",
            f"request for {profile.short} names node '{code}', which is not in the network",
            ErrorLocation(source=source, line=line, field=fld),
            expected="a node code defined in the network file",
            value=code,
        )
        for code, fld in ((row.destination, "destination"), *((o, "origin") for o in origins))
        if code not in net.network.nodes
    ]
    if not origins:
        problems.append(
            ErrorDetail(
                "LOGISTICS_BAD_REQUEST",
                f"no origin for {profile.short}: give one, or list the product under a "
                "supplier's 'products' in the network file",
                ErrorLocation(source=source, line=line, field="origin"),
                expected="an origin node code",
                value=row.product,
            )
        )
    if problems:
        return None, problems
    try:
        product = reference_product(profile.product, row.doses_per_vial, table)
    except DoseflowError as err:
        return None, [
            ErrorDetail(
                d.code,
                d.message,
                ErrorLocation(source=source, line=line, field="doses_per_vial"),
                d.expected,
                d.value,
            )
            for d in err.details
        ]
    return (
        ShipmentRequest(
            product=product,
            destination=row.destination,
            doses=row.doses,
            origins=origins,
            ready_day=row.ready_day,
            use_days=row.use_days,
            reference=row.reference or f"{source}:{line}",
        ),
        [],
    )


def load_requests(path: str | os.PathLike[str], net: NetworkFile) -> list[ShipmentRequest]:
    """Shipment requests from a CSV file, checked against the network; all problems at once."""
    name = os.fspath(path)
    text = read_text(name, name)
    problems: list[ErrorDetail] = []
    requests: list[ShipmentRequest] = []
    for line, row in csv_records(text, name, RequestRow, problems, what="request"):
        request, found = _request(row, net, name, line)
        problems += found
        if request is not None:
            requests.append(request)
    raise_all(problems)
    return requests


def requests_from_records(
    records: Sequence[Mapping[str, object]], net: NetworkFile, source: str
) -> list[ShipmentRequest]:
    """Requests given as records with the CSV file's columns (e.g. a JSON body), checked as
    a file's rows are; each problem names ``source`` and the record's number as its line."""
    problems: list[ErrorDetail] = []
    requests: list[ShipmentRequest] = []
    for number, record in enumerate(records, start=1):
        try:
            row = RequestRow.model_validate(record)
        except ValidationError as err:
            problems += validation_details(
                err, model=RequestRow, source=source, what=f"request {number}", line=number
            )
            continue
        request, found = _request(row, net, source, number)
        problems += found
        if request is not None:
            requests.append(request)
    raise_all(problems)
    return requests


_SPEC = re.compile(
    r"^\s*(?P<product>[^=]+?)\s*=\s*(?P<dest>[^:]+?)\s*:\s*(?P<doses>[\d_,]+)\s*"
    r"(?:@\s*(?P<origin>\S+))?\s*$"
)


def parse_request_specs(specs: Sequence[str], net: NetworkFile) -> list[ShipmentRequest]:
    """Requests from ``PRODUCT=DEST:DOSES[@ORIGIN]`` strings (e.g. ``AZ=PRK-NS:480000``)."""
    problems: list[ErrorDetail] = []
    requests: list[ShipmentRequest] = []
    for index, spec in enumerate(specs):
        match = _SPEC.match(spec)
        if match is None:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_BAD_REQUEST",
                    f"shipment request {index + 1} cannot be read",
                    ErrorLocation(source="--ship", field="ship"),
                    expected="PRODUCT=DESTINATION:DOSES or PRODUCT=DESTINATION:DOSES@ORIGIN",
                    value=spec,
                )
            )
            continue
        doses = int(match["doses"].replace("_", "").replace(",", ""))
        if doses <= 0:
            problems.append(
                ErrorDetail(
                    "LOGISTICS_BAD_REQUEST",
                    f"shipment request {index + 1} asks for no doses",
                    ErrorLocation(source="--ship", field="doses"),
                    expected="a positive number of doses",
                    value=spec,
                )
            )
            continue
        row = RequestRow(
            product=match["product"],
            destination=match["dest"],
            doses=doses,
            origin=match["origin"] or "",
            reference=spec,
        )
        request, found = _request(row, net, "--ship", None)
        problems += found
        if request is not None:
            requests.append(request)
    raise_all(problems)
    return requests
