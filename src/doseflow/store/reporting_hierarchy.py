"""The stored reporting hierarchy: load a hierarchy file once (``doseflow report hierarchy
load FILE``) instead of passing ``--hierarchy`` on every command.

The file's text is kept as it was given and read again through the one reader of hierarchy
files (``doseflow.reporting.hierarchy_file``), so a stored hierarchy means exactly what the
file means, with the same checks. Every load adds a row; the latest is in force, the earlier
ones record what was in force when.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from doseflow.domain.errors import DoseflowError
from doseflow.reporting.hierarchy import Hierarchy
from doseflow.reporting.hierarchy_file import hierarchy_from_text
from doseflow.store import reporting_tables as t


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
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DoseflowError(
            "REPORT_HIERARCHY_INVALID",
            f"cannot read the file: {getattr(exc, 'strerror', None) or exc}",
            source=str(p),
            expected="a readable UTF-8 YAML file",
        ) from None
    return save_hierarchy(engine, text, str(p), by)


def save_hierarchy(
    engine: Engine, text: str, source: str, by: str | None = None
) -> StoredHierarchy:
    """Store a hierarchy file's ``text`` (checked first) as the hierarchy in force."""
    hierarchy = hierarchy_from_text(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        row_id = conn.execute(
            insert(t.hierarchies).values(
                source=source[:1000], document=text, sha256=digest, loaded_by=by, loaded_at=now
            )
        ).inserted_primary_key
    assert row_id is not None
    return StoredHierarchy(int(row_id[0]), source, digest, by, now, hierarchy)


def stored_hierarchy(engine: Engine) -> StoredHierarchy | None:
    """The hierarchy in force (the latest loaded), or ``None`` when none was loaded."""
    h = t.hierarchies
    with engine.connect() as conn:
        row = conn.execute(select(h).order_by(h.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    hierarchy = hierarchy_from_text(row.document, f"stored hierarchy #{row.id} ({row.source})")
    return StoredHierarchy(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, hierarchy)
