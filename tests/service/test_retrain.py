"""Retraining as a job: 202 then polling, champion and challenger on the same fresh shoppers, a
new generation that the running server picks up, refusals, failures, rollback.

Each test gets a server of its own over a private copy of the bundle and an empty store (SQLite
and PostgreSQL), so no test depends on what another one stored, swapped or set. The job runs in
a process of its own, as in production.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shoprec.bundle import load_bundle
from shoprec.cli import app as cli_app
from shoprec.data.clean import CleanOptions
from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.generations import generation_path, serving_path
from shoprec.models.ranking import mask_seen
from shoprec.store import EventRecord, Store
from tests.service.conftest import API_KEY, LiveServer, serving_copy

KEY = {"X-API-Key": API_KEY}
FIGURES = {"ndcg@10", "recall@10", "mrr@10", "users"}


@pytest.fixture
def server(request: pytest.FixtureRequest, database_url, slice_bundle: Path,
           tmp_path: Path, server_mode: str) -> Iterator[LiveServer]:
    """A server of this test's own: a fresh copy of the slice bundle, a fresh store seeded from
    it. `@pytest.mark.parametrize("server", [tolerance], indirect=True)` sets the retrain gate
    (default 0.05)."""
    url, schema = database_url
    with serving_copy(slice_bundle, tmp_path, server_mode, database_url=url, database_schema=schema,
                      max_batch_events=200, retrain_tolerance=getattr(request, "param", 0.05)
                      ) as live:
        yield live


def start_job(live: LiveServer) -> str:
    r = live.client.post("/admin/retrain", headers=KEY)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "queued" and set(body) == {"job", "state"}
    return body["job"]


def wait_job(live: LiveServer, job: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    seen = set()
    while True:
        r = live.client.get(f"/admin/retrain/{job}", headers=KEY)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.add(body["state"])
        if body["state"] in ("swapped", "kept", "failed"):
            assert body["finished"] and body["seconds"] is not None
            return body | {"seen": seen}
        assert time.monotonic() < deadline, f"job {job} still {body['state']}"
        time.sleep(0.2)


def wait_generation(live: LiveServer, generation: int, timeout: float = 60) -> dict:
    """/health once the running server serves `generation` (it notices by itself)."""
    deadline = time.monotonic() + timeout
    while (health := live.client.get("/health").json())["generation"] != generation:
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
    return health


def test_nothing_new_means_nothing_to_swap(server: LiveServer) -> None:
    live = server
    version = live.ctx.serving.version
    assert live.client.get("/health").json()["last_retrain"] is None
    body = wait_job(live, start_job(live))
    assert body["state"] == "kept" and "no new events" in body["reason"], body
    assert body["generation"] == 0 and live.ctx.serving.version == version
    health = live.client.get("/health").json()
    assert health["generation"] == 0 and health["workers"] == live.workers
    assert health["last_retrain"]["job"] == body["job"]
    assert health["last_retrain"]["state"] == "kept"
    assert live.client.get("/admin/retrain/20260101T000000000000-abcdef", headers=KEY).status_code == 404
    assert live.client.get(f"/admin/retrain/{body['job']}").status_code == 401


def test_cli_retrain_on_a_server_starts_the_job_and_waits_for_it(server: LiveServer) -> None:
    live = server
    result = CliRunner().invoke(cli_app, ["retrain", "--server", live.url],
                                env={"SHOPREC_API_KEY": API_KEY})
    assert result.exit_code == 0, result.output
    assert "retrain job" in result.output and "kept: no new events" in result.output
    result = CliRunner().invoke(cli_app, ["retrain", "--server", live.url],
                                env={"SHOPREC_API_KEY": "wrong"})
    assert result.exit_code == 2 and "401" in result.output


def test_retrain_swaps_in_new_items_without_failing_requests(server: LiveServer) -> None:
    live = server
    assert live.ctx.settings.retrain_tolerance == 0.05
    assert "fresh-balm" not in live.ctx.serving.item_index
    old_version = live.ctx.serving.version
    original = (live.ctx.bundle_dir / "manifest.json").read_text()
    users = live.ctx.serving.bundle.dataset.user_map.ids[:40]
    assert live.client.post("/items", headers=KEY, json={"item_id": "fresh-balm",
                                                         "title": "Fresh lip balm"}).status_code == 200
    events = [{"user_id": u, "item_id": "fresh-balm", "event": "purchase"} for u in users]
    assert live.client.post("/events", json={"events": events},
                            headers=KEY).json()["stored"] == 40

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
        body = wait_job(live, start_job(live))
        health = wait_generation(live, 1)
    finally:
        stop.set()
        thread.join()
    assert body["state"] == "swapped", body["reason"]
    assert "running" in body["seen"] or "queued" in body["seen"]
    assert body["generation"] == 1
    champion, challenger = body["champion_metrics"], body["challenger_metrics"]
    assert set(champion) == set(challenger) == FIGURES
    assert champion["users"] == challenger["users"] == 40  # the same 40 fresh shoppers
    assert challenger["ndcg@10"] >= 0.95 * champion["ndcg@10"]
    assert statuses and set(statuses) == {200}
    serving = live.ctx.serving
    assert serving.version != old_version and health["model"] == serving.version
    assert live.client.get("/recommendations/after?k=3").json()["model"] == serving.version
    # generation 1 is a folder beside the bundle; the bundle itself (generation 0) is untouched
    assert serving_path(live.ctx.bundle_dir) == (1, generation_path(live.ctx.bundle_dir, 1))
    assert (live.ctx.bundle_dir / "manifest.json").read_text() == original
    manifest = json.loads((generation_path(live.ctx.bundle_dir, 1) / "manifest.json").read_text())
    assert manifest["metrics"]["holdout"]["challenger"] == challenger
    assert manifest["generation"] == 1
    # the new model knows the balm: its 40 buyers count, and it has "also bought" neighbours
    assert "fresh-balm" in serving.item_index
    assert serving.popularity[serving.item_index["fresh-balm"]] == 40
    assert live.client.get("/items/fresh-balm/similar?k=3").json()["items"]


def _champion_pick(model, history: History) -> int:
    scores = np.asarray(model.score([history]), dtype=np.float32)
    mask_seen(scores, [history])
    return int(np.argmax(scores[0]))


@pytest.mark.parametrize("server", [0.0], indirect=True, ids=["tolerance0"])
def test_a_worse_challenger_is_refused_and_says_why(server: LiveServer) -> None:
    """Each fresh shopper's last event is what the champion ranks first for them (up to ties), after three
    random purchases; the challenger learned from those random purchases, so it cannot match
    the champion's perfect score: with tolerance 0 it is refused."""
    live = server
    ds = live.ctx.serving.bundle.dataset
    model = live.ctx.serving.bundle.model
    train = full_train(ds)
    rng = np.random.default_rng(7)
    now = int(time.time())
    events = []
    for u in range(300):
        old = train.histories[u]
        noise = rng.choice(ds.n_items, 3, replace=False)
        times = np.arange(now, now + 3)
        history = History(np.concatenate([old.items, noise]),
                          np.concatenate([old.values, np.full(3, ds.event_weights["purchase"],
                                                              np.float32)]),
                          np.concatenate([old.timestamps, times]))
        pick = _champion_pick(model, history)
        user = ds.user_map.ids[u]
        events += [{"user_id": user, "item_id": ds.item_map.ids[int(i)], "event": "purchase",
                    "timestamp": int(t)} for i, t in zip(noise, times)]
        events.append({"user_id": user, "item_id": ds.item_map.ids[pick], "event": "purchase",
                       "timestamp": now + 3})
    for lo in range(0, len(events), 200):
        assert live.client.post("/events", json=events[lo:lo + 200],
                                headers=KEY).status_code == 200
    version = live.ctx.serving.version
    body = wait_job(live, start_job(live))
    assert body["state"] == "kept", body
    assert "is below" in body["reason"] and "old bundle kept" in body["reason"]
    assert body["champion_metrics"]["users"] == body["challenger_metrics"]["users"] == 300
    champion, challenger = body["champion_metrics"]["ndcg@10"], body["challenger_metrics"]["ndcg@10"]
    assert champion > 0.95 and challenger < champion  # (ties rank pessimistically: not all 1.0)
    assert live.client.get("/health").json()["generation"] == 0
    assert live.ctx.serving.version == version
    assert live.client.get("/recommendations/after-refusal").status_code == 200
    assert serving_path(live.ctx.bundle_dir)[0] == 0  # nothing was published


