"""Documents loaded once and kept as given (the reporting hierarchy, the DHIS2 mapping).

Each load adds a row with the file's text, its digest, who loaded it and when; the latest
row is in force and the earlier ones record what was in force when. The text is read again
through the document's own reader whenever it is used, so a stored document means exactly
what the file means. This module holds what every such table shares: reading the file,
appending a row, and finding the latest one; callers parse the text themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, Table, insert, select

from doseflow.domain.errors import DoseflowError


@dataclass(frozen=True)
class DocumentRow:
    """One stored document: its row id, where it came from, and its text."""

    id: int
    source: str
    sha256: str
    loaded_by: str | None
    loaded_at: datetime
    document: str


def read_document_file(path: Path | str, code: str) -> tuple[str, str]:
    """The text of the file at ``path`` and its name; an unreadable file is ``code``."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except (OSError, UnicodeDecodeError) as exc:
        raise DoseflowError(
            code,
            f"cannot read the file: {getattr(exc, 'strerror', None) or exc}",
            source=str(p),
            expected="a readable UTF-8 YAML file",
        ) from None


def append_document(
    engine: Engine, table: Table, text: str, source: str, by: str | None
) -> DocumentRow:
    """Store ``text`` (already checked by the caller) as the newest row of ``table``."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        row_id = conn.execute(
            insert(table).values(
                source=source[:1000], document=text, sha256=digest, loaded_by=by, loaded_at=now
            )
        ).inserted_primary_key
    assert row_id is not None
    return DocumentRow(int(row_id[0]), source, digest, by, now, text)


def latest_document(engine: Engine, table: Table) -> DocumentRow | None:
    """The document in force (the latest stored in ``table``), or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(select(table).order_by(table.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return DocumentRow(row.id, row.source, row.sha256, row.loaded_by, row.loaded_at, row.document)
