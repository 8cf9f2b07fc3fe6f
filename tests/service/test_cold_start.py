"""A text-aware bundle over HTTP: search, and an item added through the API is recommendable
at once, without retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import API_KEY, LiveServer, serving_copy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def content_live(content_bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    with serving_copy(content_bundle, tmp_path_factory.mktemp("content-live")) as live:
        yield live


def test_search_finds_what_the_query_means(content_live: LiveServer) -> None:
    body = content_live.client.get("/search", params={"q": "red nail polish", "k": 5}).json()
    titles = [i["title"].lower() for i in body["items"]]
    assert len(titles) == 5 and all(("nail" in t or "lacquer" in t) for t in titles[:3]), titles
    r = content_live.client.get("/search", params={"q": "  "})
    assert r.status_code == 422 and "empty" in r.json()["error"]


def test_personalised_search_uses_the_fresh_history(content_live: LiveServer) -> None:
    live = content_live
    plain = live.client.get("/search", params={"q": "gift", "k": 10}).json()["items"]
    creams = [i for i in live.ctx.catalogue.ids()
              if "cream" in (live.ctx.catalogue.get(i).title or "").lower()][:4]
    live.client.post("/events", json=[{"user_id": "searcher-1", "item_id": i, "event": "purchase"}
                                      for i in creams])
    mine = live.client.get("/search", params={"q": "gift", "k": 10, "user_id": "searcher-1"})
    assert [i["item_id"] for i in mine.json()["items"]] != [i["item_id"] for i in plain]


def test_new_item_is_ranked_from_its_text_at_once(content_live: LiveServer) -> None:
    live = content_live
    polish = [r for r in live.ctx.catalogue.ids()
              if "nail lacquer" in (live.ctx.catalogue.get(r).title or "").lower()][:3]
    assert len(polish) == 3
    user = "cold-start-fan"
    live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                      for i in polish])
    new = {"item_id": "opi-new-red", "title": "OPI Nail Lacquer, Big Apple Red, 0.5 Fluid Ounce"}
    r = live.client.post("/items", headers={"X-API-Key": API_KEY}, json=new)
    assert r.status_code == 200
    assert r.json()["recommendable"] == ["opi-new-red"] and r.json()["pending"] == []
    body = live.client.get(f"/recommendations/{user}?k=5&explain=true").json()
    assert body["strategy"] == "model"
    assert "opi-new-red" in [i["item_id"] for i in body["items"]]
    assert live.client.get("/health").json()["model_items"] == 301
    found = live.client.get("/search", params={"q": "big apple red nail lacquer", "k": 3}).json()
    assert found["items"][0]["item_id"] == "opi-new-red"


def test_profile_has_interest_tags_and_reasons_cite_the_history(content_live: LiveServer) -> None:
    live = content_live
    polish = [r for r in live.ctx.catalogue.ids()
              if "nail" in (live.ctx.catalogue.get(r).title or "").lower()][:4]
    user = "profile-fan"
    live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                      for i in polish])
    profile = live.client.get(f"/users/{user}/profile").json()
    assert profile["tags"] and profile["activity"]["events"] == 4
    assert profile["by_event"] == {"purchase": 4}
    body = live.client.get(f"/recommendations/{user}?k=3&explain=true").json()
    titles = {live.ctx.catalogue.get(i).title for i in polish}
    assert any(any(t in item["reason"] for t in titles) for item in body["items"]), body
