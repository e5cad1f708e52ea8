"""Opening the bundled data files, compressed or not."""

from __future__ import annotations

import gzip
import io
from importlib import resources
from typing import TextIO


def open_bundled(name: str) -> TextIO:
    """Open a bundled file by name as UTF-8 text (``.gz`` files are decompressed)."""
    path = resources.files("doseflow.data").joinpath("files", name)
    raw = path.open("rb")
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", newline="")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def bundled_name(name: str) -> str:
    """A readable name for a bundled file, used in error messages."""
    return f"<doseflow bundled data>/{name}"
