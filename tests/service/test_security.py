"""Attacks that used to work (issue 14), each answered now with one clear 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import API_KEY, LiveServer, serving_copy, token_of

KEY = {"X-API-Key": API_KEY}


def item_of(live: LiveServer, n: int = 0) -> str:
    return live.ctx.serving.item_ids[n]


@pytest.fixture
def private_server(slice_bundle: Path, tmp_path: Path, request: pytest.FixtureRequest,
                   server_mode: str) -> Iterator[LiveServer]:
    """A server of the test's own (SQLite), with settings from `@pytest.mark.settings(...)`."""
    marker = request.node.get_closest_marker("settings")
    with serving_copy(slice_bundle, tmp_path, server_mode, **(marker.kwargs if marker else {})
                      ) as live:
        yield live


def test_deeply_nested_json_is_refused_not_a_crash(live: LiveServer) -> None:
    body = b'{"user_id": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    for path, headers in (("/events", {}), ("/items", KEY)):
        r = live.client.post(path, content=body, headers={"Content-Type": "application/json"} | headers)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"] == "JSON nested 1001 levels deep; at most 8 accepted"


@pytest.mark.parametrize("path", ["/recommendations/%00", "/recommendations/a%00b",
                                  "/users/%00/profile", "/users/%00/export", "/items/%00",
                                  "/items/%00/similar", "/search?q=x&user_id=%00",
                                  "/shop/items/%00"])
def test_a_nul_byte_in_an_id_is_refused_on_every_read(live: LiveServer, path: str) -> None:
    r = live.client.get(path, headers=KEY)
    assert r.status_code == 422, r.text
    assert "should match pattern" in r.json()["error"]


