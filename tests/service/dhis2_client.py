"""A DHIS2 Web API client written only from DHIS2's documentation (2.40, "Data values"),
the way a dhis2.py script talks to a DHIS2 server: HTTP Basic auth, ``/api/<endpoint>``,
query parameters as DHIS2 names them, and the import summary read from the WebMessage's
``response``. Nothing in it knows it is talking to doseflow.
"""

from __future__ import annotations

from typing import Any

import httpx


class Dhis2Error(Exception):
    """DHIS2 answered something other than 200, or 409 with an import summary."""


class Api:
    """``Api(server, username, password)``, as in dhis2.py."""

    def __init__(
        self, server: str, username: str, password: str, api_version: int | None = None
    ) -> None:
        base = server.rstrip("/") + "/api"
        self.base_url = f"{base}/{api_version}" if api_version else base
        self.session = httpx.Client(auth=(username, password), timeout=30.0)

    def close(self) -> None:
        self.session.close()

    def _url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    def get(
        self, endpoint: str, params: dict[str, Any] | None = None, accept: str | None = None
    ) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        response = self.session.get(self._url(endpoint), params=params, headers=headers)
        if response.status_code != 200:
            raise Dhis2Error(f"GET {endpoint}: {response.status_code} {response.text[:300]}")
        return response

    def post(
        self,
        endpoint: str,
        json: dict[str, Any] | None = None,
        data: str | bytes | None = None,
        params: dict[str, Any] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """POST as DHIS2 expects it; an import answered 409 still carries its summary."""
        headers = {"Content-Type": content_type} if content_type else {}
        response = self.session.post(
            self._url(endpoint), json=json, content=data, params=params, headers=headers
        )
        if response.status_code not in (200, 409):
            raise Dhis2Error(f"POST {endpoint}: {response.status_code} {response.text[:300]}")
        return response


def import_summary(response: httpx.Response) -> dict[str, Any]:
    """The ImportSummary of a data value import: 2.38+ wrap it in a WebMessage
    (``response``); older versions answer it bare."""
    body: dict[str, Any] = response.json()
    if body.get("responseType") == "ImportSummary":
        return body
    summary = body["response"]
    assert isinstance(summary, dict)
    return summary
