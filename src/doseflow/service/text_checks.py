"""Text a request may carry, and text an answer may echo: valid Unicode only.

JSON allows escapes of lone UTF-16 surrogates (``"\\ud800"``), which Python decodes into
strings that cannot be written as UTF-8. Documents sent to the service (network files,
deployment files) are refused with ``SERVICE_BAD_REQUEST`` if they hold such text, and
error answers replace it (they echo the values they refuse), so no answer fails to encode.
"""

from __future__ import annotations

from typing import Any


def is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def first_unencodable(value: Any) -> str | None:
    """The first string (key or value) in ``value`` that is not valid Unicode, if any."""
    if isinstance(value, str):
        return None if is_encodable(value) else value
    if isinstance(value, dict):
        for key, item in value.items():
            found = first_unencodable(key) or first_unencodable(item)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = first_unencodable(item)
            if found is not None:
                return found
    return None


def require_unicode(value: Any) -> Any:
    """For a pydantic ``mode="before"`` validator: refuse text that is not valid Unicode."""
    if first_unencodable(value) is not None:
        raise ValueError("text must be valid Unicode (no lone surrogate escapes)")
    return value


def printable(value: Any) -> Any:
    """``value`` with any string made encodable (lone surrogates become U+FFFD)."""
    if isinstance(value, str) and not is_encodable(value):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value