def test_a_second_job_is_refused_while_one_runs(server: LiveServer) -> None:
    live = server
    first = start_job(live)
    r = live.client.post("/admin/retrain", headers=KEY)
    assert r.status_code == 409 and "already running" in r.json()["error"]
    assert wait_job(live, first)["priority"] == "idle"  # only CPU that serving leaves
    wait_job(live, start_job(live))  # the lock went with the first job's process


def test_a_failing_job_keeps_the_old_generation_and_records_its_traceback(
        server: LiveServer) -> None:
    live = server
    version = live.ctx.serving.version
    (live.ctx.bundle_dir / "model" / "model.json").write_text("{ not json")
    body = wait_job(live, start_job(live))
    assert body["state"] == "failed" and "old bundle kept" in body["reason"], body
    assert "Traceback" in body["traceback"] and "JSONDecodeError" in body["traceback"]
    health = live.client.get("/health").json()
    assert health["generation"] == 0 and health["model"] == version
    assert health["last_retrain"]["state"] == "failed"
    assert live.client.get("/recommendations/after-failure?k=3").json()["model"] == version


def _store_with_fresh_events(bundle: Path, tmp_path: Path, users: list[str], item: str) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = Store(url)
    store.seed_from_dataset(load_bundle(bundle).dataset)
    store.add_events([EventRecord(u, item, "purchase", None, int(time.time())) for u in users])
    store.close()
    return url


