"""The store's side of DHIS2 imports, on both backends: deletions, import strategies and the
filters of ``GET /api/dataValueSets`` (last updated)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from doseflow.reporting.import_strategy import ImportStrategy
from doseflow.store import reporting as store
from doseflow.store.database import open_database

from .conftest import AS_OF, make_hierarchy, sv

H = make_hierarchy()
WEEK = [
    sv("people_tested", "2021W38", "PRK", "667"),
    sv("positives", "2021W38", "PRK", 0),
    sv("ili_cases", "2021W38", "PRK", 94),
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def _elements(engine: Engine) -> list[str]:
    return sorted(v.data_element for v in store.load_values(engine))


def test_deleted_values_remove_stored_values(engine: Engine) -> None:
    store.submit(engine, WEEK, hierarchy=H, as_of=AS_OF)
    gone = [
        sv("ili_cases", "2021W38", "PRK", "94", deleted=True),
        sv("ili_cases", "2021W37", "PRK", "1", deleted=True),  # nothing stored
    ]
    dry = store.submit(engine, gone, hierarchy=H, as_of=AS_OF, dry_run=True)
    assert dry.counts["deleted"] == 1
    assert _elements(engine) == ["ili_cases", "people_tested", "positives"]
    summary = store.submit(engine, gone, hierarchy=H, as_of=AS_OF)
    assert (summary.counts["deleted"], summary.counts["ignored"]) == (1, 1)
    assert _elements(engine) == ["people_tested", "positives"]


def test_strategies_in_the_store(engine: Engine) -> None:
    store.submit(engine, WEEK[:1], hierarchy=H, as_of=AS_OF)
    both = [sv("people_tested", "2021W38", "PRK", "700"), sv("positives", "2021W38", "PRK", 1)]
    store.submit(engine, both, hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.UPDATE)
    assert {v.data_element: v.value for v in store.load_values(engine)} == {"people_tested": 700}
    store.submit(engine, both[::-1], hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.CREATE)
    assert {v.data_element: v.value for v in store.load_values(engine)} == {
        "people_tested": 700,
        "positives": 1,
    }
    store.submit(engine, both[:1], hierarchy=H, as_of=AS_OF, strategy=ImportStrategy.DELETE)
    assert _elements(engine) == ["positives"]


def test_values_updated_since(engine: Engine) -> None:
    store.submit(engine, WEEK[:1], hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 27, 8))
    store.submit(engine, WEEK[1:], hierarchy=H, as_of=AS_OF, now=datetime(2021, 9, 28, 8))
    later = store.load_values(engine, updated_since=datetime(2021, 9, 28))
    assert sorted(v.data_element for v in later) == ["ili_cases", "positives"]
