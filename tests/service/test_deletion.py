"""DELETE /users/{id} forgets a shopper at once: store, the database's files, the bundle's rows,
the model's similarities, popularity, the page and every answer (issue 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import full_train
from shoprec.models.itemknn import ItemKNN
from shoprec.privacy.traces import find_user_traces
from shoprec.service.settings import ServiceSettings
from tests.service.conftest import API_KEY, start_server, write_slice_bundle

KEY = {"X-API-Key": API_KEY}
USER = "shopper-5d1c9e7a-forget-me"  # long enough to search every file byte for byte


@pytest.fixture
def shop(beauty_slice: Dataset, tmp_path: Path):
    """A server whose bundle's first shopper is USER (a real Beauty history), demo page on."""
    first = beauty_slice.user_map.ids[0]
    inter = beauty_slice.interactions.drop("user", "item").with_columns(
        pl.when(pl.col("user_id") == first).then(pl.lit(USER)).otherwise(pl.col("user_id"))
        .alias("user_id"))
    ds = build_dataset(beauty_slice.items, inter, name="beauty-slice")
    bundle = write_slice_bundle(ds, tmp_path / "bundle", model="itemknn")
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
                               api_key=API_KEY, seed_store=True, demo_shoppers=3)
    server, thread, live = start_server(bundle, settings)
    yield live, ds, tmp_path
    live.client.close()
    server.should_exit = True
    thread.join(timeout=10)


def traces(folder: Path) -> list[str]:
    """Every file under `folder` where USER appears: parquet decoded, the rest byte for byte."""
    found = find_user_traces(folder, USER)
    found += [str(p.relative_to(folder)) for p in folder.rglob("*")
              if p.is_file() and p.suffix != ".parquet" and USER.encode() in p.read_bytes()]
    return sorted(set(found))


def test_deletion_leaves_no_trace_in_any_file_or_answer(shop) -> None:
    live, ds, folder = shop
    owned = ds.interactions.filter(pl.col("user_id") == USER)["item"].to_numpy()
    items = [live.ctx.serving.item_ids[i] for i in owned]
    live.client.post("/events", json={"user_id": USER, "item_id": items[0], "event": "cart"})
    # control: before the delete the shopper is everywhere the checks look
    assert "bundle/interactions.parquet: user_id" in traces(folder)
    assert any(t.startswith("store.sqlite") for t in traces(folder)), traces(folder)
    assert f'value="{USER}"' in live.client.get("/").text
    assert len(live.client.get(f"/users/{USER}/export", headers=KEY).json()["events"]) > 1
    popularity = live.ctx.serving.popularity.copy()

    r = live.client.delete(f"/users/{USER}", headers=KEY)
    assert r.status_code == 200
    assert r.json() == {"user_id": USER, "deleted_events": len(owned) + 1,
                        "removed_from_model": True}

    assert traces(folder) == []  # bundle files, the database file, its WAL and SHM
    assert f'value="{USER}"' not in live.client.get("/").text
    assert live.client.get(f"/users/{USER}/export", headers=KEY).json()["events"] == []
    body = live.client.get(f"/recommendations/{USER}?k=5&explain=true", headers=KEY).json()
    assert body["strategy"] == "popular" and USER not in str(body["items"])
    serving = live.ctx.serving
    assert USER not in serving.bundle.dataset.user_map
    expected = popularity.copy()
    np.subtract.at(expected, np.unique(owned), 1.0)
    np.testing.assert_allclose(serving.popularity, expected)
    # the model's similarities are those of a model that never saw the shopper
    remaining = build_dataset(ds.items, ds.interactions.filter(pl.col("user_id") != USER)
                              .drop("user", "item"), name="rest")
    fresh = ItemKNN().fit(full_train(remaining)).similarity_
    assert (abs(serving.bundle.model.similarity_ - fresh)).max() < 1e-6
    assert serving.bundle.manifest["forgotten_shoppers"] == 1
    # a second delete finds nothing; other shoppers are untouched
    again = live.client.delete(f"/users/{USER}", headers=KEY).json()
    assert again["deleted_events"] == 0 and not again["removed_from_model"]
    other = ds.user_map.ids[1]
    assert other in serving.bundle.dataset.user_map
    assert live.ctx.store.count_events(other) == ds.interactions.filter(
        pl.col("user_id") == other).height


def test_a_shopper_deleted_during_a_retrain_stays_deleted(shop) -> None:
    """The retrain read the store before the delete; its new bundle must not bring them back."""
    live, _, folder = shop
    ctx = live.ctx
    new = [{"user_id": f"fresh-{n}", "item_id": ctx.serving.item_ids[n], "event": "purchase",
            "timestamp": 1_500_000_000 + n} for n in range(40)]
    live.client.post("/events", json={"events": new})
    from shoprec.service.retrain import retrain_bundle

    deleted = {}

    def install(write):  # the delete lands while the retrain is about to install its bundle
        deleted["r"] = live.client.delete(f"/users/{USER}", headers=KEY)
        ctx.install(write)

    with ctx.retrain_lock:
        serving = ctx.serving
        result = retrain_bundle(ctx.bundle_dir, ctx.store, serving.bundle.dataset,
                                serving.bundle.manifest, tolerance=1.0, install=install)
    assert deleted["r"].status_code == 200 and result.swapped, result.reason
    assert USER not in ctx.serving.bundle.dataset.user_map
    assert "fresh-3" in ctx.serving.bundle.dataset.user_map
    assert traces(folder) == []
