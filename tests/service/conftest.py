"""A service on a fresh database with one token per role (two participants: KEN and NGA)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from doseflow.service import create_app
from doseflow.store.database import open_database
from doseflow.store.service import Role, issue_token
from doseflow.store.service_settings import SecuritySettings

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


def dashboard_sign_in(
    client: TestClient, token: str, next_path: str = "/dashboard/"
) -> httpx.Response:
    """Sign ``client`` in as a browser does: open the sign-in page (which sets the
    pre-session cookie and the form token), then send the form. Returns the answer (303)."""
    page = client.get("/dashboard/sign-in").text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None, "the sign-in form has no form token"
    return client.post(
        "/dashboard/sign-in",
        data={"csrf": found.group(1), "token": token, "next": next_path},
        follow_redirects=False,
    )


def make_service(url: str, security: SecuritySettings | None = None) -> Iterator[Service]:
    """A service on ``url``; rate limits relaxed (explicitly) unless ``security`` is given."""
    app = create_app(url, security=security or SecuritySettings.relaxed())
    engine: Engine = app.state.engine
    tokens = {
        name: issue_token(engine, role=role, iso3=iso3, user=name).token
        for name, (role, iso3) in ACTORS.items()
    }
    with TestClient(app) as client:
        yield Service(app, client, engine, tokens)
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to the latest schema; tests copy it instead of migrating."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite"
    open_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def fresh_sqlite(migrated_sqlite: Path, tmp_path: Path) -> str:
    """A fresh, already migrated SQLite database for one test."""
    path = tmp_path / "service.sqlite"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def service(fresh_sqlite: str) -> Iterator[Service]:
    yield from make_service(fresh_sqlite)


@pytest.fixture
def service_any_db(db_url: str) -> Iterator[Service]:
    """The same service on SQLite and on PostgreSQL."""
    yield from make_service(db_url)
