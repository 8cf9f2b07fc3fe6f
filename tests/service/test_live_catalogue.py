"""The chat's vocabulary and the search filters follow the live catalogue (`POST /items`), and
a new item's category or brand never takes over ordinary requests. HTTP only.

The Beauty catalogue has titles only (no category or brand column): its brands are read from
titles ("OPI Nail Lacquer, ..."), and it has no categories until an item brings one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import API_KEY, LiveServer, serving_copy

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def knn(slice_bundle: Path, tmp_path_factory: pytest.TempPathFactory,
        server_mode: str) -> Iterator[LiveServer]:
    """Item-kNN on the Beauty slice (8,017 items): new items are stored but not ranked."""
    with serving_copy(slice_bundle, tmp_path_factory.mktemp("vocab-knn"), server_mode) as server:
        yield server


@pytest.fixture(scope="module")
def text(content_bundle: Path, tmp_path_factory: pytest.TempPathFactory,
         server_mode: str) -> Iterator[LiveServer]:
    """The content model on 300 Beauty items: a new item is ranked from its text at once."""
    with serving_copy(content_bundle, tmp_path_factory.mktemp("vocab-text"), server_mode) as server:
        yield server


def chat(live: LiveServer, message: str, k: int = 5) -> dict:
    r = live.client.post("/chat", json={"message": message, "k": k})
    assert r.status_code == 200, r.text
    return r.json()


def post_items(live: LiveServer, *items: dict) -> dict:
    r = live.client.post("/items", json={"items": list(items)}, headers=KEY)
    assert r.status_code == 200, r.text
    return r.json()


def of_brand(item: dict, brand: str) -> bool:
    """The item's brand is `brand`: its brand field, else its title's first word."""
    if item.get("brand"):
        return item["brand"].lower() == brand.lower()
    words = (item.get("title") or "").split()
    return bool(words) and words[0].lower() == brand.lower()


def named(answer: dict) -> list[str]:
    """The category and brand constraints an answer says it honours ("in X", "by Y")."""
    return [c for c in answer["constraints"] if c.startswith(("in ", "by "))]


def test_words_that_merely_start_some_titles_are_no_brands(knn: LiveServer) -> None:
    """"Nail" starts 5% of the titles that say it: "nail polish remover" is a topic, not the
    brand Nail; Maybelline starts nearly all of its titles and is read as the brand."""
    remover = chat(knn, "nail polish remover")
    assert named(remover) == [] and remover["constraints"] == ["“nail polish remover”"]
    assert any("remover" in i["title"].lower() for i in remover["items"])
    mascara = chat(knn, "Maybelline mascara")
    assert named(mascara) == ["by Maybelline"]
    assert mascara["items"] and all(of_brand(i, "Maybelline") for i in mascara["items"])


def test_one_new_items_category_and_brand_leave_ordinary_requests_as_they_were(
        knn: LiveServer) -> None:
    before = {m: chat(knn, m) for m in ("nail polish remover", "Maybelline mascara")}
    ack = post_items(knn, {"item_id": "vocab-knn-1", "title": "Big Apple Red Nail Lacquer",
                           "category": "Nail Polish", "brand": "OPI", "price": 9.5})
    assert ack["stored"] == 1
    for message, earlier in before.items():
        now = chat(knn, message)
        assert now["constraints"] == earlier["constraints"], message
        assert [i["item_id"] for i in now["items"]] == [i["item_id"] for i in earlier["items"]]


def test_a_brand_filter_finds_the_brand_in_a_catalogue_without_a_brand_column(
        knn: LiveServer) -> None:
    for path, params in (("/search", {"q": "red nail lacquer", "brand": "OPI", "k": 20}),
                         ("/recommendations/vocab-nobody", {"brand": "opi", "k": 20})):
        r = knn.client.get(path, params=params)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == 20 and all(of_brand(i, "OPI") for i in items), path


def test_a_new_items_brand_joins_the_brand_that_titles_name(text: LiveServer) -> None:
    """A new OPI item whose title does not say OPI is found by the brand filter with the OPI
    items the catalogue names in their titles, in search and in chat."""
    new = {"item_id": "vocab-opi-1", "title": "Big Apple Red Nail Lacquer, 0.5 fl oz",
           "brand": "OPI", "price": 9.5}
    assert post_items(text, new)["recommendable"] == ["vocab-opi-1"]
    r = text.client.get("/search", params={"q": "red nail lacquer", "brand": "OPI", "k": 20})
    assert r.status_code == 200, r.text
    found = r.json()["items"]
    assert "vocab-opi-1" in [i["item_id"] for i in found]
    assert len(found) > 1 and all(of_brand(i, "OPI") for i in found)
    answer = chat(text, "OPI red nail lacquer", k=10)
    assert "by OPI" in answer["constraints"] and "vocab-opi-1" in [i["item_id"]
                                                                 for i in answer["items"]]
    assert len(answer["items"]) > 1 and all(of_brand(i, "OPI") for i in answer["items"])


def test_a_category_that_new_items_really_carry_is_read_at_once(text: LiveServer) -> None:
    """Once the items whose titles name callus rasps carry the category, a request for one is
    answered from that category, without a restart."""
    rasps = [{"item_id": f"vocab-rasp-{n}", "title": title, "category": "Foot Care > Callus Rasps"}
             for n, title in enumerate(["Stainless Steel Callus Rasp for Feet",
                                        "Ceramic Callus Rasp, Double Sided"])]
    before = chat(text, "a callus rasp")
    assert named(before) == []
    post_items(text, *rasps)
    answer = chat(text, "a callus rasp")
    assert named(answer) == ["in Callus Rasps"]
    assert sorted(i["item_id"] for i in answer["items"]) == ["vocab-rasp-0", "vocab-rasp-1"]
