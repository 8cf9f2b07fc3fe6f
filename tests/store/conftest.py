"""A fresh store per test, on SQLite and on PostgreSQL (`database_url`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shoprec.store import Store


@pytest.fixture
def store(database_url) -> Iterator[Store]:
    url, schema = database_url
    s = Store(url, schema=schema)
    yield s
    s.close()
