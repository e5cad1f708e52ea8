"""The bundled COVAX 2021 example scenario, as a JSON document for the API."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import yaml

NAME = "covax-2021"


def scenario_document() -> dict[str, Any]:
    text = (resources.files("doseflow.data.examples") / "covax_2021.yaml").read_text()
    document: dict[str, Any] = json.loads(json.dumps(yaml.safe_load(text), default=str))
    return document
