"""The names a chat message may use follow the live catalogue, judged by what its titles say:
on Beauty (titles only) and Office (a brand and category column, a fifth of the items without
a brand)."""

from __future__ import annotations

import pytest

from shoprec.data.dataset import Dataset
from shoprec.engine.catalogue import Catalogue
from shoprec.store import ItemRecord
from tests.conftest import _require


@pytest.fixture(scope="module")
def office() -> Dataset:
    from shoprec.data.sources import load_dataset

    _require("amazon-office")
    return load_dataset("amazon-office")


def test_title_words_that_start_most_of_their_titles_stand_in_for_brands(beauty: Dataset) -> None:
    catalogue = Catalogue.from_frame(beauty.items)
    _, brands = catalogue.names()
    assert {"opi", "maybelline", "neutrogena", "revlon"} <= brands.keys()
    assert not {"nail", "the", "organic", "new", "hair"} & brands.keys()
    assert catalogue.has_brands() and not catalogue.has_categories()
    opi = catalogue.of_brand("OPI")
    titles = [catalogue.get(i).title for i in opi]
    assert len(opi) > 100 and all(t.split()[0].lower() == "opi" for t in titles)
    assert catalogue.of_brand("nail") == set()  # not a brand: no filter reads it as one


def test_one_new_items_fields_join_the_names_only_where_the_catalogue_answers_them(
        beauty: Dataset, office: Dataset) -> None:
    new = ItemRecord("names-1", "Big Apple Red Nail Lacquer", "Nail Polish", "OPI", 9.5)
    beauty_catalogue = Catalogue.from_frame(beauty.items)
    before = beauty_catalogue.names()
    beauty_catalogue.update([new])
    categories, brands = beauty_catalogue.names()
    assert categories == {} and brands == before[1]  # 600 titles say "polish", 1 has a category
    assert "names-1" in beauty_catalogue.of_brand("opi") and len(beauty_catalogue.of_brand("opi")) > 100
    assert beauty_catalogue.in_category("nail polish") == {"names-1"}  # a filter asked for it
    office_catalogue = Catalogue.from_frame(office.items)
    office_catalogue.update([new])
    categories, brands = office_catalogue.names()
    assert categories["nail polish"] == "Nail Polish" and brands["opi"] == "OPI"


def test_names_leave_with_the_last_item_that_carried_them(office: Dataset) -> None:
    catalogue = Catalogue.from_frame(office.items)
    catalogue.update([ItemRecord("names-2", "Zephyr desk fan", "Office Fans", "Zephyrco")])
    categories, brands = catalogue.names()
    assert "office fans" in categories and "zephyrco" in brands
    catalogue.update([ItemRecord("names-2", "Desk fan", "Office Products", "Honeywell")])
    categories, brands = catalogue.names()
    assert "office fans" not in categories and "zephyrco" not in brands
    assert catalogue.of_brand("zephyrco") == set() and catalogue.in_category("office fans") == set()


def test_an_item_without_a_brand_is_of_the_brand_its_title_starts_with(office: Dataset) -> None:
    catalogue = Catalogue.from_frame(office.items)
    canon = catalogue.of_brand("canon")
    fields = {i for i in canon if catalogue.get(i).brand}
    from_titles = canon - fields
    assert fields and from_titles  # brand-less Canon items join the Canon filter
    assert all(catalogue.get(i).title.split()[0].lower() == "canon" for i in from_titles)
