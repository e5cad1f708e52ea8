"""Following the paging links of a list endpoint, as a client would."""

from __future__ import annotations

import re
from typing import Any

from tests.service.conftest import Service


def next_link(response: Any) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return found.group(1) if found else None


def follow(service: Service, path: str, actor: str, **params: Any) -> list[Any]:
    """Every row of a list, following ``rel="next"`` links from the first page."""
    response = service.get(path, actor, params=params)
    assert response.status_code == 200, response.text
    rows = list(response.json())
    total = int(response.headers["x-total-count"])
    pages = 1
    while (link := next_link(response)) is not None:
        response = service.get(link, actor)
        assert response.status_code == 200, response.text
        assert int(response.headers["x-total-count"]) == total
        rows += response.json()
        pages += 1
        assert pages < 1000
    assert len(rows) == total
    return rows