def test_keys_non_ascii_bare_and_bearer(live: LiveServer) -> None:
    body = {"item_id": "sec-key-1"}
    r = live.client.post("/items", json=body, headers={"X-API-Key": "ключ-€".encode()})
    assert r.status_code == 401 and "wrong API key" in r.json()["error"]
    r = live.client.post("/items", json=body, headers={"Authorization": API_KEY})  # bare key
    assert r.status_code == 401
    r = live.client.post("/items", json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200


@pytest.mark.settings(auth_failures_allowed=5, auth_failure_window_s=2.0)
def test_wrong_keys_are_braked_but_the_right_key_never_is(private_server: LiveServer) -> None:
    live = private_server
    codes = [live.client.post("/items", json={"item_id": "g1"}, headers={"X-API-Key": f"guess-{n}"}
                              ).status_code for n in range(8)]
    assert codes == [401] * 5 + [429] * 3
    r = live.client.get("/users/u1/profile", headers={"X-Shopper-Token": "guess"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # the right key and a right token are never refused: one address may be a whole office
    # behind a proxy, and neither can be guessed in any number of tries
    assert live.client.post("/items", json={"item_id": "g1"}, headers=KEY).status_code == 200
    mine = token_of(live, "u1")
    assert live.client.get("/users/u1/profile", headers=mine).status_code == 200
    r = live.client.post("/items", json={"item_id": "g1"}, headers={"X-API-Key": "guess-9"})
    assert r.status_code == 429  # while the wrong ones still are, until the window passed
    import time

    time.sleep(2.1)
    r = live.client.post("/items", json={"item_id": "g1"}, headers={"X-API-Key": "guess-10"})
    assert r.status_code == 401


def test_pages_send_security_headers(live: LiveServer) -> None:
    for path in ("/", f"/shop/items/{item_of(live)}", "/recommendations/u1", "/docs"):
        r = live.client.get(path)
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        if path != "/docs":
            assert "'unsafe-inline'" not in policy and "default-src 'self'" in policy, path


def test_nan_and_infinity_are_refused(live: LiveServer) -> None:
    r = live.client.post("/items", content=b'{"item_id": "nan-1", "attributes": {"w": NaN}}',
                         headers={"Content-Type": "application/json"} | KEY)
    assert r.status_code == 400 and "NaN is not a JSON number" in r.json()["error"]
    r = live.client.post("/items", content=b'{"item_id": "nan-1", "price": Infinity}',
                         headers={"Content-Type": "application/json"} | KEY)
    assert r.status_code == 400 and "Infinity" in r.json()["error"]
    r = live.client.post("/items", content=b'{"item_id": "nan-1", "attributes": {"w": 1e400}}',
                         headers={"Content-Type": "application/json"} | KEY)
    assert r.status_code == 400 and "1e400 is out of the range" in r.json()["error"]
    assert live.client.get("/items/nan-1").status_code == 404
    r = live.client.get("/search", params={"q": "cream", "max_price": "nan"})
    assert r.status_code == 422


def test_a_retried_batch_is_stored_once(live: LiveServer) -> None:
    batch = {"events": [{"user_id": "idem-1", "item_id": item_of(live, n), "event": "view",
                         "event_id": f"idem-1-{n}"} for n in range(3)]}
    mine = token_of(live, "idem-1")
    first = live.client.post("/events", json=batch, headers=mine)
    assert first.status_code == 200 and first.json() == {"stored": 3, "duplicates": 0, "attributed": 0}
    again = live.client.post("/events", json=batch, headers=mine)
    assert again.json() == {"stored": 0, "duplicates": 3, "attributed": 0}
    batch["events"].append({"user_id": "idem-1", "item_id": item_of(live, 5), "event": "cart",
                            "event_id": "idem-1-new"})
    assert live.client.post("/events", json=batch, headers=mine).json() == {
        "stored": 1, "duplicates": 3, "attributed": 0}
    assert live.ctx.store.count_events("idem-1") == 4
    other = {"user_id": "idem-2", "item_id": item_of(live), "event": "view", "event_id": "idem-1-0"}
    assert live.client.post("/events", json=other, headers=token_of(live, "idem-2")).json() == {
        "stored": 1, "duplicates": 0, "attributed": 0}
    export = live.client.get("/users/idem-1/export", headers=KEY).json()
    assert sorted(e["event_id"] for e in export["events"]) == [
        "idem-1-0", "idem-1-1", "idem-1-2", "idem-1-new"]


def test_invented_methods_do_not_grow_the_metrics(live: LiveServer) -> None:
    """Invented methods are refused by the HTTP parser (httptools: 400) or reach the app and are
    counted as "other" (405); either way no label is made per method."""
    statuses = {live.client.request(f"M{n}X", "/health").status_code for n in range(50)}
    text = live.client.get("/metrics").text
    assert statuses <= {400, 405} and "M7X" not in text
    if 405 in statuses:
        assert 'method="other"' in text


def test_chunked_body_over_the_limit_is_cut_off(live: LiveServer) -> None:
    """100 MB sent chunked (no Content-Length): 413, and the server never holds the body (the
    process's peak memory does not grow by anything like its size)."""
    import resource

    def chunks() -> Iterator[bytes]:
        block = b" " * 65536
        for _ in range(1600):
            yield block

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        r = live.client.post("/events", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "over the limit of 1000000 bytes" in r.json()["error"]
    except httpx.TransportError:  # or the server closed the connection before we finished
        pass
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    assert grown_mb < 50, f"peak memory grew {grown_mb:.0f} MB for a refused 100 MB body"
    assert live.client.get("/health").status_code == 200


@pytest.mark.settings(export_page_events=40, max_history_events=25)
def test_one_shoppers_history_is_capped_in_reads_and_paged_in_export(private_server) -> None:
    live = private_server
    events = [{"user_id": "heavy-1", "item_id": item_of(live, n % 30), "event": "view",
               "timestamp": 1_600_000_000 + n} for n in range(100)]
    assert live.client.post("/events", json={"events": events},
                            headers=token_of(live, "heavy-1")).json()["stored"] == 100
    used = live.ctx.store.user_events("heavy-1", limit=live.ctx.settings.max_history_events)
    assert [e.timestamp for e in used] == list(range(1_600_000_075, 1_600_000_100))
    profile = live.client.get("/users/heavy-1/profile", headers=token_of(live, "heavy-1")).json()
    assert profile["events"] == 25
    pages, cursor = [], 0
    while cursor is not None:
        body = live.client.get(f"/users/heavy-1/export?cursor={cursor}", headers=KEY).json()
        pages.append(body)
        cursor = body["next_cursor"]
    assert [len(p["events"]) for p in pages] == [40, 40, 20]
    huge = live.client.get(f"/users/heavy-1/export?cursor={2**70}", headers=KEY)  # found by fuzzing
    assert huge.status_code == 422 and huge.json()["error"].startswith("query.cursor:")
    assert pages[0]["profile"] is not None and pages[1]["profile"] is None
    stamps = [e["timestamp"] for p in pages for e in p["events"]]
    assert stamps == list(range(1_600_000_000, 1_600_000_100))


def test_the_page_lists_no_shopper_unless_it_is_a_demo(live: LiveServer) -> None:
    first = live.ctx.serving.bundle.dataset.user_map.ids[0]
    page = live.client.get("/").text
    assert f'value="{first}"' not in page and "data-token" not in page
    visitor = live.client.post("/visitors").json()
    assert visitor["user_id"].startswith("visitor-") and visitor["token"]
    mine = {"X-Shopper-Token": visitor["token"]}
    assert live.client.get(f"/users/{visitor['user_id']}/profile", headers=mine).status_code == 200
    assert live.client.get(f"/users/{first}/profile", headers=mine).status_code == 401
    assert live.client.post(f"/users/{first}/token").status_code == 401
    issued = live.client.post(f"/users/{first}/token", headers=KEY).json()["token"]
    assert live.client.get(f"/users/{first}/profile",
                           headers={"X-Shopper-Token": issued}).json()["known"]


@pytest.mark.settings(demo_shoppers=3)
def test_the_demo_page_offers_shoppers_with_their_tokens(private_server: LiveServer) -> None:
    live = private_server
    ids = live.ctx.serving.bundle.dataset.user_map.ids[:3]
    page = live.client.get("/").text
    for user in ids:
        token = token_of(live, user)["X-Shopper-Token"]  # the same token the shop would issue
        assert f'value="{user}" data-token="{token}"' in page


def test_openapi_has_no_dangling_refs_and_documents_errors(live: LiveServer) -> None:
    doc = live.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def refs(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    found = set(refs(doc))
    assert {"#/components/schemas/EventIn", "#/components/schemas/ItemIn"} <= found
    for ref in found:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    paths = doc["paths"]
    assert {"401", "413", "422", "400"} <= set(paths["/items"]["post"]["responses"])
    assert {"404"} <= set(paths["/items/{item_id}"]["get"]["responses"])
    err = paths["/events"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert err == {"$ref": "#/components/schemas/ErrorOut"}
    assert set(schemas["ErrorOut"]["properties"]) == {"error", "details"}
    k = next(p for p in paths["/recommendations/{user_id}"]["get"]["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == live.ctx.settings.max_k
