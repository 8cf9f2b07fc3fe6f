"""The JSON API over HTTP against a real uvicorn server, on SQLite and PostgreSQL stores."""

from __future__ import annotations

import numpy as np
import polars as pl

from tests.service.conftest import API_KEY, MODEL, LiveServer, token_of

KEY = {"X-API-Key": API_KEY}


def popular_order(live: LiveServer) -> list[str]:
    serving = live.ctx.serving
    return [serving.item_ids[i] for i in np.argsort(-serving.popularity, kind="stable")]


def clearly_popular(live: LiveServer) -> str:
    """The most popular item whose count no other item shares (so ties cannot hide it)."""
    pop = live.ctx.serving.popularity
    values, counts = np.unique(pop, return_counts=True)
    best = values[counts == 1].max()
    return live.ctx.serving.item_ids[int(np.flatnonzero(pop == best)[0])]


def test_health_reports_the_store_and_the_seeded_slice(live: LiveServer) -> None:
    body = live.client.get("/health").json()
    ds = live.ctx.serving.bundle.dataset
    assert body["status"] == "ok" and body["catalogue_items"] == ds.n_items
    assert body["store"] in ("sqlite", "postgresql")
    assert body["events"] >= ds.interactions.height


def test_known_shopper_gets_k_items_without_what_they_bought(live: LiveServer) -> None:
    ds = live.ctx.serving.bundle.dataset
    user = ds.user_map.ids[3]
    owned = set(ds.interactions.filter(pl.col("user_id") == user)["item_id"].to_list())
    params = {"k": 7, "explain": True}
    # reasons name the shopper's history: without their token (or the shop's key) they are refused
    assert live.client.get(f"/recommendations/{user}", params=params).status_code == 401
    body = live.client.get(f"/recommendations/{user}", params=params,
                           headers=token_of(live, user)).json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 7 and len(set(ids)) == 7 and not owned & set(ids)
    assert all(i["reason"] for i in body["items"]) and all(i["title"] for i in body["items"])


def test_unknown_shopper_gets_popular_items_not_an_error(live: LiveServer) -> None:
    r = live.client.get("/recommendations/never-seen-before", params={"k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["strategy"] == "popular"
    top5 = np.sort(live.ctx.serving.popularity)[::-1][:5]
    assert np.allclose([i["score"] for i in body["items"]], top5)


def test_a_purchase_changes_the_next_recommendations_at_once(live: LiveServer) -> None:
    user = "api-buyer-1"
    before = [i["item_id"] for i in live.client.get(f"/recommendations/{user}?k=5").json()["items"]]
    r = live.client.post("/events", json={"user_id": user, "item_id": before[0], "event": "purchase"},
                         headers=token_of(live, user))
    assert r.status_code == 200 and r.json() == {"stored": 1, "duplicates": 0, "attributed": 0}
    after = live.client.get(f"/recommendations/{user}?k=5&explain=true", headers=KEY).json()
    assert before[0] not in [i["item_id"] for i in after["items"]]
    assert live.ctx.store.count_events(user) == 1


def test_consumables_return_after_purchase_but_dismissed_items_do_not(live: LiveServer) -> None:
    """Each item sits alone in its own category, so the category filter shows exactly whether
    the service still considers it showable, whatever the model scores."""
    user, (refill, jar) = "api-buyer-2", popular_order(live)[30:32]
    live.client.post("/items", headers=KEY, json={"items": [
        {"item_id": refill, "title": "Daily shampoo", "category": "Refills", "consumable": True},
        {"item_id": jar, "title": "Glass jar", "category": "Jars"}]})

    def shown(category: str) -> list[str]:
        body = live.client.get(f"/recommendations/{user}?k=5&category={category}").json()
        return [i["item_id"] for i in body["items"]]

    assert shown("Refills") == [refill] and shown("Jars") == [jar]
    mine = token_of(live, user)
    live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                      for i in (refill, jar)], headers=mine)
    assert shown("Refills") == [refill] and shown("Jars") == []
    live.client.post("/events", json={"user_id": user, "item_id": refill, "event": "dismiss"},
                     headers=mine)
    assert shown("Refills") == []


def test_category_filter_and_exclusions(live: LiveServer) -> None:
    chosen = popular_order(live)[20:23]
    items = [{"item_id": i, "category": "Test Category"} for i in chosen]
    assert live.client.post("/items", headers=KEY, json={"items": items}).status_code == 200
    body = live.client.get("/recommendations/api-filter?k=10&category=test category").json()
    assert sorted(i["item_id"] for i in body["items"]) == sorted(chosen)
    assert all(i["category"] == "Test Category" for i in body["items"])
    top = popular_order(live)[:3]
    body = live.client.get(f"/recommendations/api-filter?k=3&exclude={top[0]},{top[1]}").json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 3 and top[0] not in ids and top[1] not in ids


def test_items_similar_and_unknown_items(live: LiveServer) -> None:
    item = popular_order(live)[0]
    assert live.client.get(f"/items/{item}").json()["item_id"] == item
    r = live.client.get("/items/no-such-item")
    assert r.status_code == 404 and "no-such-item" in r.json()["error"]
    similar = live.client.get(f"/items/{item}/similar?k=4").json()["items"]
    assert 0 < len(similar) <= 4 and item not in [s["item_id"] for s in similar]
    scores = [s["score"] for s in similar]
    assert scores == sorted(scores, reverse=True)


