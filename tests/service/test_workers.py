"""`shoprec serve --workers 2` for real: a master and two worker processes sharing one store;
what one worker stores shapes every worker's answers, a dead worker is replaced, and a retrain
job's new generation reaches every worker (each loads it itself) with no failed request."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import API_KEY, EXE, answering_pids, clean_env, free_port

pytestmark = pytest.mark.slow
KEY = {"X-API-Key": API_KEY}


def children(pid: int) -> set[int]:
    """The master's live worker processes (not a retrain job's process)."""
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            state = Path(f"/proc/{child}/stat").read_text().split(") ")[1][0]
        except FileNotFoundError:
            continue
        if b"shoprec.service.retrain_job" not in cmdline and state != "Z":
            found.add(int(child))
    return found


def wait_for(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def fresh_get(url: str, **kwargs) -> httpx.Response:
    """One request on a connection of its own (so the kernel may hand it to any worker)."""
    return httpx.get(url, timeout=30, headers={"Connection": "close"}, **kwargs)


@pytest.fixture
def served(slice_bundle: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    bundle = tmp_path / "bundle"
    shutil.copytree(slice_bundle, bundle)
    port = free_port()
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port), "--seed",
                             "--workers", "2"], env=clean_env(SHOPREC_API_KEY=API_KEY),
                            stdout=subprocess.DEVNULL, stderr=(tmp_path / "log").open("w"))
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "log").read_text()
        try:
            return fresh_get(f"{url}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, "shoprec serve --workers 2 to answer")
        yield url, proc, bundle
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_two_workers_share_the_store_and_a_dead_one_is_replaced(served) -> None:
    url, proc, _ = served
    workers = wait_for(lambda: len(c := children(proc.pid)) == 2 and c, "two workers")
    health = fresh_get(f"{url}/health").json()
    assert health["workers"] == 2 and health["generation"] == 0
    pids = wait_for(lambda: len(p := {fresh_get(f"{url}/health").json()["pid"]
                                      for _ in range(20)}) == 2 and p, "both workers answering")
    assert pids == workers
    user = "visitor-two-workers"
    assert fresh_get(f"{url}/recommendations/{user}?k=5").json()["strategy"] == "popular"
    item = fresh_get(f"{url}/recommendations/x?k=1").json()["items"][0]["item_id"]
    r = httpx.post(f"{url}/events", json={"user_id": user, "item_id": item, "event": "purchase"},
                   headers={"Connection": "close"} | KEY)
    assert r.status_code == 200
    answers = [fresh_get(f"{url}/recommendations/{user}?k=5").json() for _ in range(30)]
    assert {a["strategy"] for a in answers} == {"model"}  # every worker read the new event

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(lambda: len(c := children(proc.pid)) == 2 and victim not in c and c,
                        "a replacement worker")
    assert replaced - workers and all(fresh_get(f"{url}/health").status_code == 200
                                      for _ in range(10))


def test_a_retrain_job_swaps_every_worker_without_a_failed_request(served) -> None:
    url, proc, bundle = served
    old_workers = wait_for(lambda: len(c := children(proc.pid)) == 2 and c, "two workers")
    old_model = fresh_get(f"{url}/health").json()["model"]
    users = [f"{u}" for u in __import__("shoprec.bundle", fromlist=["load_bundle"])
             .load_bundle(bundle).dataset.user_map.ids[:40]]
    assert httpx.post(f"{url}/items", headers=KEY, json={"item_id": "fresh-balm"}).status_code == 200
    events = [{"user_id": u, "item_id": "fresh-balm", "event": "purchase"} for u in users]
    assert httpx.post(f"{url}/events", json={"events": events}, headers=KEY).json()["stored"] == 40

    failures: list[str] = []
    models: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                r = fresh_get(f"{url}/recommendations/swap-watcher?k=3")
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text}")
                else:
                    models.add(r.json()["model"])
            except httpx.HTTPError as exc:
                failures.append(repr(exc))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        r = httpx.post(f"{url}/admin/retrain", headers=KEY)
        assert r.status_code == 202, r.text
        job = r.json()["job"]
        final = wait_for(lambda: (s := httpx.get(f"{url}/admin/retrain/{job}", headers=KEY)
                                  .json())["state"] in ("swapped", "kept", "failed") and s,
                         "the job to end", timeout=300)
        assert final["state"] == "swapped" and final["generation"] == 1, final
        wait_for(lambda: {fresh_get(f"{url}/health").json()["generation"]
                          for _ in range(20)} == {1}, "every worker to serve generation 1")
    finally:
        stop.set()
        thread.join()
    assert failures == []
    new_model = fresh_get(f"{url}/health").json()["model"]
    assert new_model != old_model and models <= {old_model, new_model}
    answers = [fresh_get(f"{url}/recommendations/after-swap?k=3").json() for _ in range(30)]
    assert {a["model"] for a in answers} == {new_model}
    healths = [fresh_get(f"{url}/health").json() for _ in range(20)]
    assert {h["generation"] for h in healths} == {1}
    assert {h["pid"] for h in healths} == old_workers  # the same workers swapped, none restarted
    assert {h["last_retrain"]["job"] for h in healths} == {job}


@pytest.mark.parametrize("workers", [1, 2])
def test_scheduled_retrains_and_a_published_generation_reach_the_server(
        slice_bundle: Path, tmp_path: Path, workers: int) -> None:
    """`--retrain-every` starts jobs by itself (in the single process, or in the master), and a
    generation published beside the bundle is served without a restart (the single process's
    context notices it; the master replaces its workers)."""
    from shoprec.generations import publish

    bundle = tmp_path / "bundle"
    shutil.copytree(slice_bundle, bundle)
    port = free_port()
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port), "--seed",
                             "--workers", str(workers), "--retrain-every", "2s", "--keep", "2"],
                            env=clean_env(SHOPREC_API_KEY=API_KEY), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def health() -> dict | None:
        assert proc.poll() is None
        try:
            return fresh_get(f"{url}/health").json()
        except httpx.HTTPError:
            return None

    try:
        first = wait_for(health, "the server to answer")
        assert first["workers"] == workers and first["generation"] == 0
        job = wait_for(lambda: (h := health()) and h["last_retrain"], "a scheduled retrain")
        assert job["job"] and job["state"] in ("queued", "running", "kept")
        publish(bundle, lambda out: shutil.copytree(bundle, out))
        wait_for(lambda: {fresh_get(f"{url}/health").json()["generation"]
                          for _ in range(20)} == {1}, "every worker to serve generation 1")
        answers = [fresh_get(f"{url}/recommendations/x?k=2").json() for _ in range(10)]
        assert {a["model"] for a in answers} == {health()["model"]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_serve_refuses_a_bad_duration_or_count(slice_bundle: Path) -> None:
    from typer.testing import CliRunner

    from shoprec.cli import app

    result = CliRunner().invoke(app, ["serve", str(slice_bundle), "--retrain-every", "5x"])
    assert result.exit_code == 2 and "--retrain-every: duration '5x'" in result.output
    result = CliRunner().invoke(app, ["serve", str(slice_bundle), "--workers", "0"])
    assert result.exit_code == 2 and "must be at least 1" in result.output


def test_every_worker_follows_an_experiment_and_its_promotion(served, beauty_slice,
                                                             tmp_path: Path) -> None:
    """Started through one worker, the experiment reaches both (the master replaces them); the
    exposures both wrote are in the shared store; a promotion reaches both too."""
    from tests.service.conftest import write_slice_bundle

    url, _, _ = served
    popular = write_slice_bundle(beauty_slice, tmp_path / "popular", "popular")
    r = httpx.post(f"{url}/admin/experiments", headers=KEY, json={
        "variants": [{"name": "control"}, {"name": "popular", "bundle": str(popular)}]})
    assert r.status_code == 201, r.text
    exp_id = r.json()["id"]
    users = [f"exp-shopper-{n}" for n in range(40)]

    def everyone_in_it() -> bool:
        bodies = [fresh_get(f"{url}/recommendations/{u}?k=3").json() for u in users]
        return all(b["experiment"] == exp_id for b in bodies)

    wait_for(everyone_in_it, "every worker to serve the experiment", timeout=60)
    readout = wait_for(lambda: (b := httpx.get(f"{url}/admin/experiments/{exp_id}", headers=KEY,
                                               timeout=30).json())["srm"]["shoppers"]
                       and sum(b["srm"]["shoppers"].values()) == 40 and b,
                       "both workers' assignments in the store", timeout=30)
    assert set(readout["srm"]["shoppers"]) == {"control", "popular"}
    promoted = httpx.post(f"{url}/admin/experiments/{exp_id}/promote", headers=KEY,
                          json={"variant": "popular"}, timeout=60)
    assert promoted.status_code == 200, promoted.text
    wait_for(lambda: all(fresh_get(f"{url}/recommendations/{u}").json()["model"].startswith(
        "popular@") for u in users[:10]), "every worker to serve the winner", timeout=60)


def test_an_item_posted_to_one_worker_is_served_by_every_worker(served) -> None:
    """The catalogue is per process: each worker reads the others' writes from the store."""
    url, proc, _ = served
    wait_for(lambda: len(children(proc.pid)) == 2, "two workers")
    r = httpx.post(f"{url}/items", headers=KEY, json={
        "item_id": "every-worker-balm", "title": "Shea butter lip balm", "brand": "Worker Co",
        "category": "Lip Care"}, timeout=30)
    assert r.status_code == 200, r.text

    def everywhere() -> bool:
        answers = [fresh_get(f"{url}/items/every-worker-balm") for _ in range(20)]
        pids = {fresh_get(f"{url}/health").json()["pid"] for _ in range(20)}
        return len(pids) == 2 and all(a.status_code == 200 for a in answers)

    wait_for(everywhere, "every worker to serve the new item", timeout=15)


