"""Fast JSON for large answers: the engines' frozen dataclasses dumped by pydantic-core directly.

FastAPI's default path for a returned list of dataclasses converts each to a dict, validates
it again and re-encodes it, which costs more than the database query for a few hundred stock
lines. These answers come straight from the store's typed values, so they are dumped once
with a cached :class:`pydantic.TypeAdapter`; the endpoint still declares ``response_model``
so the OpenAPI description is unchanged.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def json_response(kind: Any, value: Any) -> Response:
    """``value`` (of type ``kind``, e.g. ``list[StockLine]``) as a JSON response."""
    return Response(_adapter(kind).dump_json(value), media_type="application/json")