def test_new_item_is_stored_and_pending_until_retrain(live: LiveServer) -> None:
    item = {"item_id": "new-serum-1", "title": "Vitamin C serum", "price": 19.5, "brand": "Acme",
            "attributes": {"size": "30 ml"}}
    r = live.client.post("/items", headers=KEY, json=item)
    assert r.status_code == 200 and r.json()["pending"] == ["new-serum-1"]
    assert live.client.get("/items/new-serum-1").json()["price"] == 19.5
    assert live.ctx.store.get_item("new-serum-1").attributes == {"size": "30 ml"}


def test_profile_export_and_deletion(live: LiveServer) -> None:
    user, item = "api-private-1", popular_order(live)[5]
    mine = token_of(live, user)
    live.client.post("/events", headers=mine, json={"events": [
        {"user_id": user, "item_id": item, "event": "view"},
        {"user_id": user, "item_id": item, "event": "rating", "value": 4.5}]})
    for path in (f"/users/{user}/profile", f"/users/{user}/export"):  # not without a credential
        assert live.client.get(path).status_code == 401
        assert live.client.get(path, headers=token_of(live, "someone-else")).status_code == 401
    profile = live.client.get(f"/users/{user}/profile", headers=mine).json()
    assert profile["known"] and profile["by_event"] == {"view": 1, "rating": 1}
    export = live.client.get(f"/users/{user}/export", headers=mine).json()
    assert [e["event"] for e in export["events"]] == ["view", "rating"]
    assert export["events"][1]["value"] == 4.5
    assert live.client.delete(f"/users/{user}").status_code == 401
    r = live.client.delete(f"/users/{user}", headers=KEY)
    assert r.status_code == 200 and r.json()["deleted_events"] == 2
    assert live.client.get(f"/users/{user}/export", headers=KEY).json()["events"] == []
    assert live.client.get(f"/recommendations/{user}").json()["strategy"] == "popular"
    # the deleted shopper's token ended with them; a token issued now is a new one
    for path in (f"/users/{user}/profile", f"/users/{user}/export"):
        assert live.client.get(path, headers=mine).status_code == 401
    again = token_of(live, user)
    assert again != mine
    assert live.client.get(f"/users/{user}/profile", headers=again).json()["known"] is False


def test_write_endpoints_need_the_key(live: LiveServer) -> None:
    r = live.client.post("/items", json={"item_id": "x1"})
    assert r.status_code == 401 and "API key" in r.json()["error"]
    r = live.client.post("/items", json={"item_id": "x1"}, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    assert live.client.post("/admin/retrain").status_code == 401
    assert live.ctx.store.get_item("x1") is None


def test_metrics_and_openapi(live: LiveServer) -> None:
    live.client.get("/recommendations/metrics-user")
    text = live.client.get("/metrics").text
    assert 'shoprec_recommendations_total{strategy="popular"}' in text
    assert 'route="/recommendations/{user_id}"' in text
    paths = live.client.get("/openapi.json").json()["paths"]
    assert {"/recommendations/{user_id}", "/events", "/items", "/users/{user_id}"} <= set(paths)


def test_the_model_ranks_from_the_history_just_stored(live: LiveServer) -> None:
    """Two events over HTTP, then the answer equals the model's own top-k for exactly that
    history, each event at its weight (hidden: the bought item; the viewed one stays
    eligible)."""
    from shoprec.data.types import History
    from shoprec.models.ranking import top_k

    serving = live.ctx.serving
    assert serving.bundle.model.name == MODEL == "itemknn"  # the fixture serves a history model
    bought, viewed = popular_order(live)[40], popular_order(live)[41]
    user = "api-fresh-1"
    live.client.post("/events", headers=token_of(live, user), json=[
        {"user_id": user, "item_id": bought, "event": "purchase", "timestamp": 1_500_000_000},
        {"user_id": user, "item_id": viewed, "event": "view", "timestamp": 1_500_000_100}])
    body = live.client.get(f"/recommendations/{user}?k=8").json()
    assert body["strategy"] == "model"
    idx = [serving.item_index[bought], serving.item_index[viewed]]
    weights = serving.bundle.dataset.event_weights
    assert weights["purchase"] > weights["view"]  # a purchase says more than a look
    history = History(np.asarray(idx), np.asarray([weights["purchase"], weights["view"]],
                                                  np.float32),
                      np.asarray([1_500_000_000, 1_500_000_100]))
    scores = serving.bundle.model.score([history])
    _, best = top_k(scores, 8, excluded=[idx[0]])
    got = [serving.item_index[i["item_id"]] for i in body["items"]]
    # the same top-8 up to the service's popularity tie-break (1e-4 of the score scale)
    slack = 1e-4 * float(np.abs(scores[np.isfinite(scores)]).max())
    assert len(got) == 8 and idx[0] not in got
    assert np.all(scores[0, got] >= best[0, -1] - slack)
    # every item shown is a neighbour of that history, so the answer is not the popular list
    assert np.all(scores[0, got] > 0)
    popular = [i for i in popular_order(live) if i != bought][:8]
    assert [i["item_id"] for i in body["items"]] != popular
