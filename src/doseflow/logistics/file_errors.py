"""Logistics files' errors: the shared user-file reader bound to the ``LOGISTICS_`` codes."""

from __future__ import annotations

from doseflow.data.user_files import LineMap, UserFiles, line_for, raise_all

FILES = UserFiles("LOGISTICS")
read_text = FILES.read_text
yaml_with_lines = FILES.yaml_with_lines
validation_details = FILES.validation_details

__all__ = [
    "FILES",
    "LineMap",
    "line_for",
    "raise_all",
    "read_text",
    "validation_details",
    "yaml_with_lines",
]
