"""The stored DHIS2 mapping: load a mapping file once (``doseflow report mapping load
FILE``) so that the DHIS2-compatible endpoint and ``doseflow report import/export`` speak
the DHIS2 instance's UIDs and codes without ``--mapping`` on every command.

As with the stored hierarchy, the file's text is kept as given and read again through the
one reader of mapping files (``doseflow.reporting.dhis2_mapping``), so a stored mapping means
exactly what the file means, with the same checks. Every load adds a row; the latest is in
force, the earlier ones record what was in force when.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, mapping_from_text
from doseflow.store import reporting_tables as t


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
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DoseflowError(
            "REPORT_MAPPING_INVALID",
            f"cannot read the file: {getattr(exc, 'strerror', None) or exc}",
            source=str(p),
            expected="a readable UTF-8 YAML file",
        ) from None
    return save_mapping(engine, text, str(p), by)


def save_mapping(engine: Engine, text: str, source: str, by: str | None = None) -> StoredMapping:
    """Store a mapping file's ``text`` (checked first) as the mapping in force."""
    mapping = mapping_from_text(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        row_id = conn.execute(
            insert(t.dhis2_mappings).values(
                source=source[:1000], document=text, sha256=digest, loaded_by=by, loaded_at=now
            )
        ).inserted_primary_key
    assert row_id is not None
    return StoredMapping(int(row_id[0]), source, digest, by, now, mapping)


def stored_mapping(engine: Engine) -> StoredMapping | None:
    """The mapping in force (the latest loaded), or ``None`` when none was loaded."""
    m = t.dhis2_mappings
    with engine.connect() as conn:
        row = conn.execute(select(m).order_by(m.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    mapping = mapping_from_text(row.document, f"stored mapping #{row.id} ({row.source})")
    return StoredMapping(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, mapping)
