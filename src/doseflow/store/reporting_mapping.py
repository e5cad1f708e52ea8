"""The stored DHIS2 mapping: load a mapping file once (``doseflow report mapping load
FILE``) so that the DHIS2-compatible endpoint and ``doseflow report import/export`` speak
the DHIS2 instance's UIDs and codes without ``--mapping`` on every command.

As with the stored hierarchy, the file's text is kept as given and read again through the
one reader of mapping files (``doseflow.reporting.dhis2_mapping``), so a stored mapping means
exactly what the file means, with the same checks. Every load adds a row; the latest is in
force, the earlier ones record what was in force when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine

from doseflow.reporting.dhis2_mapping import Dhis2Mapping, mapping_from_text
from doseflow.store import reporting_tables as t
from doseflow.store.stored_documents import append_document, latest_document, read_document_file


@dataclass(frozen=True)
class StoredMapping:
    """The DHIS2 mapping in force and where it came from."""

    id: int
    source: str
    sha256: str
    loaded_by: str | None
    loaded_at: datetime
    mapping: Dhis2Mapping

    @property
    def origin(self) -> str:
        """Where the mapping comes from, for people (``stored mapping #2 (m.yaml, ...)``)."""
        return f"stored mapping #{self.id} ({self.source}, loaded {self.loaded_at:%Y-%m-%d})"


def load_mapping_file(engine: Engine, path: Path | str, by: str | None = None) -> StoredMapping:
    """Check the mapping file at ``path`` and store it as the mapping in force. Nothing is
    stored when the file is unreadable or invalid (``REPORT_MAPPING_INVALID``)."""
    text, source = read_document_file(path, "REPORT_MAPPING_INVALID")
    return save_mapping(engine, text, source, by)


def save_mapping(engine: Engine, text: str, source: str, by: str | None = None) -> StoredMapping:
    """Store a mapping file's ``text`` (checked first) as the mapping in force."""
    mapping = mapping_from_text(text, source)  # checked before anything is stored
    row = append_document(engine, t.dhis2_mappings, text, source, by)
    return StoredMapping(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, mapping)


@lru_cache(maxsize=8)
def _parsed(document: str, source: str) -> Dhis2Mapping:
    """The stored text read once per process: every request asks for the mapping in force,
    and it changes only when a new one is loaded (a new row, so a new key here)."""
    return mapping_from_text(document, source)


def stored_mapping(engine: Engine) -> StoredMapping | None:
    """The mapping in force (the latest loaded), or ``None`` when none was loaded."""
    row = latest_document(engine, t.dhis2_mappings)
    if row is None:
        return None
    mapping = _parsed(row.document, f"stored mapping #{row.id} ({row.source})")
    return StoredMapping(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, mapping)
