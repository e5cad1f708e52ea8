"""The stored reporting hierarchy: load a hierarchy file once (``doseflow report hierarchy
load FILE``) instead of passing ``--hierarchy`` on every command.

The file's text is kept as it was given and read again through the one reader of hierarchy
files (``doseflow.reporting.hierarchy_file``), so a stored hierarchy means exactly what the
file means, with the same checks. Every load adds a row; the latest is in force, the earlier
ones record what was in force when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine

from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.hierarchy_file import hierarchy_from_text
from doseflow.store import reporting_tables as t
from doseflow.store.stored_documents import append_document, latest_document, read_document_file


@dataclass(frozen=True)
class StoredHierarchy:
    """The hierarchy in force and where it came from."""

    id: int
    source: str
    sha256: str
    loaded_by: str | None
    loaded_at: datetime
    hierarchy: Hierarchy


def load_hierarchy_file(engine: Engine, path: Path | str, by: str | None = None) -> StoredHierarchy:
    """Check the hierarchy file at ``path`` and store it as the hierarchy in force. Nothing
    is stored when the file is unreadable or invalid (``REPORT_HIERARCHY_INVALID``)."""
    text, source = read_document_file(path, "REPORT_HIERARCHY_INVALID")
    return save_hierarchy(engine, text, source, by)


def save_hierarchy(
    engine: Engine, text: str, source: str, by: str | None = None
) -> StoredHierarchy:
    """Store a hierarchy file's ``text`` (checked first) as the hierarchy in force."""
    hierarchy = hierarchy_from_text(text, source)  # checked before anything is stored
    row = append_document(engine, t.hierarchies, text, source, by)
    return StoredHierarchy(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, hierarchy)


@lru_cache(maxsize=8)
def _parsed(document: str, source: str) -> Hierarchy:
    """The stored text read once per process: every request asks for the hierarchy in force,
    and it changes only when a new one is loaded (a new row, so a new key here)."""
    return hierarchy_from_text(document, source)


def stored_hierarchy(engine: Engine) -> StoredHierarchy | None:
    """The hierarchy in force (the latest loaded), or ``None`` when none was loaded."""
    row = latest_document(engine, t.hierarchies)
    if row is None:
        return None
    hierarchy = _parsed(row.document, f"stored hierarchy #{row.id} ({row.source})")
    return StoredHierarchy(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, hierarchy)
