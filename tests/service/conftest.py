"""A service on a fresh database with one token per role (two participants: KEN and NGA)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from doseflow.service import create_app
from doseflow.store.service import Role, issue_token

#: Who the tests act as: a name for each token the fixture issues.
ACTORS: dict[str, tuple[Role, str | None]] = {
    "administrator": (Role.ADMINISTRATOR, None),
    "allocation-analyst": (Role.ALLOCATION_ANALYST, None),
    "logistics-officer": (Role.LOGISTICS_OFFICER, None),
    "viewer": (Role.VIEWER, None),
    "participant-KEN": (Role.PARTICIPANT, "KEN"),
    "participant-NGA": (Role.PARTICIPANT, "NGA"),
}


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    engine: Engine
    tokens: dict[str, str]

    def headers(self, actor: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"} if actor else {}

    def get(self, path: str, actor: str | None, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(actor), **kwargs)

    def post(self, path: str, actor: str | None, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, headers=self.headers(actor), **kwargs)

    def request(self, method: str, path: str, actor: str | None, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, headers=self.headers(actor), **kwargs)


def make_service(url: str) -> Iterator[Service]:
    app = create_app(url)
    engine: Engine = app.state.engine
    tokens = {
        name: issue_token(engine, role=role, iso3=iso3, user=name).token
        for name, (role, iso3) in ACTORS.items()
    }
    with TestClient(app) as client:
        yield Service(app, client, engine, tokens)
    engine.dispose()


@pytest.fixture
def service(sqlite_url: str) -> Iterator[Service]:
    yield from make_service(sqlite_url)


@pytest.fixture
def service_any_db(db_url: str) -> Iterator[Service]:
    """The same service on SQLite and on PostgreSQL."""
    yield from make_service(db_url)
