"""Retraining from the store: gate on a temporal hold-out, atomic swap while serving.

Each test gets a server of its own over a private copy of the bundle and an empty store (SQLite
and PostgreSQL), so no test depends on what another one stored, swapped or set.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shoprec.bundle import load_bundle
from shoprec.cli import app as cli_app
from shoprec.store import EventRecord, Store
from tests.service.conftest import API_KEY, LiveServer, serving_copy

KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def server(request: pytest.FixtureRequest, database_url, slice_bundle: Path,
           tmp_path: Path) -> Iterator[LiveServer]:
    """A server of this test's own: a fresh copy of the slice bundle, a fresh store seeded from
    it. `@pytest.mark.parametrize("server", [tolerance], indirect=True)` sets the retrain gate
    (default 0.05)."""
    url, schema = database_url
    with serving_copy(slice_bundle, tmp_path, database_url=url, database_schema=schema,
                      max_batch_events=200, retrain_tolerance=getattr(request, "param", 0.05)
                      ) as live:
        yield live


def retrain(live: LiveServer) -> dict:
    r = live.client.post("/admin/retrain", headers=KEY, timeout=300)
    assert r.status_code == 200, r.text
    return r.json()


def test_nothing_new_means_nothing_to_swap(server: LiveServer) -> None:
    live = server
    version = live.ctx.serving.version
    body = retrain(live)
    assert body["swapped"] is False and "no new events" in body["reason"]
    assert live.ctx.serving.version == version


def test_retrain_swaps_in_new_items_without_failing_requests(server: LiveServer) -> None:
    live = server
    assert live.ctx.settings.retrain_tolerance == 0.05
    assert "fresh-balm" not in live.ctx.serving.item_index
    old_version = live.ctx.serving.version
    users = live.ctx.serving.bundle.dataset.user_map.ids[:40]
    assert live.client.post("/items", headers=KEY, json={"item_id": "fresh-balm",
                                                         "title": "Fresh lip balm"}).status_code == 200
    events = [{"user_id": u, "item_id": "fresh-balm", "event": "purchase"} for u in users]
    assert live.client.post("/events", json={"events": events}).json()["stored"] == 40

    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        import httpx

        with httpx.Client(base_url=live.url, timeout=30) as client:
            while not stop.is_set():
                statuses.append(client.get("/recommendations/swap-watcher?k=5").status_code)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        body = retrain(live)
    finally:
        time.sleep(0.2)
        stop.set()
        thread.join()
    assert body["swapped"] is True, body["reason"]
    assert body["candidate_metrics"]["ndcg@10"] >= 0.95 * body["serving_metrics"]["ndcg@10"]
    assert live.ctx.serving.version != old_version and body["serving"] == live.ctx.serving.version
    assert "fresh-balm" in live.ctx.serving.item_index
    assert statuses and set(statuses) == {200}
    manifest = json.loads((live.ctx.bundle_dir / "manifest.json").read_text())
    assert manifest["metrics"]["holdout"]["ndcg@10"] == body["candidate_metrics"]["ndcg@10"]
    # the new model knows the balm: its 40 buyers count, and it has "also bought" neighbours
    serving = live.ctx.serving
    assert serving.popularity[serving.item_index["fresh-balm"]] == 40
    assert live.client.get("/items/fresh-balm/similar?k=3").json()["items"]


@pytest.mark.parametrize("server", [0.0], indirect=True, ids=["tolerance0"])
def test_a_worse_candidate_is_refused_and_says_why(server: LiveServer) -> None:
    live = server
    assert live.ctx.settings.retrain_tolerance == 0.0
    version = live.ctx.serving.version
    rng = np.random.default_rng(7)
    users = live.ctx.serving.bundle.dataset.user_map.ids[:600]
    items = live.ctx.serving.item_ids
    noise = [{"user_id": u, "item_id": items[int(rng.integers(len(items)))], "event": "purchase"}
             for u in users]
    for lo in range(0, len(noise), 200):
        assert live.client.post("/events", json=noise[lo:lo + 200]).status_code == 200
    body = retrain(live)
    assert body["swapped"] is False
    assert "is below" in body["reason"] and "old bundle kept" in body["reason"]
    assert live.ctx.serving.version == version
    assert live.client.get("/recommendations/after-refusal").status_code == 200
    # the refused candidate was not written over the serving bundle
    manifest = json.loads((live.ctx.bundle_dir / "manifest.json").read_text())
    assert manifest["interactions"] == live.ctx.serving.bundle.manifest["interactions"]


def test_cli_retrain_rebuilds_the_bundle_from_the_store(slice_bundle: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(slice_bundle, bundle)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    old = load_bundle(bundle)
    store.seed_from_dataset(old.dataset)
    users = old.dataset.user_map.ids[:30]
    store.add_events([EventRecord(u, old.dataset.item_map.ids[0], "purchase", None,
                                  int(time.time())) for u in users])
    store.close()
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "swapped:" in result.output and "ndcg@10" in result.output
    new = load_bundle(bundle)
    assert new.manifest["interactions"] == old.manifest["interactions"] + 30
    assert new.manifest["retrained_from"] == old.manifest["fingerprint"]


def test_cli_retrain_keeps_a_hybrid_a_hybrid(beauty_slice, tmp_path: Path) -> None:
    """Retraining keeps the serving model's kind and its components (the blend is re-weighted on
    the fresh data), unless asked to choose again."""
    from shoprec.bundle import write_bundle
    from shoprec.data.splits import full_train
    from shoprec.models.hybrid import Hybrid

    bundle = tmp_path / "bundle"
    model = Hybrid(components=("itemknn", "ease")).fit(full_train(beauty_slice))
    write_bundle(bundle, beauty_slice, model)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    store.seed_from_dataset(beauty_slice)
    users = beauty_slice.user_map.ids[:30]
    store.add_events([EventRecord(u, beauty_slice.item_map.ids[1], "purchase", None,
                                  int(time.time())) for u in users])
    store.close()
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--database-url", url,
                                          "--tolerance", "1.0"])
    assert result.exit_code == 0, result.output
    new = load_bundle(bundle)
    assert new.manifest["model"] == "hybrid" and isinstance(new.model, Hybrid)
    assert list(new.model.models_) == ["itemknn", "ease"]
    assert new.manifest["interactions"] == beauty_slice.interactions.height + 30
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--server", "http://x",
                                          "--rechoose"])
    assert result.exit_code == 2 and "--rechoose runs here" in result.output