def test_every_write_route_answers_within_its_deadline(served) -> None:
    """Each write route, on fresh connections (either worker), answers well within 15 s: the
    deletion included, which hung forever when workers were forked from a master that had used
    polars' thread pool."""
    url, _, bundle = served
    from shoprec.bundle import load_bundle

    users = [str(u) for u in load_bundle(bundle).dataset.user_map.ids[:3]]
    item = fresh_get(f"{url}/recommendations/x?k=1").json()["items"][0]["item_id"]

    def call(method: str, path: str, **kw) -> httpx.Response:
        return httpx.request(method, url + path, timeout=15, headers={
            "Connection": "close", **KEY, **kw.pop("headers", {})}, **kw)

    assert call("POST", "/events", json={"user_id": users[0], "item_id": item,
                                         "event": "cart"}).status_code == 200
    assert call("POST", "/items", json={"item_id": "deadline-serum",
                                        "title": "Vitamin C serum"}).status_code == 200
    assert call("GET", f"/users/{users[0]}/export").status_code == 200
    before = fresh_get(f"{url}/health").json()["model"]
    for user in users:
        assert call("DELETE", f"/users/{user}").status_code == 200
        assert call("GET", f"/users/{user}/export").json()["events"] == []
    # the rewritten bundle (a new data fingerprint) serves in every worker
    versions = wait_for(lambda: len(v := {fresh_get(f"{url}/health").json()["model"]
                                          for _ in range(12)}) == 1 and v, "one version")
    assert versions != {before}
    assert call("POST", "/chat", json={"message": "a nail polish remover"}).status_code == 200
    assert call("POST", "/admin/experiments", json={"variants": "bad"}).status_code == 422
    job = call("POST", "/admin/retrain")
    assert job.status_code == 202, job.text
    assert call("GET", f"/admin/retrain/{job.json()['job']}").status_code == 200


def test_a_stuck_worker_is_killed_within_the_grace_period(slice_bundle: Path,
                                                          tmp_path: Path) -> None:
    """SIGTERM stops the server within the shutdown grace even when a worker cannot stop (here
    it is frozen with SIGSTOP); the master kills it and says so."""
    bundle = tmp_path / "bundle"
    shutil.copytree(slice_bundle, bundle)
    port, log = free_port(), tmp_path / "log"
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port), "--seed",
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            env=clean_env(SHOPREC_API_KEY=API_KEY, SHOPREC_SHUTDOWN_GRACE_S="2"))
    try:
        wait_for(lambda: len(answering_pids(f"http://127.0.0.1:{port}")) == 2, "two workers")
        frozen = min(children(proc.pid))
        os.kill(frozen, signal.SIGSTOP)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not Path(f"/proc/{frozen}").exists() or \
            Path(f"/proc/{frozen}/stat").read_text().split(") ")[1][0] == "Z"
        assert f"worker {frozen} did not stop within 4 s; killed" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
