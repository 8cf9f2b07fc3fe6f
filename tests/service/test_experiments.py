"""Experiments over HTTP against a real server (SQLite and PostgreSQL): start one, responses name
their variant, exposures are stored, events with a request id are attributed, the readout
counts them, ads and item types, and promotion makes the winner serve."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shoprec.store.experiment_tables import assignment_counts, count_exposures, experiment_exposures
from tests.service.conftest import API_KEY, LiveServer, serving_copy, write_slice_bundle

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def popular_bundle(beauty_slice, tmp_path_factory) -> Path:
    """The challenger: the popularity baseline over the same slice (fits in a second)."""
    return write_slice_bundle(beauty_slice, tmp_path_factory.mktemp("popular") / "bundle",
                              "popular")


def shoppers(live: LiveServer, n: int) -> list[str]:
    return [str(u) for u in live.ctx.serving.bundle.dataset.user_map.ids[:n]]


def wait_for_exposures(live: LiveServer, n: int) -> None:
    deadline = time.monotonic() + 10
    while count_exposures(live.ctx.store.engine) < n and time.monotonic() < deadline:
        time.sleep(0.1)


def test_experiment_endpoints_need_the_key(live: LiveServer) -> None:
    assert live.client.get("/admin/experiments").status_code == 401
    assert live.client.get("/admin/overview").status_code == 401
    r = live.client.post("/admin/experiments", json={"variants": [{"name": "a"}, {"name": "b"}]})
    assert r.status_code == 401
    assert live.client.post("/admin/experiments/x/stop").status_code == 401


def test_bad_experiments_get_one_clear_message(live: LiveServer, tmp_path: Path) -> None:
    one = live.client.post("/admin/experiments", headers=KEY, json={"variants": [{"name": "a"}]})
    assert one.status_code == 422
    missing = live.client.post("/admin/experiments", headers=KEY, json={"variants": [
        {"name": "a"}, {"name": "b", "bundle": str(tmp_path / "nothing")}]})
    assert missing.status_code == 422 and "not a bundle" in missing.json()["error"]
    same = live.client.post("/admin/experiments", headers=KEY, json={"variants": [
        {"name": "a"}, {"name": "a"}]})
    assert same.status_code == 422 and "differ" in same.json()["error"]


def test_variants_are_served_side_by_side_and_attributed(live: LiveServer,
                                                         popular_bundle: Path) -> None:
    r = live.client.post("/admin/experiments", headers=KEY, json={
        "name": "knn vs popular", "variants": [{"name": "control"},
                                               {"name": "popular", "bundle": str(popular_bundle)}]})
    assert r.status_code == 201, r.text
    exp = r.json()
    again = live.client.post("/admin/experiments", headers=KEY, json={
        "variants": [{"name": "a"}, {"name": "b"}]})
    assert again.status_code == 409 and exp["id"] in again.json()["error"]
    retrain = live.client.post("/admin/retrain", headers=KEY)  # it would change the control
    assert retrain.status_code == 409 and exp["id"] in retrain.json()["error"]

    before = count_exposures(live.ctx.store.engine)
    seen: dict[str, dict] = {}
    for user in shoppers(live, 60):
        body = live.client.get(f"/recommendations/{user}?k=5").json()
        assert body["experiment"] == exp["id"] and body["variant"] in ("control", "popular")
        assert len(body["request_id"]) == 32
        seen[user] = body
    variants = {b["variant"] for b in seen.values()}
    assert variants == {"control", "popular"}
    for user, body in list(seen.items())[:10]:  # sticky: the same shopper, the same variant
        assert live.client.get(f"/recommendations/{user}?k=5").json()["variant"] == body["variant"]
    by_variant = {b["variant"]: b["model"] for b in seen.values()}
    assert by_variant["popular"].startswith("popular@") and not by_variant["control"].startswith(
        "popular@")

    clicked = [(u, b) for u, b in seen.items() if b["items"]][:6]
    events = [{"user_id": u, "item_id": b["items"][1]["item_id"], "event": "click",
               "request_id": b["request_id"]} for u, b in clicked]
    events.append({"user_id": clicked[0][0], "item_id": clicked[0][1]["items"][1]["item_id"],
                   "event": "purchase", "request_id": clicked[0][1]["request_id"], "position": 2})
    ack = live.client.post("/events", json={"events": events}, headers=KEY)
    assert ack.status_code == 200 and ack.json()["attributed"] == 7

    wait_for_exposures(live, before + 70)
    readout = live.client.get(f"/admin/experiments/{exp['id']}", headers=KEY).json()
    got = {v["name"]: v for v in readout["variants"]}
    assert sum(v["exposures"] for v in got.values()) >= 70
    expected_clicks = {"control": 0, "popular": 0}
    for _, b in clicked:
        expected_clicks[b["variant"]] += 1
    for name, v in got.items():
        assert v["ctr"]["successes"] == expected_clicks[name]
        assert v["ctr"]["low"] <= v["ctr"]["rate"] <= v["ctr"]["high"]
        assert v["clicked_positions"][:2] == ([0, expected_clicks[name]]
                                              if expected_clicks[name] else [])
    assert got[clicked[0][1]["variant"]]["conversion"]["successes"] == 1
    assert 0 <= readout["srm"]["p_value"] <= 1
    assert readout["stopping"]["decision"] == "continue"
    assert sum(readout["srm"]["shoppers"].values()) == 60
    assert assignment_counts(live.ctx.store.engine, exp["id"]) == readout["srm"]["shoppers"]
    rows = experiment_exposures(live.ctx.store.engine, exp["id"])
    assert {r.surface for r in rows} == {"feed"} and all(r.status == 200 for r in rows)
    listed = live.client.get("/admin/experiments", headers=KEY).json()
    assert listed["running"]["experiment"]["id"] == exp["id"]
    assert live.client.get("/admin/experiments/nope", headers=KEY).status_code == 404


def test_ads_are_a_type_and_a_surface_of_their_own(live: LiveServer) -> None:
    ads = live.ctx.serving.item_ids[-5:]  # not in the first shoppers' histories
    before = count_exposures(live.ctx.store.engine)
    r = live.client.post("/items", headers=KEY, json={"items": [
        {"item_id": i, "title": f"Sponsored {i}", "type": "ad"} for i in ads]})
    assert r.status_code == 200, r.text
    user = shoppers(live, 1)[0]
    body = live.client.get(f"/recommendations/{user}?k=5&type=ad").json()
    assert body["items"] and all(i["item_id"] in ads and i["type"] == "ad" for i in body["items"])
    feed = live.client.get(f"/recommendations/{user}?k=5&type=product").json()
    assert not {i["item_id"] for i in feed["items"]} & set(ads)
    assert live.client.get(f"/recommendations/{user}?type=coupon").status_code == 422
    live.ctx.exposures.flush()  # in process; a worker writes its own within exposure_flush_s
    wait_for_exposures(live, before + 2)
    last = experiment_exposures(live.ctx.store.engine, None)[-2:]
    assert [(e.surface, e.item_type) for e in last] == [("ad", "ad"), ("feed", "product")]


def test_deleting_a_shopper_removes_what_they_were_shown(live: LiveServer) -> None:
    import sqlalchemy as sa

    from shoprec.store.schema import assignments, exposures, outcomes

    user = "exp-delete-me"
    body = live.client.get(f"/recommendations/{user}?k=3").json()
    live.client.post("/events", json={"user_id": user, "item_id": body["items"][0]["item_id"],
                                      "event": "click", "request_id": body["request_id"]},
                     headers=KEY)
    live.client.get(f"/recommendations/{user}?k=3")  # queued, not yet written
    assert live.client.delete(f"/users/{user}", headers=KEY).status_code == 200
    live.ctx.exposures.flush()
    with live.ctx.store.engine.connect() as conn:
        for table in (exposures, assignments, outcomes):
            rows = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.user_id == user)).scalar()
            assert rows == 0, table.name


def test_promote_makes_the_winner_serve(live: LiveServer) -> None:
    running = live.client.get("/admin/experiments", headers=KEY).json()["running"]
    exp_id = running["experiment"]["id"]
    no_winner = live.client.post(f"/admin/experiments/{exp_id}/promote", headers=KEY)
    assert no_winner.status_code == 409 and "no winner" in no_winner.json()["error"]
    bad = live.client.post(f"/admin/experiments/{exp_id}/promote", headers=KEY,
                           json={"variant": "nope"})
    assert bad.status_code == 422
    r = live.client.post(f"/admin/experiments/{exp_id}/promote", headers=KEY,
                         json={"variant": "popular"})
    assert r.status_code == 200, r.text
    assert r.json()["generation"] >= 1 and r.json()["experiment"]["state"] == "promoted"
    body = live.client.get(f"/recommendations/{shoppers(live, 1)[0]}").json()
    assert body["variant"] is None and body["model"].startswith("popular@")
    listed = live.client.get("/admin/experiments", headers=KEY).json()
    assert listed["running"] is None and listed["finished"][0]["winner"] == "popular"
    over = live.client.get("/admin/overview", headers=KEY).json()
    assert [g["generation"] for g in over["generations"] if g["serving"]] == [
        r.json()["generation"]]
    assert sum(p["requests"] for p in over["traffic"]) >= 70


def test_logging_off_stores_no_exposures(slice_bundle: Path, tmp_path: Path) -> None:
    with serving_copy(slice_bundle, tmp_path, exposure_logging=False) as live:
        body = live.client.get(f"/recommendations/{shoppers(live, 1)[0]}").json()
        assert body["request_id"] and body["variant"] is None
        live.ctx.exposures.flush()
        assert count_exposures(live.ctx.store.engine) == 0


def test_variant_bundles_are_reloaded_once_rewritten(popular_bundle: Path) -> None:
    """A variant's loaded model is kept across experiment changes, but not after its files were
    rewritten (a privacy deletion): a deleted shopper must not come back from memory."""
    import os

    from shoprec.experiments.lifecycle import Variant, new_experiment
    from shoprec.service.variants import load_arms

    exp = new_experiment("t", [Variant("a"), Variant("b", str(popular_bundle))])
    first = load_arms(exp)
    assert load_arms(exp, first).servings["b"] is first.servings["b"]
    manifest = popular_bundle / "manifest.json"
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_arms(exp, first).servings["b"] is not first.servings["b"]
