"""DELETE /users/{id} forgets a shopper at once: store, the database's files, the bundle's rows,
the model's similarities, popularity, the page and every answer (issue 14)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from shoprec.bundle import load_bundle
from shoprec.cli import app as cli_app
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import full_train
from shoprec.generations import publish, rollback
from shoprec.models.itemknn import ItemKNN
from shoprec.privacy.traces import find_user_traces
from shoprec.service.settings import ServiceSettings
from shoprec.store.experiment_tables import experiment_exposures
from tests.service.conftest import API_KEY, every_worker, running_server, write_slice_bundle

KEY = {"X-API-Key": API_KEY}
USER = "shopper-5d1c9e7a-forget-me"  # long enough to search every file byte for byte


@pytest.fixture
def shop(beauty_slice: Dataset, tmp_path: Path, server_mode: str):
    """A server whose bundle's first shopper is USER (a real Beauty history), demo page on."""
    first = beauty_slice.user_map.ids[0]
    inter = beauty_slice.interactions.drop("user", "item").with_columns(
        pl.when(pl.col("user_id") == first).then(pl.lit(USER)).otherwise(pl.col("user_id"))
        .alias("user_id"))
    ds = build_dataset(beauty_slice.items, inter, name="beauty-slice")
    bundle = write_slice_bundle(ds, tmp_path / "bundle", model="itemknn")
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
                               api_key=API_KEY, seed_store=True, demo_shoppers=3,
                               retrain_tolerance=1.0)
    with running_server(bundle, settings, server_mode) as live:
        yield live, ds, tmp_path


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
    live.client.post("/events", json={"user_id": USER, "item_id": items[0], "event": "cart"},
                     headers=KEY)
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


def test_exposures_queued_in_every_worker_are_gone_1_s_after_delete(shop) -> None:
    """Each worker queues its served lists and writes them every `exposure_flush_s`: a worker
    that did not answer the DELETE may write the shopper's after it; they must go too, within
    the issue's 1 s (the control shopper's rows show the queues were written by then)."""
    live, _, folder = shop
    other = "shopper-0c7f-control-exposures"
    for user in (other, USER):  # the shopper last: their rows still queued at the DELETE
        for r in every_worker(live, f"/recommendations/{user}?k=5", headers=KEY):
            assert r.status_code == 200, r.text
    assert live.client.delete(f"/users/{USER}", headers=KEY).status_code == 200
    time.sleep(1.0)  # from the answer
    assert traces(folder) == []
    served = {e.user_id for e in experiment_exposures(live.ctx.store.engine, None)}
    assert other in served and USER not in served


def _wait(live, predicate, what: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def test_a_shopper_deleted_during_a_retrain_stays_deleted(shop) -> None:
    """The job read the store before the delete (or not: either way); the generation it
    publishes must not bring them back, nor may a rollback to the generation before it."""
    live, ds, folder = shop
    assert live.client.post("/items", headers=KEY, json={"item_id": "fresh-balm"}).status_code == 200
    buyers = [u for u in ds.user_map.ids[1:41]]
    live.client.post("/events", headers=KEY, json={"events": [
        {"user_id": u, "item_id": "fresh-balm", "event": "purchase"} for u in buyers]})
    job = live.client.post("/admin/retrain", headers=KEY).json()["job"]
    state = lambda: live.client.get(f"/admin/retrain/{job}", headers=KEY).json()
    _wait(live, lambda: state()["state"] != "queued", "the job to run")
    assert live.client.delete(f"/users/{USER}", headers=KEY).status_code == 200
    final = _wait(live, lambda: (s := state())["state"] in ("swapped", "kept", "failed") and s,
                  "the job to end")
    assert final["state"] == "swapped", final
    _wait(live, lambda: live.client.get("/health").json()["generation"] == 1, "generation 1")
    assert USER not in live.ctx.serving.bundle.dataset.user_map
    assert buyers[3] in live.ctx.serving.bundle.dataset.user_map
    assert traces(folder) == []  # generation 0 and generation 1, every file
    rolled = CliRunner().invoke(cli_app, ["rollback", str(live.ctx.bundle_dir), "--to", "0"])
    assert rolled.exit_code == 0, rolled.output
    _wait(live, lambda: live.client.get("/health").json()["generation"] == 0, "generation 0")
    assert USER not in live.ctx.serving.bundle.dataset.user_map and traces(folder) == []


def test_deletion_reaches_every_kept_generation(shop) -> None:
    live, _, folder = shop
    bundle = live.ctx.bundle_dir
    assert publish(bundle, lambda out: shutil.copytree(bundle, out)) == 1
    _wait(live, lambda: live.client.get("/health").json()["generation"] == 1, "generation 1")
    assert {t.split("/")[0] for t in traces(folder) if "parquet" in t} == {
        "bundle", "bundle.generations"}
    r = live.client.delete(f"/users/{USER}", headers=KEY).json()
    assert r["removed_from_model"] is True
    assert traces(folder) == []
    assert live.client.get("/health").json()["generation"] == 1  # its own rewrite: no reload
    rollback(bundle, to=0)
    _wait(live, lambda: live.client.get("/health").json()["generation"] == 0, "generation 0")
    assert USER not in live.ctx.serving.bundle.dataset.user_map


def test_a_job_forgets_shoppers_deleted_from_the_store_before_it_publishes(
        shop, tmp_path: Path) -> None:
    """The job's last look at the store, in isolation: a bundle it wrote still holds a shopper
    whose events have gone since it read them."""
    from shoprec.retraining import forget_deleted

    live, _, _ = shop
    staged = tmp_path / "staged"
    shutil.copytree(live.ctx.bundle_dir, staged)
    assert USER in load_bundle(staged).dataset.user_map
    live.ctx.store.delete_user(USER)
    assert forget_deleted(staged, live.ctx.store) == [USER]
    assert find_user_traces(staged, USER) == []
    assert forget_deleted(staged, live.ctx.store) == []