def test_cli_retrain_publishes_a_generation_and_rollback_goes_back(
        slice_bundle: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(slice_bundle, bundle)
    old = load_bundle(bundle)
    url = _store_with_fresh_events(bundle, tmp_path, old.dataset.user_map.ids[:30],
                                   old.dataset.item_map.ids[0])
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "swapped:" in result.output and "champion" in result.output
    assert "challenger" in result.output and "ndcg@10" in result.output
    generation, path = serving_path(bundle)
    new = load_bundle(path)
    assert generation == 1 and new.manifest["interactions"] == old.manifest["interactions"] + 30
    assert new.manifest["retrained_from"] == old.manifest["fingerprint"]
    assert load_bundle(bundle).manifest == old.manifest  # generation 0 is never rewritten
    # the job file is there as for a server's job
    jobs = list((tmp_path / "bundle.generations" / "jobs").glob("*.json"))
    assert [json.loads(j.read_text())["state"] for j in jobs] == ["swapped"]

    result = CliRunner().invoke(cli_app, ["rollback", str(bundle)])
    assert result.exit_code == 0 and "serving generation 0" in result.output, result.output
    assert serving_path(bundle) == (0, bundle.resolve())
    result = CliRunner().invoke(cli_app, ["rollback", str(bundle), "--to", "1"])
    assert result.exit_code == 0 and "serving generation 1" in result.output, result.output
    result = CliRunner().invoke(cli_app, ["rollback", str(bundle), "--to", "7"])
    assert result.exit_code == 2 and "no generation 7; kept generations are 0, 1" in result.output
    assert serving_path(bundle)[0] == 1


def test_cli_retrain_keeps_a_hybrid_a_hybrid(beauty_300, tmp_path: Path) -> None:
    """Retraining keeps the serving model's kind and its components (the blend is re-weighted on
    the fresh data), unless asked to choose again."""
    from shoprec.bundle import write_bundle
    from shoprec.models.hybrid import Hybrid

    bundle = tmp_path / "bundle"
    model = Hybrid(components=("itemknn", "ease")).fit(full_train(beauty_300))
    write_bundle(bundle, beauty_300, model)
    url = _store_with_fresh_events(bundle, tmp_path, beauty_300.user_map.ids[:30],
                                   beauty_300.item_map.ids[1])
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--database-url", url,
                                          "--tolerance", "1.0"])
    assert result.exit_code == 0, result.output
    new = load_bundle(serving_path(bundle)[1])
    assert new.manifest["model"] == "hybrid" and isinstance(new.model, Hybrid)
    assert list(new.model.models_) == ["itemknn", "ease"]
    assert new.manifest["interactions"] == beauty_300.interactions.height + 30
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--server", "http://x",
                                          "--rechoose"])
    assert result.exit_code == 2 and "--rechoose runs here" in result.output


def test_retraining_applies_the_bundles_cleaning_again(beauty_slice, tmp_path: Path) -> None:
    """`shoprec train --kcore 3` records its cleaning; a retrain drops a fresh shopper with two
    events (below the 3-core) and a repeated identical event, as training did."""
    src = tmp_path / "shop"
    src.mkdir()
    beauty_slice.interactions.select("user_id", "item_id", "timestamp").write_csv(
        src / "interactions.csv")
    beauty_slice.items.select("item_id", "title").write_csv(src / "items.csv")
    bundle = tmp_path / "bundle"
    result = CliRunner().invoke(cli_app, ["train", str(src), "--model", "itemknn", "--kcore", "3",
                                          "--out", str(bundle)])
    assert result.exit_code == 0, result.output
    old = load_bundle(bundle)
    assert old.manifest["clean"] == asdict(CleanOptions(min_user=3, min_item=3))
    users = old.dataset.user_map.ids[:20]
    item = old.dataset.item_map.ids[0]
    url = _store_with_fresh_events(bundle, tmp_path, users, item)
    store = Store(url)
    when = int(time.time()) + 10
    store.add_events([EventRecord("two-events-only", item, "purchase", None, when),
                      EventRecord("two-events-only", old.dataset.item_map.ids[1], "purchase",
                                  None, when + 1),
                      EventRecord(users[0], item, "purchase", None, when + 2),
                      EventRecord(users[0], item, "purchase", None, when + 2)])
    store.close()
    result = CliRunner().invoke(cli_app, ["retrain", str(bundle), "--database-url", url,
                                          "--tolerance", "1.0"])
    assert result.exit_code == 0 and "swapped:" in result.output, result.output
    new = load_bundle(serving_path(bundle)[1])
    assert new.manifest["clean"] == old.manifest["clean"]
    assert "two-events-only" not in new.dataset.user_map
    assert new.manifest["interactions"] == old.manifest["interactions"] + 20 + 1
    counts = new.dataset.interactions.group_by("user_id").len()["len"]
    assert counts.min() >= 3
