"""Bad input over HTTP: one clear 4xx each, nothing stored half-way, the server still serving."""

from __future__ import annotations

import json
import time

import pytest

from tests.service.conftest import API_KEY, LiveServer

KEY = {"X-API-Key": API_KEY}


def item_of(live: LiveServer, n: int = 0) -> str:
    return live.ctx.serving.item_ids[n]


@pytest.fixture
def unchanged(live: LiveServer):
    """Assert that the test stores no event and that the server still answers afterwards."""
    before = live.ctx.store.count_events()
    yield
    assert live.ctx.store.count_events() == before
    assert live.client.get("/health").status_code == 200
    assert live.client.get("/recommendations/robust-after?k=3").status_code == 200


def post_events(live: LiveServer, payload: object):
    """Events sent with the shop's key: these tests are about what the body says."""
    return live.client.post("/events", json=payload, headers=KEY)


def post_raw(live: LiveServer, body: bytes):
    return live.client.post("/events", content=body,
                            headers={"Content-Type": "application/json"} | KEY)


@pytest.mark.usefixtures("unchanged")
class TestRejected:
    def test_malformed_json(self, live: LiveServer) -> None:
        r = post_raw(live, b'{"user_id": "u1", "item_id": ')
        assert r.status_code == 400 and r.json()["error"].startswith("malformed JSON")

    def test_not_an_object(self, live: LiveServer) -> None:
        r = post_raw(live, b'"purchase"')
        assert r.status_code == 422 and "expected a JSON object" in r.json()["error"]

    def test_unknown_event_type(self, live: LiveServer) -> None:
        r = post_events(live, {"user_id": "r1", "item_id": item_of(live),
                              "event": "like"})
        assert r.status_code == 422
        assert r.json()["error"].startswith("event: Input should be 'view'")

    def test_unknown_field(self, live: LiveServer) -> None:
        r = post_events(live, {"user_id": "r1", "item_id": item_of(live),
                              "event": "view", "colour": "red"})
        assert r.status_code == 422 and "colour" in r.json()["error"]

    def test_rating_needs_a_value_and_others_refuse_one(self, live: LiveServer) -> None:
        r = post_events(live, {"user_id": "r1", "item_id": item_of(live),
                              "event": "rating"})
        assert r.status_code == 422 and "rating needs a value" in r.json()["error"]
        r = post_events(live, {"user_id": "r1", "item_id": item_of(live),
                              "event": "view", "value": 3})
        assert r.status_code == 422 and "only allowed for rating" in r.json()["error"]

    def test_unknown_item_in_a_batch_rejects_the_whole_batch(self, live: LiveServer) -> None:
        events = [{"user_id": "r2", "item_id": item_of(live), "event": "view"},
                  {"user_id": "r2", "item_id": "does-not-exist", "event": "purchase"}]
        r = post_events(live, {"events": events})
        assert r.status_code == 422
        assert r.json()["error"] == ("events.1.item_id: unknown item 'does-not-exist'; "
                                     "add it with POST /items first")

    def test_invalid_event_late_in_a_batch_stores_nothing(self, live: LiveServer) -> None:
        events = [{"user_id": "r3", "item_id": item_of(live), "event": "view"}] * 50
        events = [*events, {"user_id": "r3", "item_id": item_of(live), "event": "explode"}]
        r = post_events(live, events)
        assert r.status_code == 422 and r.json()["error"].startswith("events.50.event")

    def test_oversized_batch(self, live: LiveServer) -> None:
        limit = live.ctx.settings.max_batch_events
        events = [{"user_id": "r4", "item_id": item_of(live), "event": "view"}] * (limit + 1)
        r = post_events(live, {"events": events})
        assert r.status_code == 413
        assert r.json()["error"] == (f"batch of {limit + 1} events is over the limit of "
                                     f"{limit} per request; split it")

    def test_oversized_body(self, live: LiveServer) -> None:
        body = json.dumps({"user_id": "r5", "item_id": item_of(live), "event": "view",
                           "pad": "x" * (live.ctx.settings.max_body_bytes + 1)}).encode()
        r = post_raw(live, body)
        assert r.status_code == 413 and "over the limit" in r.json()["error"]

    @pytest.mark.parametrize("user_id", ["1' OR '1'='1", "x; DROP TABLE events;--",
                                         "<script>alert(1)</script>", "", "a" * 200])
    def test_sql_or_markup_in_ids(self, live: LiveServer, user_id: str) -> None:
        r = post_events(live, {"user_id": user_id, "item_id": item_of(live),
                              "event": "view"})
        assert r.status_code == 422 and r.json()["error"].startswith("user_id:")

    @pytest.mark.parametrize(("field", "value", "said"), [
        ("timestamp", False, "timestamp: Input should be a valid integer"),
        ("timestamp", "1500000000", "timestamp: Input should be a valid integer"),
        ("timestamp", 1.5e9, "timestamp: Input should be a valid integer"),
        ("value", True, "value: Input should be a valid number"),
        ("value", "4", "value: Input should be a valid number"),
        ("position", True, "position: Input should be a valid integer")])
    def test_types_are_strict(self, live: LiveServer, field: str, value: object, said: str
                              ) -> None:
        """A boolean is not a timestamp nor a rating: `false` used to be stored as 0."""
        event = {"user_id": "r7", "item_id": item_of(live), "event": "rating", "value": 4.0,
                 "request_id": "r7-list"} | {field: value}
        r = post_events(live, event)
        assert r.status_code == 422 and r.json()["error"].startswith(said), r.text

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                              "multipart/form-data; boundary=x", None])
    def test_events_are_json_only(self, live: LiveServer, content_type: str | None) -> None:
        """What a cross-site form can send without asking the browser first is refused."""
        body = json.dumps({"user_id": "r8", "item_id": item_of(live), "event": "view"})
        headers = KEY | ({"Content-Type": content_type} if content_type else {})
        r = live.client.post("/events", content=body.encode(), headers=headers)
        assert r.status_code == 415, r.text
        assert r.json()["error"].startswith("POST /events takes a JSON body sent as "
                                            "Content-Type: application/json")

    def test_future_timestamp(self, live: LiveServer) -> None:
        r = post_events(live, {"user_id": "r6", "item_id": item_of(live),
                              "event": "view", "timestamp": 99_999_999_999})
        assert r.status_code == 422 and "future" in r.json()["error"]


