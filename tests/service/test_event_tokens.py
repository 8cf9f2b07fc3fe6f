"""Events from browsers (issue 24): a shopper's events need that shopper's token or the shop's
key, a batch naming several shoppers the key; a deleted shopper's token stops working, for
reads and events alike. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.service.conftest import API_KEY, LiveServer, token_of

KEY = {"X-API-Key": API_KEY}


def view(live: LiveServer, user: str, n: int = 0) -> dict:
    item = live.client.get("/recommendations/x?k=5").json()["items"][n]["item_id"]
    return {"user_id": user, "item_id": item, "event": "view"}


def stored(live: LiveServer, user: str) -> int:
    return len(live.client.get(f"/users/{user}/export", headers=KEY).json()["events"])


def test_a_shoppers_events_need_their_token_or_the_key(live: LiveServer) -> None:
    r = live.client.post("/events", json=view(live, "evt-1"))
    assert r.status_code == 401 and r.json()["error"] == (
        "storing events of shopper 'evt-1' needs their token (X-Shopper-Token) or the shop's "
        "API key")
    assert live.client.post("/events", json=view(live, "evt-1"),
                            headers=token_of(live, "evt-2")).status_code == 401
    mine = token_of(live, "evt-1")
    assert live.client.post("/events", json=view(live, "evt-1"), headers=mine).status_code == 200
    assert live.client.post("/events", json=view(live, "evt-1", 1), headers=KEY).status_code == 200
    assert stored(live, "evt-1") == 2 and stored(live, "evt-2") == 0


def test_a_batch_of_several_shoppers_needs_the_key(live: LiveServer) -> None:
    batch = {"events": [view(live, "evt-3"), view(live, "evt-4")]}
    r = live.client.post("/events", json=batch, headers=token_of(live, "evt-3"))
    assert r.status_code == 401 and r.json()["error"] == (
        "a batch naming 2 shoppers needs the shop's API key (a shopper's token covers only "
        "their own events)")
    assert stored(live, "evt-3") == 0  # all or nothing: not even the token holder's event
    assert live.client.post("/events", json=batch, headers=KEY).json()["stored"] == 2


def test_a_visitor_sends_their_own_events(live: LiveServer) -> None:
    visitor = live.client.post("/visitors").json()
    mine = {"X-Shopper-Token": visitor["token"]}
    r = live.client.post("/events", json=view(live, visitor["user_id"]), headers=mine)
    assert r.status_code == 200 and r.json()["stored"] == 1
    assert live.client.post("/events", json=view(live, "evt-5"), headers=mine).status_code == 401


def test_a_deleted_shoppers_token_stops_working(live: LiveServer) -> None:
    user = "evt-gone-1"
    old = token_of(live, user)
    assert token_of(live, user) == old  # issued again: the same token while the shopper lives
    assert live.client.post("/events", json=view(live, user), headers=old).status_code == 200
    assert live.client.delete(f"/users/{user}", headers=KEY).json()["deleted_events"] == 1
    assert live.client.post("/events", json=view(live, user), headers=old).status_code == 401
    assert live.client.get(f"/users/{user}/profile", headers=old).status_code == 401
    assert stored(live, user) == 0
    new = token_of(live, user)
    assert new != old
    assert live.client.post("/events", json=view(live, user), headers=new).status_code == 200
    assert live.client.get(f"/users/{user}/profile", headers=new).json()["events"] == 1


def test_a_cross_site_form_post_is_refused_before_anything_else(live: LiveServer) -> None:
    """What a form on another site can send (no custom headers, a simple content type)."""
    r = live.client.post("/events", content=b'{"user_id": "evt-6", "item_id": "x", '
                                            b'"event": "purchase"}',
                         headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 415 and "not 'text/plain'" in r.json()["error"]
    r = live.client.post("/events", data={"user_id": "evt-6", "item_id": "x", "event": "view"})
    assert r.status_code == 415 and "'application/x-www-form-urlencoded'" in r.json()["error"]
    assert stored(live, "evt-6") == 0
