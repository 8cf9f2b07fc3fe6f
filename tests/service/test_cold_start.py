"""A text-aware bundle over HTTP: search, and an item added through the API is recommendable
at once, without retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import API_KEY, LiveServer, serving_copy, token_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def content_live(content_bundle: Path, tmp_path_factory: pytest.TempPathFactory,
                 server_mode: str):
    with serving_copy(content_bundle, tmp_path_factory.mktemp("content-live"), server_mode) as live:
        yield live


def test_search_finds_what_the_query_means(content_live: LiveServer) -> None:
    body = content_live.client.get("/search", params={"q": "red nail polish", "k": 5}).json()
    titles = [i["title"].lower() for i in body["items"]]
    assert len(titles) == 5 and all(("nail" in t or "lacquer" in t) for t in titles[:3]), titles
    r = content_live.client.get("/search", params={"q": "  "})
    assert r.status_code == 422 and "empty" in r.json()["error"]


FRAGRANCE = ("parfum", "eau de", "edt", "edp", "cologne", "fragrance")


def _fragrances(items: list[dict]) -> int:
    return sum(any(w in (i["title"] or "").lower() for w in FRAGRANCE) for i in items)


def test_personalised_search_uses_the_fresh_history(content_live: LiveServer) -> None:
    """"gift" alone finds few perfumes; after a shopper buys four perfumes over HTTP, the same
    query finds mostly perfumes for them, and still few for a shopper without history."""
    live = content_live
    plain = live.client.get("/search", params={"q": "gift", "k": 10}).json()["items"]
    assert _fragrances(plain) <= 3, [i["title"] for i in plain]
    perfumes = [i for i in live.ctx.catalogue.ids()
                if "eau de parfum" in (live.ctx.catalogue.get(i).title or "").lower()][:4]
    assert len(perfumes) == 4
    r = live.client.post("/events", json=[{"user_id": "searcher-1", "item_id": i,
                                           "event": "purchase"} for i in perfumes],
                         headers=token_of(live, "searcher-1"))
    assert r.json()["stored"] == 4
    mine = live.client.get("/search", params={"q": "gift", "k": 10, "user_id": "searcher-1"})
    titles = [i["title"] for i in mine.json()["items"]]
    assert _fragrances(mine.json()["items"]) >= 6, titles
    other = live.client.get("/search", params={"q": "gift", "k": 10, "user_id": "searcher-2"})
    assert other.json()["items"] == plain  # no history: nothing to personalise with


def test_new_item_is_ranked_from_its_text_at_once(content_live: LiveServer) -> None:
    """Two items nobody has bought arrive together: a red nail lacquer and a skillet. A nail
    lacquer fan gets the lacquer in their top 5 and the skillet nowhere in their top 100; a
    perfume fan gets neither in their top 10: the text places each new item, not its newness."""
    live = content_live

    def titled(word: str, n: int) -> list[str]:
        found = [i for i in live.ctx.catalogue.ids()
                 if word in (live.ctx.catalogue.get(i).title or "").lower()][:n]
        assert len(found) == n, word
        return found

    def ranked(user: str, k: int) -> list[str]:
        body = live.client.get(f"/recommendations/{user}?k={k}").json()
        assert body["strategy"] == "model"
        return [i["item_id"] for i in body["items"]]

    fans = {"cold-start-fan": titled("nail lacquer", 3), "perfume-fan": titled("eau de parfum", 3)}
    for user, bought in fans.items():
        live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                          for i in bought], headers=token_of(live, user))
    new = [{"item_id": "opi-new-red", "title": "OPI Nail Lacquer, Big Apple Red, 0.5 Fluid Ounce"},
           {"item_id": "skillet-12", "title": "Lodge Cast Iron Skillet, Pre-Seasoned, 12 Inch"}]
    r = live.client.post("/items", headers={"X-API-Key": API_KEY}, json={"items": new})
    assert r.status_code == 200
    assert sorted(r.json()["recommendable"]) == ["opi-new-red", "skillet-12"]
    assert r.json()["pending"] == []
    top5 = ranked("cold-start-fan", 5)
    assert "opi-new-red" in top5, top5
    assert "skillet-12" not in ranked("cold-start-fan", 100)
    perfume_top = ranked("perfume-fan", 10)
    assert "opi-new-red" not in perfume_top and "skillet-12" not in perfume_top, perfume_top
    assert live.client.get("/health").json()["model_items"] == 302
    found = live.client.get("/search", params={"q": "big apple red nail lacquer", "k": 3}).json()
    assert found["items"][0]["item_id"] == "opi-new-red"


def test_profile_has_interest_tags_and_reasons_cite_the_history(content_live: LiveServer) -> None:
    live = content_live
    polish = [r for r in live.ctx.catalogue.ids()
              if "nail" in (live.ctx.catalogue.get(r).title or "").lower()][:4]
    user = "profile-fan"
    mine = token_of(live, user)  # a shopper's events, profile and reasons need their token
    live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                      for i in polish], headers=mine)
    profile = live.client.get(f"/users/{user}/profile", headers=mine).json()
    assert profile["tags"] and profile["activity"]["events"] == 4
    assert profile["by_event"] == {"purchase": 4}
    body = live.client.get(f"/recommendations/{user}?k=3&explain=true", headers=mine).json()
    titles = {live.ctx.catalogue.get(i).title for i in polish}
    assert any(any(t in item["reason"] for t in titles) for item in body["items"]), body


# ---- the transformer and the blend (HTTP only) -------------------------------------------------

SMALL_SASREC = {"dim": 32, "layers": 1, "heads": 1, "max_len": 20, "dropout": 0.1,
                "batch_size": 64, "max_epochs": 10, "progress": False}
NEW_ITEMS = [
    {"item_id": "opi-big-apple-red", "title": "OPI Nail Lacquer, Big Apple Red, 0.5 Fluid Ounce",
     "brand": "OPI"},
    {"item_id": "ardell-lashes-110", "title": "Ardell Fashion Lashes Pair - 110 Black (Pack of 4)"},
    {"item_id": "lodge-skillet-12", "title": "Lodge Cast Iron Skillet, Pre-Seasoned, 12 Inch"},
]


@pytest.fixture(scope="module", params=["sasrec", "hybrid"])
def text_live(request: pytest.FixtureRequest, beauty_top500, embedding_cache_dir: Path,
              tmp_path_factory: pytest.TempPathFactory):
    """A served bundle of the text-aware transformer (small) or the default blend holding it,
    over Beauty's 500 most reviewed items."""
    from shoprec.bundle import write_bundle
    from shoprec.data.splits import full_train
    from shoprec.models.hybrid import Hybrid
    from shoprec.models.sasrec import SASRec

    sasrec = {**SMALL_SASREC, "text_cache": str(embedding_cache_dir)}
    model = (SASRec(**sasrec) if request.param == "sasrec"
             else Hybrid(component_params={"sasrec": sasrec})).fit(full_train(beauty_top500))
    folder = tmp_path_factory.mktemp(f"{request.param}-live")
    bundle = write_bundle(folder / "trained", beauty_top500, model)
    with serving_copy(bundle, folder) as live:
        yield live