def test_markup_in_item_text_is_refused_and_nothing_is_stored(live: LiveServer) -> None:
    items = [{"item_id": "safe-1", "title": "Plain lotion"},
             {"item_id": "evil-1", "title": "<img src=x onerror=alert(1)>Lotion"}]
    r = live.client.post("/items", headers=KEY, json={"items": items})
    assert r.status_code == 422
    assert r.json()["error"] == "items.1.title: must be plain text; HTML markup is not accepted"
    assert live.ctx.store.get_item("safe-1") is None and "safe-1" not in live.ctx.catalogue


def test_sql_in_item_text_is_just_text(live: LiveServer) -> None:
    title = "Robert'); DROP TABLE items;-- & \"friends\""
    r = live.client.post("/items", headers=KEY, json={"item_id": "sqlish-1", "title": title})
    assert r.status_code == 200
    assert live.client.get("/items/sqlish-1").json()["title"] == title
    page = live.client.get("/shop/items/sqlish-1").text
    assert "Robert&#39;); DROP TABLE items;-- &amp; &#34;friends&#34;" in page
    assert live.client.get("/health").json()["catalogue_items"] >= 1


def test_untrusted_catalogue_markup_is_escaped_on_the_page(live: LiveServer) -> None:
    """Seeded catalogues bypass the API's checks: the page must still never render their text
    as markup."""
    from shoprec.store import ItemRecord

    record = ItemRecord("seeded-evil", "<script>alert('x')</script>Cream", category="<b>Skin</b>")
    live.ctx.store.upsert_items([record])  # every serving process reads it from the store
    deadline = time.monotonic() + 10
    while (r := live.client.get("/shop/items/seeded-evil")).status_code == 404:
        assert time.monotonic() < deadline, "the server never read the item from the store"
        time.sleep(0.1)
    page = r.text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;Cream" in page
    assert "&lt;b&gt;Skin&lt;/b&gt;" in page


def test_bad_query_parameters(live: LiveServer) -> None:
    r = live.client.get("/recommendations/u1?k=0")
    assert r.status_code == 422 and r.json()["error"].startswith("query.k:")
    r = live.client.get("/recommendations/u1?k=500")  # over the schema's bound
    assert r.status_code == 422 and "less than or equal to 100" in r.json()["error"]
