"""Service load test against issue 16's goals, for an item-kNN and a language-model bundle.

One run measures recommendations, item lookups, search, 1 vs N workers, memory and a retrain
under load, for both bundles.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items). The item-kNN bundle is trained
here on all of it except each shopper's last interaction; those 22,363 held-back interactions are
replayed through POST /events before the retrain (real data for ingestion and the retrain).
The language-model bundle is either given (`--lm-bundle PATH`: a `hybrid` or `sasrec` bundle,
e.g. from `shoprec train amazon-beauty --model hybrid`) or trained here on the same data with
`--model auto --budget MIN` (the manifest says what auto chose; it is reported); with neither,
its goals are reported as not measured.

Each server is `shoprec serve BUNDLE --seed --workers N` in its own process group (N = 1 or 2),
on a fresh SQLite store, search warm-up on as `serve` does by default. Load comes from `wrk` (a
separate process, a Lua script of real ids) on loopback:
  * GET /recommendations/{user}?k=10 (90% known shoppers, 10% unknown) and GET /items/{id} (the
    framework's floor, same server) at 1, 8, 32 and 128 clients, for 1 and N workers;
  * GET /search?q=... at 8 clients, queries made of the first words of real catalogue titles,
    and the latency of the first search once every worker's /health says its search index is
    ready (the server answers before that; search says 503 while the index is being built);
  * memory: RSS and PSS (from /proc/<pid>/smaps_rollup) of the master and each child, idle and
    after load;
  * ingestion of the held-back events (8 clients, batches of 100; acknowledged = stored), then a
    retrain (POST /admin/retrain -> 202 {"job", "state"}, polled at GET /admin/retrain/{job}
    until swapped / kept / failed; a 200 with the result is taken as the synchronous API) while
    wrk keeps 8 clients on /recommendations; failed requests counted and p99 compared with the
    same load without a retrain.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python \\
        benchmarks/service.py --lm-bundle /path/to/hybrid-bundle [--workers 2] [--quick] \\
        [--neighbour nice|nice-group|idle|none] [--neighbour-kind loop|matmul]

Beside a neighbour (`--neighbour`, default `nice`): each level of /recommendations and /items
runs quiet and then again beside a CPU-bound process per core at nice 19 in its own session
(`benchmarks/neighbour.py`: policies nice, nice-group, idle; `none` measures quiet only), and
both figures are reported side by side with their ratio and the CPU share the neighbour took.

Writes benchmarks/results/service.json (every section, every goal with its figure and met /
missed, load averages, machine). `--quick` is a smoke run (3 s per level, 1 and 32 clients).
`--retrain-only 1` then adds a retrain under 1 client (below saturation: 8 clients keep both
cores busy, and the retrain job, in the idle scheduling class, waits for them) to that JSON.
Needs /usr/bin/wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import polars as pl
from _common import machine, write_result
from neighbour import KINDS, POLICIES, autogroup_enabled, compare, neighbour_table  # benchmarks/
from rich.console import Console
from rich.table import Table

from shoprec.bundle import load_bundle, write_bundle
from shoprec.data.dataset import build_dataset
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import get_spec
from shoprec.store import Store

RESULTS = Path("benchmarks/results")
API_KEY = "bench-key"
FINAL_STATES = ("swapped", "kept", "failed")
WRK_SCRIPT = """
local paths = {%s}
math.randomseed(%d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
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
console = Console(width=120)


# ---- processes: server, wrk, memory ---------------------------------------------------------
class Server:
    """`shoprec serve` in its own process group on a fresh store; `start_s` until /health."""

    def __init__(self, bundle: Path, port: int, workers: int, work: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        db = work / f"store-{port}-{time.monotonic_ns()}.sqlite"
        env = dict(os.environ, SHOPREC_DATABASE_URL=f"sqlite:///{db}", SHOPREC_API_KEY=API_KEY)
        env.pop("SHOPREC_SEARCH_WARMUP", None)  # as deployed: search warm at start-up
        cmd = [str(Path(sys.executable).with_name("shoprec")), "serve", str(bundle), "--seed",
               "--port", str(port), "--workers", str(workers)]  # serve's default is every core
        self.db_url, self.workers, self.log = f"sqlite:///{db}", workers, work / f"serve-{port}.log"
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    self.start_s = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not answer /health within 900 s")

    def wait_search_ready(self, timeout_s: float = 900) -> float:
        """Seconds since start until every worker's /health says `search_index: "ready"` (the
        server listens while the index is still being built), asked on fresh connections."""
        started, ready = time.perf_counter(), set()
        deadline = time.monotonic() + timeout_s
        while len(ready) < self.workers:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"search index not ready: {self.log.read_text()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/health", headers={"Connection": "close"},
                                   timeout=5).json()
            except (httpx.HTTPError, ValueError):
                health = {}
            if health.get("search_index", "ready") == "ready" and "pid" in health:
                ready.add(health["pid"])
            else:
                time.sleep(0.1)
        return self.start_s + time.perf_counter() - started

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def memory(pid: int) -> dict:
    """RSS and PSS (MB) of `pid` and every descendant, from /proc/<pid>/smaps_rollup; PSS shares
    pages between processes fairly, so its total is what the server really costs."""
    def children(p: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    procs, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = {k: int(v) for k, v in re.findall(r"^(Rss|Pss):\s+(\d+) kB", text, re.MULTILINE)}
        procs.append({"pid": p, "rss_mb": round(kb.get("Rss", 0) / 1024, 1),
                      "pss_mb": round(kb.get("Pss", 0) / 1024, 1)})
        todo += children(p)
    return {"processes": procs, "total_rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
            "total_pss_mb": round(sum(p["pss_mb"] for p in procs), 1)}


def lua(work: Path, name: str, paths: list[str]) -> Path:
    script = work / f"{name}.lua"
    script.write_text(WRK_SCRIPT % (", ".join(json.dumps(p) for p in paths), 1))
    return script


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> dict:
    threads = min(connections, 2)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                          "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    stats = json.loads(re.search(r"WRKJSON (\{.*\})", out).group(1))
    secs = stats["duration_us"] / 1e6
    kinds = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    errors = sum(stats[k] for k in kinds)
    return {"connections": connections, "seconds": round(secs, 2), "requests": stats["requests"],
            "errors": errors, "error_kinds": {k: stats[k] for k in kinds if stats[k]},
            "throughput_rps": round(stats["requests"] / secs, 1),
            "p50_ms": stats["p50_us"] / 1000, "p95_ms": stats["p95_us"] / 1000,
            "p99_ms": stats["p99_us"] / 1000, "max_ms": stats["max_us"] / 1000,
            "loadavg_1min": round(os.getloadavg()[0], 2)}


# ---- data -----------------------------------------------------------------------------------
def beauty_minus_last() -> tuple:
    """Beauty without each shopper's last interaction, and those interactions as events."""
    ds = load_dataset("amazon-beauty")
    frame = ds.interactions.with_row_index("_row")
    last = frame.filter(pl.col("_row") == pl.col("_row").max().over("user"))
    kept = frame.join(last.select("_row"), on="_row", how="anti").drop("_row", "user", "item")
    train = build_dataset(ds.items, kept, name="amazon-beauty-minus-last")
    events = [{"user_id": u, "item_id": i, "event": "purchase", "timestamp": int(t)}
              for u, i, t in last.select("user_id", "item_id", "timestamp").iter_rows()]
    return train, events


def train_itemknn(train, out: Path) -> float:
    spec = get_spec("itemknn")
    start = time.perf_counter()
    fitted = spec.build(**(spec.candidates()[0] if spec.grid else {})).fit(full_train(train))
    seconds = time.perf_counter() - start
    write_bundle(out, train, fitted, extra={"train_seconds": round(seconds, 3)})
    return seconds


def lm_bundle(args: argparse.Namespace, train, work: Path) -> tuple[Path | None, str]:
    """The language-model bundle: given, trained by auto, or none (goals not measured)."""
    if args.lm_bundle:
        m = json.loads((args.lm_bundle / "manifest.json").read_text())
        return args.lm_bundle, (f"given: a {m.get('model')} bundle of {m.get('dataset')} "
                                f"created {m.get('created')}")
    if args.model == "auto":
        from shoprec.training import train_auto

        out = work / "lm"
        console.print(f"training --model auto (budget {args.budget} min) for the LM bundle")
        train_auto(train, out, args.budget)
        return out, f"trained here by --model auto --budget {args.budget}"
    return None, "none (give --lm-bundle PATH or --model auto --budget MIN)"


# ---- sections -------------------------------------------------------------------------------
def serve_section(bundle: Path, workers: int, port: int, work: Path, paths: dict, levels: list,
                  seconds: float, search: bool, neighbour: tuple[str, str] | None = None) -> dict:
    """One server: start time, first search, memory idle and loaded, each level's figures
    (quiet, and with `neighbour` = (policy, kind) each beside it too, right after)."""
    server = Server(bundle, port, workers, work)
    model = json.loads((bundle / "manifest.json").read_text()).get("model")
    out: dict = {"workers": workers, "model": model, "start_seconds": round(server.start_s, 2)}
    try:
        if search:  # the client is made first: building one costs httpx 15-50 ms by itself
            out["search_ready_seconds"] = round(server.wait_search_ready(), 2)
            first = paths["first_query"]
            with httpx.Client(timeout=120) as client:
                t = time.perf_counter()
                status = client.get(server.url + first).status_code
                out["first_search"] = {"ms": round((time.perf_counter() - t) * 1000, 1),
                                       "status": status, "path": first}
        for p in random.Random(0).sample(paths["recs"], 200):  # warm-up: lazy imports, caches
            httpx.get(server.url + p)
        out["memory_idle"] = memory(server.proc.pid)
        out["recommendations"], out["items"] = [], []
        beside = None if neighbour is None else {
            "policy": neighbour[0], "kind": neighbour[1], "recommendations": [], "items": []}
        for c in levels:
            for key, script in (("recommendations", paths["recs_lua"]),
                                ("items", paths["items_lua"])):
                def measure(script: Path = script, c: int = c) -> dict:
                    return run_wrk(server.url, script, c, seconds)
                if beside is None:
                    out[key].append(measure())
                    continue
                pair = compare(measure, *neighbour)
                out[key].append(pair["quiet"])
                beside[key].append({**pair["neighbour"], "neighbour": pair["neighbour_process"]})
        if beside is not None:
            out["beside_neighbour"] = beside
        if search:
            out["search"] = run_wrk(server.url, paths["search_lua"], 8, seconds)
        out["memory_loaded"] = memory(server.proc.pid)
    finally:
        server.stop()
    return out


def ingest(url: str, events: list[dict], clients: int = 8, batch_size: int = 100) -> dict:
    """`clients` threads post `events` in batches; acknowledged = sum of `stored` of the 200s."""
    batches = [events[lo:lo + batch_size] for lo in range(0, len(events), batch_size)]
    acked, failed = [0] * clients, [0] * clients

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for batch in batches[n::clients]:
                r = http.post("/events", json={"events": batch},
                              headers={"X-API-Key": API_KEY})  # many shoppers: the key
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
    return {"clients": clients, "batch_size": batch_size, "events_sent": len(events),
            "failed_batches": sum(failed), "acknowledged": sum(acked),
            "seconds": round(seconds, 2), "events_per_second": round(sum(acked) / seconds, 1)}


def retrain_job(url: str) -> dict:
    """Start a retrain and wait for its final state (job API), or take a synchronous answer."""
    start = time.perf_counter()
    r = httpx.post(f"{url}/admin/retrain", headers={"X-API-Key": API_KEY}, timeout=3600)
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code == 200:  # the synchronous API: the result is the answer
        return {"api": "synchronous", "status": 200, "state": "swapped" if body.get("swapped")
                else "kept", **body, "seconds": round(time.perf_counter() - start, 2)}
    if r.status_code != 202 or "job" not in body:
        return {"api": "job", "status": r.status_code, "state": "failed", "error": r.text[:300]}
    job, state, polls = body["job"], body.get("state"), 0
    while state not in FINAL_STATES and time.perf_counter() - start < 3600:
        time.sleep(0.5)
        polls += 1
        s = httpx.get(f"{url}/admin/retrain/{job}", headers={"X-API-Key": API_KEY}, timeout=30)
        body = s.json() if s.status_code == 200 else {"state": None, "poll_status": s.status_code}
        state = body.get("state")
    return {"api": "job", "job": job, "polls": polls, **body, "state": state,
            "seconds": round(time.perf_counter() - start, 2)}


def retrain_section(bundle: Path, workers: int, port: int, work: Path, paths: dict,
                    events: list[dict], seconds: float, window: float, clients: int = 8) -> dict:
    """Ingest the held-back events, measure `clients` without a retrain, then with one."""
    server = Server(bundle, port, workers, work)
    try:
        for p in paths["recs"][:200]:
            httpx.get(server.url + p)
        store = Store(server.db_url)
        before = store.count_events()
        ingestion = ingest(server.url, events)
        ingestion["stored"] = store.count_events() - before
        ingestion["acknowledged_equals_stored"] = ingestion["stored"] == ingestion["acknowledged"]
        store.close()
        baseline = run_wrk(server.url, paths["recs_lua"], clients, window)
        holder: dict = {}
        load = threading.Thread(target=lambda: holder.update(
            run_wrk(server.url, paths["recs_lua"], clients, window)))
        load.start()
        time.sleep(2)
        job = retrain_job(server.url)
        job["finished_inside_load_window"] = load.is_alive()
        load.join()
    finally:
        server.stop()
    return {"workers": workers, "clients": clients, "ingestion": ingestion,
            "without_retrain": baseline, "retrain": job, "with_retrain": holder,
            "seconds_per_level": seconds}


# ---- goals and tables -----------------------------------------------------------------------
def at(section: dict | None, key: str, clients: int) -> dict | None:
    return next((r for r in (section or {}).get(key, []) if r["connections"] == clients), None)


def goals(result: dict) -> list[dict]:
    """Issue 16's goals, each with its measured figure (None: not measured) and met / missed."""
    rows: list[dict] = []

    def goal(name: str, figure: float | None, target: float, higher: bool) -> None:
        met = None if figure is None else (figure >= target if higher else figure <= target)
        rows.append({"goal": name, "target": f"{'>=' if higher else '<='} {target:g}",
                     "figure": None if figure is None else round(figure, 3),
                     "status": "not measured" if met is None else "met" if met else "missed"})

    for label, knn in result["itemknn"].items():
        lm = result["language_model"].get("servers", {}).get(label)
        recs, items = at(knn, "recommendations", 32), at(knn, "items", 32)
        goal(f"itemknn, {label}: GET /recommendations req/s at 32 clients",
             recs and recs["throughput_rps"], 1000, True)
        goal(f"itemknn, {label}: p99 ms at 32 clients", recs and recs["p99_ms"], 25, False)
        goal(f"itemknn, {label}: recommendations / items req/s at 32 clients",
             recs and items and recs["throughput_rps"] / items["throughput_rps"], 0.7, True)
        beside = knn.get("beside_neighbour")
        n_recs, n_items = at(beside, "recommendations", 32), at(beside, "items", 32)
        if n_recs and n_items:  # reported beside the quiet goals, no target of their own
            policy = f"beside a {beside['policy']} neighbour"
            for name, figure in ((f"{policy}: req/s", n_recs["throughput_rps"]),
                                 (f"{policy}: p99 ms", n_recs["p99_ms"]),
                                 (f"{policy}: recommendations / items req/s",
                                  n_recs["throughput_rps"] / n_items["throughput_rps"])):
                rows.append({"goal": f"itemknn, {label}, 32 clients, {name}", "target": "-",
                             "figure": round(figure, 3), "status": "reported"})
        lm_recs = at(lm, "recommendations", 32)
        goal(f"LM bundle, {label}: req/s at 32 clients / itemknn's",
             lm_recs and recs and lm_recs["throughput_rps"] / recs["throughput_rps"], 0.5, True)
        goal(f"LM bundle, {label}: p99 ms at 32 clients", lm_recs and lm_recs["p99_ms"], 50, False)
        search = knn.get("search")
        goal(f"search, {label}: p99 ms at 8 clients", search and search["p99_ms"], 50, False)
        first = knn.get("first_search")
        goal(f"search, {label}: first query after start, ms",
             first and first["status"] == 200 and first["ms"] or None, 50, False)
    retrain = result.get("retrain_under_load") or {}
    during, without = retrain.get("with_retrain") or {}, retrain.get("without_retrain") or {}
    job = retrain.get("retrain", {})  # a retrain that outlasted the load window is not measured
    done = job.get("state") in ("swapped", "kept") and job.get("finished_inside_load_window")
    goal("retrain under 8-client load: failed requests",
         during.get("errors") if done else None, 0, False)
    goal("retrain under 8-client load: p99 / p99 without retrain",
         during["p99_ms"] / without["p99_ms"] if done and during and without else None, 2, False)
    light = result.get("retrain_under_light_load") or {}
    if light.get("retrain"):  # below saturation: the idle-class job gets the spare core
        during, without, job = light.get("with_retrain") or {}, light["without_retrain"], light["retrain"]
        done = job.get("state") in ("swapped", "kept") and job.get("finished_inside_load_window")
        goal(f"retrain under {light['clients']}-client load: failed requests",
             during.get("errors") if done else None, 0, False)
        goal(f"retrain under {light['clients']}-client load: p99 / p99 without retrain",
             during["p99_ms"] / without["p99_ms"] if done and during else None, 2, False)
    return rows


def print_tables(result: dict) -> None:
    for bundle_name, servers in (("itemknn", result["itemknn"]),
                                 ("LM bundle", result["language_model"].get("servers", {}))):
        for label, s in servers.items():
            if "error" in s:
                console.print(f"{bundle_name}, {label}: {s['error']}")
                continue
            t = Table(title=f"{bundle_name}, {label}: started in {s['start_seconds']} s, PSS "
                            f"{s['memory_loaded']['total_pss_mb']} MB (RSS "
                            f"{s['memory_loaded']['total_rss_mb']} MB) in "
                            f"{len(s['memory_loaded']['processes'])} processes after load")
            for col in ("clients", "recs req/s", "p50 ms", "p99 ms", "errors", "items req/s",
                        "items p99 ms", "ratio", "load avg"):
                t.add_column(col, justify="right")
            for r, p in zip(s["recommendations"], s["items"]):
                t.add_row(str(r["connections"]), f"{r['throughput_rps']:.0f}", f"{r['p50_ms']:.1f}",
                          f"{r['p99_ms']:.1f}", str(r["errors"] + p["errors"]),
                          f"{p['throughput_rps']:.0f}", f"{p['p99_ms']:.1f}",
                          f"{r['throughput_rps'] / p['throughput_rps']:.2f}", str(r["loadavg_1min"]))
            console.print(t)
            if "beside_neighbour" in s:
                console.print(neighbour_table(f"{bundle_name} ({s.get('model')}), {label}", s))
            if "search" in s:
                q, f = s["search"], s.get("first_search", {})
                console.print(f"  search, 8 clients: {q['throughput_rps']:.0f} req/s, p50 "
                              f"{q['p50_ms']:.1f} ms, p99 {q['p99_ms']:.1f} ms, {q['errors']} errors;"
                              f" first query after start {f.get('ms')} ms (HTTP {f.get('status')})")
    r = result.get("retrain_under_load")
    if r:
        ing, job = r["ingestion"], r["retrain"]
        console.print(f"ingestion: {ing['acknowledged']} acknowledged, {ing['stored']} stored, "
                      f"{ing['events_per_second']:.0f} events/s")
        w, d = r["without_retrain"], r.get("with_retrain") or {}
        console.print(f"retrain ({job.get('api')} API, {r['workers']} worker(s)): state "
                      f"{job.get('state')} in {job.get('seconds')} s; 8 clients p99 "
                      f"{w['p99_ms']:.1f} ms without, {d.get('p99_ms')} ms with, "
                      f"{d.get('errors')} failed requests of {d.get('requests')}"
                      + ("" if job.get("finished_inside_load_window") else
                         "; the retrain outlasted the load window (raise --retrain-window)"))
    t = Table(title="issue 16 goals")
    for col in ("goal", "target", "figure", "status"):
        t.add_column(col)
    for g in result["goals"]:
        t.add_row(g["goal"], g["target"], str(g["figure"]), g["status"])
    console.print(t)


# ---- main -----------------------------------------------------------------------------------
def request_paths(bundle: Path, rng: random.Random) -> dict:
    b = load_bundle(bundle)
    known = list(b.dataset.user_map.ids)
    users = rng.sample(known, 1800) + [f"bench-new-{n}" for n in range(200)]
    items = rng.sample(list(b.dataset.item_map.ids), 2000)
    titles = [t for t in b.dataset.items["title"].drop_nulls().to_list() if t.strip()]
    queries = [" ".join(t.split()[:rng.randint(2, 5)]) for t in rng.sample(titles, 501)]
    search = [f"/search?q={quote(q, safe='')}&k=10" for q in queries]
    return {"recs": [f"/recommendations/{quote(u, safe='')}?k=10" for u in users],
            "items": [f"/items/{quote(i, safe='')}" for i in items],
            "search": search[1:], "first_query": search[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm-bundle", type=Path, help="a hybrid or sasrec bundle to measure")
    parser.add_argument("--model", choices=["auto"], help="train the LM bundle here with auto")
    parser.add_argument("--budget", type=float, default=20.0, help="--model auto: minutes")
    parser.add_argument("--workers", type=int, default=2, help="N of the 1-vs-N comparison")
    parser.add_argument("--seconds", type=float, default=15, help="wrk run length per level")
    parser.add_argument("--retrain-window", type=float, default=90,
                        help="seconds of 8-client load with (and without) the retrain")
    parser.add_argument("--quick", action="store_true", help="smoke run: short, fewer levels")
    parser.add_argument("--retrain-only", type=int, metavar="CLIENTS", default=None,
                        help="only a retrain under CLIENTS clients (below saturation, e.g. 1), "
                             "added to --out as retrain_under_light_load")
    parser.add_argument("--neighbour", choices=[*POLICIES, "none"], default="nice",
                        help="measure each level again beside a CPU-bound process per core at "
                             "this priority (none: quiet only)")
    parser.add_argument("--neighbour-kind", choices=KINDS, default="loop",
                        help="the neighbour's work: a Python busy loop or numpy products")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=RESULTS / "service.json")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    levels = [1, 32] if args.quick else [1, 8, 32, 128]
    seconds = 3 if args.quick else args.seconds
    window = 60 if args.quick else args.retrain_window
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shoprec-bench-"))
    load_before = os.getloadavg()
    console.print("training itemknn on amazon-beauty minus each shopper's last event")
    train, events = beauty_minus_last()
    knn_bundle = work / "itemknn"
    train_s = train_itemknn(train, knn_bundle)
    if args.retrain_only is not None:
        retrain_only(args, knn_bundle, work, events, window)
        return
    lm_path, lm_source = lm_bundle(args, train, work)
    rng = random.Random(0)
    paths = request_paths(knn_bundle, rng)
    for name in ("recs", "items", "search"):
        paths[f"{name}_lua"] = lua(work, name, paths[name])
    lm_paths = dict(paths)
    if lm_path is not None:  # its own shoppers and items (a given bundle may hold other ids)
        lm_paths = request_paths(lm_path, random.Random(0))
        for name in ("recs", "items"):
            lm_paths[f"{name}_lua"] = lua(work, f"lm-{name}", lm_paths[name])
    result: dict = {"itemknn": {}, "language_model": {"source": lm_source}}
    if lm_path is not None:
        manifest = json.loads((lm_path / "manifest.json").read_text())
        result["language_model"]["model"] = manifest.get("model")
        result["language_model"]["servers"] = {}
    port = args.port
    for workers in sorted({1, args.workers}):
        label = f"{workers} worker" + ("s" if workers > 1 else "")
        for key, bundle, p, search in (("itemknn", knn_bundle, paths, True),
                                       ("language_model", lm_path, lm_paths, False)):
            if bundle is None:
                continue
            console.print(f"serving {key} with {label}")
            target = result[key] if key == "itemknn" else result[key]["servers"]
            try:
                target[label] = serve_section(
                    bundle, workers, port, work, p, levels, seconds, search,
                    None if args.neighbour == "none" else (args.neighbour, args.neighbour_kind))
            except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as exc:
                target[label] = {"workers": workers, "error": f"{type(exc).__name__}: {exc}"[:800]}
            port += 1
    served = [s["workers"] for s in result["itemknn"].values() if "error" not in s]
    try:
        result["retrain_under_load"] = retrain_section(knn_bundle, max(served or [1]), port, work,
                                                       paths, events, seconds, window)
    except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as exc:
        result["retrain_under_load"] = {"error": f"{type(exc).__name__}: {exc}"[:800]}
    result["goals"] = goals({**result, "retrain_under_load":
                             result["retrain_under_load"] if "error" not in
                             result["retrain_under_load"] else {}})
    load_after = os.getloadavg()
    result.update({
        "benchmark": "service", "quick": args.quick,
        "data": "amazon-beauty 5-core (22,363 shoppers, 12,101 items)",
        "itemknn_bundle": "beauty minus each shopper's last interaction",
        "itemknn_train_seconds": round(train_s, 1),
        "server": "shoprec serve [--workers N], SQLite WAL store, loopback, search warm-up on",
        "load_generator": "wrk (separate process, up to 2 threads), random path per request; "
                          "recommendations k=10 for 90% known / 10% unknown shoppers",
        "seconds_per_level": seconds, "levels": levels,
        "neighbour": None if args.neighbour == "none" else {
            "policy": args.neighbour, "kind": args.neighbour_kind, "processes": "one per core",
            "session": "its own (as another user's job)", "autogroup_enabled": autogroup_enabled()},
        "machine": machine(load_before),
        "command": " ".join(["python", *(Path(a).name if a.startswith("/") else a
                                          for a in sys.argv)]),  # no machine's paths
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    write_result(args.out, result)
    print_tables(result)
    console.print(f"written {args.out}; load average before {load_before[0]:.1f}, after "
                  f"{load_after[0]:.1f}")
    shutil.rmtree(work, ignore_errors=True)


def retrain_only(args: argparse.Namespace, bundle: Path, work: Path, events: list[dict],
                 window: float) -> None:
    """A retrain under a load below saturation, added to an earlier full run's JSON."""
    result = json.loads(args.out.read_text())
    paths = request_paths(bundle, random.Random(0))
    paths["recs_lua"] = lua(work, "recs", paths["recs"])
    result["retrain_under_light_load"] = retrain_section(
        bundle, args.workers, args.port, work, paths, events, args.seconds, window,
        clients=args.retrain_only)
    result["retrain_under_light_load"]["loadavg_after"] = round(os.getloadavg()[0], 2)
    result["goals"] = goals(result)
    write_result(args.out, result)
    print_tables(result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
