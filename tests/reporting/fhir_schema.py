"""Validation of exported FHIR against the official R4 (4.0.1) JSON schema and R4B models.

The schema is test data (tests/reporting/data/README.md says where it comes from). Each
resource is validated against its own definition, so an error names the element.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from fhir.resources.R4B.bundle import Bundle

SCHEMA = Path(__file__).parent / "data" / "fhir.schema.r4.json.gz"


@cache
def _schema() -> dict[str, Any]:
    with gzip.open(SCHEMA, "rt", encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def validator(resource_type: str) -> jsonschema_rs.Draft6Validator:
    schema = _schema()
    return jsonschema_rs.Draft6Validator(
        {"$ref": f"#/definitions/{resource_type}", "definitions": schema["definitions"]}
    )


def r4_errors(document: dict[str, Any]) -> list[str]:
    """Where ``document`` breaks the R4 schema (empty: it conforms)."""
    found = validator(document["resourceType"]).iter_errors(document)
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message[:300]}" for e in found]


def assert_valid_r4(text: str) -> dict[str, Any]:
    """The Bundle in ``text``, after checking it (and so every entry) against the R4 schema
    and the fhir.resources R4B model; returns it parsed."""
    document: dict[str, Any] = json.loads(text)
    assert document["resourceType"] == "Bundle"
    errors = r4_errors(document)
    assert not errors, errors[:5]
    for entry in document.get("entry", []):
        assert not r4_errors(entry["resource"])
    Bundle.model_validate(document)
    return document