def _fan_items(ds, word: str, n: int = 3) -> list[str]:
    """The ids of the first `n` catalogue items whose title says `word` (read from the data)."""
    rows = ds.items.filter(ds.items["title"].fill_null("").str.to_lowercase().str.contains(word))
    assert rows.height >= n, word
    return rows["item_id"].to_list()[:n]


def test_new_item_reaches_the_transformer_and_the_blend(text_live: LiveServer,
                                                        beauty_top500) -> None:
    """A shopper who bought three nail lacquers gets a new OPI lacquer in their top 10 (and not
    the new skillet in their top 100), a lash fan gets the new lashes; the new item is found by
    its exact title and has similar items, from its text. None of it before the POST."""
    live = text_live
    fans = {"lacquer-fan": _fan_items(beauty_top500, "nail lacquer"),
            "lash-fan": _fan_items(beauty_top500, "lash")}
    for user, bought in fans.items():
        r = live.client.post("/events", json=[{"user_id": user, "item_id": i,
                                               "event": "purchase"} for i in bought],
                             headers=token_of(live, user))
        assert r.status_code == 200 and r.json()["stored"] == 3, r.text

    def ranked(user: str, k: int) -> list[str]:
        body = live.client.get(f"/recommendations/{user}", params={"k": k}).json()
        assert body["strategy"] == "model", body
        return [i["item_id"] for i in body["items"]]

    title = NEW_ITEMS[0]["title"]

    def found() -> list[str]:
        r = live.client.get("/search", params={"q": title, "k": 3})
        return [i["item_id"] for i in r.json()["items"]]

    assert "opi-big-apple-red" not in ranked("lacquer-fan", 100)
    assert "opi-big-apple-red" not in found()
    assert live.client.get("/items/opi-big-apple-red/similar").status_code == 404
    r = live.client.post("/items", headers={"X-API-Key": API_KEY}, json={"items": NEW_ITEMS})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["recommendable"]) == sorted(i["item_id"] for i in NEW_ITEMS)
    assert r.json()["pending"] == []

    top10 = ranked("lacquer-fan", 10)
    assert "opi-big-apple-red" in top10 and "ardell-lashes-110" not in top10, top10
    assert "lodge-skillet-12" not in ranked("lacquer-fan", 100)
    top10 = ranked("lash-fan", 10)
    assert "ardell-lashes-110" in top10 and "opi-big-apple-red" not in top10, top10
    assert found()[0] == "opi-big-apple-red"
    similar = live.client.get("/items/opi-big-apple-red/similar", params={"k": 5}).json()
    titles = [i["title"].lower() for i in similar["items"]]
    assert len(titles) == 5 and sum("nail" in t for t in titles) >= 3, titles
    assert {i["reason"] for i in similar["items"]} == {"Described like this one"}
    assert "opi-big-apple-red" not in [i["item_id"] for i in similar["items"]]
    assert live.client.get("/health").json()["model_items"] == beauty_top500.n_items + 3

    # deleting a trained shopper rewrites the bundle and recomputes popularity: the new items stay
    gone = beauty_top500.user_map.ids[0]
    r = live.client.delete(f"/users/{gone}", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200 and r.json()["removed_from_model"], r.text
    assert "opi-big-apple-red" in ranked("lacquer-fan", 10)
    assert found()[0] == "opi-big-apple-red"
    assert live.client.get("/health").json()["model_items"] == beauty_top500.n_items + 3
