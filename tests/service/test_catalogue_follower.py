"""The catalogue follower never puts back rows it read before this process's own newer write.

The race it guards against: the follower reads the store, `POST /items` in the same process
commits and updates the catalogue, then the follower applies what it read, which is older. With
no guard the card showed the old category until the next poll (seen in CI as
`test_category_filter_and_exclusions[postgresql-in-process]`). Here the store is real and the
race is made certain: the write lands inside the follower's read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from shoprec.engine.catalogue import Catalogue
from shoprec.service.catalogue_follower import CatalogueFollower
from shoprec.store import ItemRecord, Store


class RacedStore(Store):
    """A store whose `items_updated_since` lets one `POST /items` commit, and reach the
    catalogue, after the rows were read and before the follower applies them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.overtake: tuple[Catalogue, list[ItemRecord]] | None = None

    def items_updated_since(self, since: float) -> list[ItemRecord]:
        rows = super().items_updated_since(since)
        if self.overtake is not None:
            catalogue, records = self.overtake
            self.overtake = None
            self.upsert_items(records)  # what POST /items does: the store, then the catalogue
            catalogue.update(records)
        return rows


@pytest.fixture
def store(database_url: tuple[str, str | None]) -> Iterator[RacedStore]:
    url, schema = database_url
    s = RacedStore(url, schema=schema)
    yield s
    s.close()


def test_own_write_during_the_followers_read_is_kept(store: RacedStore) -> None:
    store.upsert_items([ItemRecord("a", "Serum", category="Skin"), ItemRecord("b", "Lip balm")])
    catalogue = Catalogue(store.all_items())
    applied: list[Sequence[ItemRecord]] = []
    follower = CatalogueFollower(store, catalogue, applied.append)
    follower.close()  # its thread stops; the test calls sync itself
    store.upsert_items([ItemRecord("c", "Toner")])  # another process's write: version grows

    store.overtake = (catalogue, [ItemRecord("a", "Serum", category="Test Category")])
    assert follower.sync() == 0  # overtaken: nothing applied, taken again next time
    assert catalogue.get("a").category == "Test Category" and "c" not in catalogue
    assert applied == []

    assert follower.sync() == 3  # the next look reads all three, the new category included
    assert catalogue.get("a").category == "Test Category" and "c" in catalogue
    assert catalogue.in_category("test category") == {"a"}
    assert [r.item_id for r in applied[0]] == ["a", "b", "c"]
