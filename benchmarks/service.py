"""Service load test: /recommendations throughput and latency, ingestion, and a page screenshot.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items), bundle trained on all of it.
The server is `shoprec serve` in its own process (uvicorn, one worker, SQLite store beside the
bundle); the load comes from `wrk` (a second process) on loopback, one run per concurrency level
(1, 8, 32 open connections), each request for a random shopper (90% known, 10% unknown ->
popular fallback), k=10. Then an ingestion run: 8 client threads POST batches of 100 events
(view/click/cart/purchase/dismiss on random known items); every acknowledged event must be in the
store afterwards. Finally Chromium (Playwright) saves screenshots of the shop page.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/service.py

Writes benchmarks/results/service.json and benchmarks/results/service-*.png. Needs /usr/bin/wrk and
/usr/bin/chromium (apt-get install wrk chromium). The machine is shared: the JSON records the load
average before and after, so numbers taken on a busy machine can be recognised.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from shoprec.bundle import load_bundle
from shoprec.models.registry import MODELS
from shoprec.store import Store
from shoprec.training import train_bundle

RESULTS = Path("benchmarks/results")
API_KEY = "bench-key"
WRK_SCRIPT = """
local users = {%s}
math.randomseed(%d)
request = function()
  local u = users[math.random(#users)]
  return wrk.format("GET", "/recommendations/" .. u .. "?k=10")
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect_errors": %%d, "read_errors": %%d, '
    .. '"write_errors": %%d, "status_errors": %%d, "timeouts": %%d, "p50_us": %%d, "p95_us": %%d, '
    .. '"p99_us": %%d, "max_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def start_server(bundle: Path, port: int, db_url: str) -> subprocess.Popen:
    env = dict(os.environ, SHOPREC_DATABASE_URL=db_url, SHOPREC_API_KEY=API_KEY,
               SHOPREC_SEARCH_WARMUP="0")
    exe = Path(sys.executable).with_name("shoprec")
    proc = subprocess.Popen([str(exe), "serve", str(bundle), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not answer /health within 600 s")


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict:
    threads = min(connections, 2)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    stats = json.loads(re.search(r"WRKJSON (\{.*\})", out).group(1))
    secs = stats["duration_us"] / 1e6
    errors = sum(stats[k] for k in ("connect_errors", "read_errors", "write_errors",
                                    "status_errors", "timeouts"))
    return {"connections": connections, "wrk_threads": threads, "seconds": round(secs, 2),
            "requests": stats["requests"], "errors": errors,
            "throughput_rps": round(stats["requests"] / secs, 1),
            "p50_ms": stats["p50_us"] / 1000, "p95_ms": stats["p95_us"] / 1000,
            "p99_ms": stats["p99_us"] / 1000, "max_ms": stats["max_us"] / 1000,
            "mean_ms": round(stats["mean_us"] / 1000, 3)}


def ingest(url: str, users: list[str], items: list[str], clients: int, batches: int,
           batch_size: int, seed: int) -> dict:
    """Each client posts `batches` batches; acknowledged = sum of the `stored` counts of 200s."""
    acked, failed = [0] * clients, [0] * clients
    kinds = ["view", "view", "click", "cart", "purchase", "dismiss"]

    def client(n: int) -> None:
        rng = random.Random(seed + n)
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(batches):
                events = [{"user_id": rng.choice(users), "item_id": rng.choice(items),
                           "event": rng.choice(kinds)} for _ in range(batch_size)]
                r = http.post("/events", json={"events": events})
                if r.status_code == 200:
                    acked[n] += r.json()["stored"]
                else:
                    failed[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return {"clients": clients, "batch_size": batch_size, "batches_sent": clients * batches,
            "failed_batches": sum(failed), "acknowledged": sum(acked),
            "seconds": round(seconds, 2), "events_per_second": round(sum(acked) / seconds, 1)}


def screenshots(url: str, shopper: str, search_timeout_s: float) -> dict:
    from playwright.sync_api import sync_playwright

    shots = {}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url + "/")
        page.select_option("#shopper-select", shopper)
        page.wait_for_function("u => document.getElementById('feed').dataset.user === u",
                               arg=shopper)
        page.wait_for_selector("#profile-body .stat")
        shots["home"] = str(RESULTS / "service-home.png")
        page.screenshot(path=shots["home"])
        first = page.eval_on_selector("#feed .card", "c => c.dataset.itemId")
        page.goto(f"{url}/shop/items/{first}")
        shots["item"] = str(RESULTS / "service-item.png")
        page.screenshot(path=shots["item"])
        page.goto(url + "/")
        page.wait_for_selector("#feed .card")
        page.fill("#search-input", "red nail polish")
        page.press("#search-input", "Enter")
        try:
            page.wait_for_function(
                "document.getElementById('feed-title').textContent.startsWith('Results')",
                timeout=search_timeout_s * 1000)
            shots["search"] = str(RESULTS / "service-search.png")
            page.screenshot(path=shots["search"])
        except Exception as exc:  # noqa: BLE001 - the first search may still be encoding titles
            shots["search_error"] = f"{type(exc).__name__}: search did not answer in time"
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="itemknn" if "itemknn" in MODELS else "popular")
    parser.add_argument("--seconds", type=int, default=15, help="wrk run length per level")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=RESULTS / "service.json")
    parser.add_argument("--search-timeout", type=float, default=300.0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    RESULTS.mkdir(parents=True, exist_ok=True)
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="shoprec-bench-"))
    bundle = work / "bundle"
    db_url = f"sqlite:///{work / 'store.sqlite'}"
    console.print(f"training {args.model} on amazon-beauty -> {bundle}")
    start = time.perf_counter()
    train_bundle("amazon-beauty", bundle, args.model)
    train_s = time.perf_counter() - start
    b = load_bundle(bundle)
    known = list(b.dataset.user_map.ids)
    rng = random.Random(0)
    sample = rng.sample(known, 1800) + [f"bench-new-{n}" for n in range(200)]
    script = work / "recs.lua"
    script.write_text(WRK_SCRIPT % (", ".join(f'"{u}"' for u in sample), 1))
    load_before = os.getloadavg()
    start = time.perf_counter()
    server = start_server(bundle, args.port, db_url)
    first_start_s = time.perf_counter() - start
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):  # warm-up: caches, lazy imports
            httpx.get(f"{url}/recommendations/{rng.choice(sample)}?k=10")
        levels = [run_wrk(url, script, c, args.seconds) for c in (1, 8, 32)]
        store = Store(db_url)
        before = store.count_events()
        ingestion = ingest(url, known, list(b.dataset.item_map.ids), clients=8, batches=25,
                           batch_size=100, seed=1)
        ingestion["stored"] = store.count_events() - before
        ingestion["acknowledged_equals_stored"] = ingestion["stored"] == ingestion["acknowledged"]
        store.close()
        shots = screenshots(url, known[0], args.search_timeout)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_after = os.getloadavg()
    result = {
        "benchmark": "service", "data": "amazon-beauty (22,363 shoppers, 12,101 items)",
        "model": args.model, "bundle_train_seconds": round(train_s, 1),
        "server": "shoprec serve (uvicorn, 1 process), SQLite WAL store, loopback",
        "first_start_seconds_incl_store_seeding": round(first_start_s, 1),
        "load_generator": "wrk (separate process), random shopper per request (90% known), k=10",
        "recommendations": levels, "ingestion": ingestion, "screenshots": shots,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after]},
        "command": "SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/service.py",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.write_text(json.dumps(result, indent=2))
    table = Table(title=f"GET /recommendations on Beauty ({args.model}), {os.cpu_count()} cores, "
                        f"load avg before {load_before[0]:.1f}")
    for col in ("clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
        table.add_column(col, justify="right")
    for r in levels:
        table.add_row(str(r["connections"]), f"{r['throughput_rps']:.0f}", f"{r['p50_ms']:.1f}",
                      f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}", str(r["errors"]))
    console.print(table)
    console.print(f"ingestion: {ingestion['acknowledged']} acknowledged, {ingestion['stored']} "
                  f"stored, {ingestion['events_per_second']:.0f} events/s "
                  f"({ingestion['failed_batches']} failed batches)")
    console.print(f"screenshots: {shots}; written {args.out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
