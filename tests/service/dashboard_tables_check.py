"""Checks every server-side dashboard table must pass (issue 15): its header links sort on
the server (``aria-sort`` on the sorted column, both ways), the page size in the address
cuts the right slice of the sorted whole, and the CSV and Excel downloads hold every
matching row, in the same order, under the table's headings."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.service.test_dashboard_tables import (
    csv_rows,
    download_link,
    rows_of,
    sort_link,
    xlsx_rows,
)


def with_params(href: str, changes: Mapping[str, Any]) -> str:
    """``href`` with some of its query parameters changed (or added)."""
    parts = urlsplit(href)
    query = {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in changes.items()}}
    return parts.path + "?" + urlencode(query)


def header_labels(page: str, table_id: str) -> list[str]:
    head = page.split(f'id="{table_id}"', 1)[1].split("</thead>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", inner).replace("▲", "").replace("▼", "").strip()
        for inner in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", head, re.S)
    ]


def check_table(
    client: Any,
    path: str,
    params: Mapping[str, Any],
    *,
    table_id: str,
    key: str,
    label: str,
    column: str,
    cell: int,
    value: Callable[[str], Any] = str,
    download_column: str | None = None,
    extra: tuple[str, ...] = (),
) -> list[list[str]]:
    """Sort table ``key`` of ``path`` by its ``column`` heading both ways, page it, download
    it; return the body rows of the whole table sorted by that column (ascending)."""
    first = client.get(path, params=dict(params))
    assert first.status_code == 200, first.text
    href, aria = sort_link(first.text, table_id, column)
    sort_key = dict(parse_qsl(urlsplit(href).query))[f"{key}_sort"]
    if aria == "ascending":  # already the sort: the link turns it round
        href = with_params(href, {f"{key}_dir": "asc"})
    up = client.get(with_params(href, {f"{key}_size": 500}))
    if sort_link(up.text, table_id, column)[1] == "descending":  # a newest-first table
        up = client.get(with_params(sort_link(up.text, table_id, column)[0], {f"{key}_size": 500}))
    assert sort_link(up.text, table_id, column)[1] == "ascending"
    rows = rows_of(up.text, table_id)
    assert len(rows) > 3, "too few rows to tell an order"
    ascending = [value(r[cell]) for r in rows]
    assert ascending == sorted(ascending)
    assert ascending != ascending[::-1], "every value is the same: the order tells nothing"
    down_href, _ = sort_link(up.text, table_id, column)
    down = client.get(with_params(down_href, {f"{key}_size": 500}))
    assert sort_link(down.text, table_id, column)[1] == "descending"
    assert [value(r[cell]) for r in rows_of(down.text, table_id)] == sorted(ascending, reverse=True)
    # a page of 2 after 1 is that slice of the sorted whole, with its count
    sorted_params = {**params, f"{key}_sort": sort_key, f"{key}_dir": "asc"}
    page = client.get(path, params={**sorted_params, f"{key}_size": 2, f"{key}_offset": 1}).text
    assert [value(r[cell]) for r in rows_of(page, table_id)] == ascending[1:3]
    assert f"Rows 2–3 of {len(rows)}" in page
    # downloads: every matching row, not just the page, in the same order and headings
    headings = header_labels(page, table_id)
    readers: tuple[tuple[str, Callable[[Any], list[dict[str, Any]]]], ...] = (
        ("CSV", lambda r: csv_rows(r.text)),
        ("Excel", lambda r: xlsx_rows(r.content)),
    )
    for fmt, read in readers:
        link = download_link(page, label, fmt)
        assert f"{key}_offset" not in link
        assert f"{key}_size" not in link
        answer = client.get(link)
        assert answer.status_code == 200, answer.text
        assert "attachment" in answer.headers["content-disposition"]
        listed = read(answer)
        assert len(listed) == len(rows)
        assert list(listed[0]) == [h for h in headings if h not in extra]
        name = download_column or column
        got = [value(str(r[name])) for r in listed]
        assert got == ascending
    # a mistyped sort column or page size is a located refusal
    bad = client.get(path, params={**params, f"{key}_sort": "colour"})
    assert bad.status_code == 422
    assert "SERVICE_BAD_REQUEST" in bad.text
    assert f"{key}_sort" in bad.text
    too_big = client.get(path, params={**params, f"{key}_size": 501})
    assert too_big.status_code == 422
    assert f"{key}_size" in too_big.text
    return rows
