"""`shoprec serve --workers 2` as deployed: start-up time, memory (PSS), every write route with a
deadline, and the time a SIGTERM takes to stop it all.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items). An item-kNN bundle is trained
here on all of it (or `--bundle PATH` is served, e.g. a `sasrec` or `hybrid` bundle). The server
runs in its own process group on a fresh SQLite store (search warm-up on, as `serve` does). Then,
each request with a deadline (`--deadline`, default 30 s; a request past it is "hung"):
POST /events, POST /items, GET /users/{id}/export, DELETE /users/{id} (three real shoppers, one
after another), POST /admin/retrain (202 and its job), POST /chat, POST /admin/experiments
(a bad body: 422), and GET /recommendations after each. Memory is RSS and PSS of the master and
every child from /proc/<pid>/smaps_rollup, once every worker answers.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/prefork.py --label after

Writes benchmarks/results/prefork.json, one entry per `--label` (run it on the old code with
`--label before` to compare in the same file).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_result
from service import API_KEY, Server, memory  # benchmarks share their helpers

RESULTS = Path("benchmarks/results")
KEY = {"X-API-Key": API_KEY}
console = Console(width=110)


def timed(client: httpx.Client, method: str, path: str, deadline: float, **kw) -> dict:
    """One request; its status and seconds, or "hung" past the deadline."""
    start = time.perf_counter()
    try:
        r = client.request(method, path, timeout=deadline, **kw)
        return {"route": f"{method} {path.split('?')[0]}", "status": r.status_code,
                "s": round(time.perf_counter() - start, 3)}
    except httpx.TimeoutException:
        return {"route": f"{method} {path.split('?')[0]}", "status": "hung",
                "s": round(time.perf_counter() - start, 3)}


def answering(url: str) -> set[int]:
    """The worker pids that answer /health on fresh connections (the kernel spreads them)."""
    pids = set()
    for _ in range(20):
        try:
            pids.add(httpx.get(f"{url}/health", headers={"Connection": "close"},
                               timeout=10).json()["pid"])
        except httpx.HTTPError:
            pass
    return pids


def write_routes(url: str, users: list[str], item: str, deadline: float) -> list[dict]:
    shopper = users[0]
    with httpx.Client(base_url=url, headers=KEY) as c:
        token = c.post(f"/users/{shopper}/token").json()["token"]
        rows = [
            timed(c, "POST", "/events", deadline, json={"events": [
                {"user_id": shopper, "item_id": item, "event": "purchase"}]},
                headers={**KEY, "X-Shopper-Token": token}),
            timed(c, "POST", "/items", deadline, json={"items": [
                {"item_id": "bench-new-1", "title": "Rose water facial toner spray"}]}),
            timed(c, "GET", f"/users/{shopper}/export", deadline),
        ]
        for user in users:
            rows.append(timed(c, "DELETE", f"/users/{user}", deadline))
            rows.append(timed(c, "GET", f"/recommendations/{users[-1]}?k=10", deadline))
        rows += [
            timed(c, "POST", "/admin/retrain", deadline),
            timed(c, "POST", "/chat", deadline, json={"message": "a nail polish remover"}),
            timed(c, "POST", "/admin/experiments", deadline, json={"variants": "bad"}),
            timed(c, "GET", f"/recommendations/{users[-1]}?k=10", deadline),
        ]
    return rows


def run(bundle: Path, workers: int, deadline: float, work: Path) -> dict:
    from shoprec.bundle import load_bundle

    ds = load_bundle(bundle).dataset
    users = [str(u) for u in ds.user_map.ids[:3]]
    item = str(ds.item_map.ids[0])
    started = time.perf_counter()
    server = Server(bundle, port=18700 + os.getpid() % 1000, workers=workers, work=work)
    first_answer_s = server.start_s
    while len(answering(server.url)) < workers and time.perf_counter() - started < 300:
        time.sleep(0.2)
    every_worker_s = round(time.perf_counter() - started, 2)
    idle = memory(server.proc.pid)
    rows = write_routes(server.url, users, item, deadline)
    time.sleep(2)  # a deletion's new generation replaces the workers
    after = memory(server.proc.pid)
    stop_start = time.perf_counter()
    os.killpg(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(timeout=120)
        stop_s: float | str = round(time.perf_counter() - stop_start, 2)
    except subprocess.TimeoutExpired:
        stop_s = "hung (over 120 s)"
        server.stop()
    return {"bundle": bundle.name, "model": load_bundle(bundle).manifest.get("model"),
            "workers": workers, "first_health_s": round(first_answer_s, 2),
            "every_worker_answers_s": every_worker_s,
            "idle_memory": idle, "after_writes_memory": after, "routes": rows,
            "hung": sum(r["status"] == "hung" for r in rows), "stop_s": stop_s,
            "log_tail": server.log.read_text()[-1500:].replace(str(bundle), "<bundle>")
            .replace(str(work), "<work folder>")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", type=Path, help="bundle to serve (default: item-kNN on Beauty)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--deadline", type=float, default=30.0)
    ap.add_argument("--label", default="after", help="the entry in prefork.json this run fills")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle = args.bundle
        if bundle is None:
            bundle = work / "beauty-itemknn"
            subprocess.run([str(Path(sys.executable).with_name("shoprec")), "train",
                            "amazon-beauty", "--out", str(bundle)], check=True,
                           stdout=subprocess.DEVNULL)
        result = run(bundle, args.workers, args.deadline, work)
    result |= {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, text=True,
                                        capture_output=True).stdout.strip(),
               "machine": machine(load_before),
               "command": " ".join(sys.argv).replace(str(args.bundle), "<bundle>")
               if args.bundle else " ".join(sys.argv)}
    table = Table(title=f"{result['model']}, --workers {args.workers} ({args.label})")
    for col in ("route", "status", "seconds"):
        table.add_column(col)
    for r in result["routes"]:
        table.add_row(r["route"], str(r["status"]), f"{r['s']:.3f}")
    console.print(table)
    console.print(f"first /health 200 after {result['first_health_s']} s, every worker after "
                  f"{result['every_worker_answers_s']} s; PSS idle "
                  f"{result['idle_memory']['total_pss_mb']} MB "
                  f"({len(result['idle_memory']['processes'])} processes), after writes "
                  f"{result['after_writes_memory']['total_pss_mb']} MB; stop {result['stop_s']} s; "
                  f"hung {result['hung']}")
    out = RESULTS / "prefork.json"
    stored = json.loads(out.read_text()) if out.exists() else {}
    stored[args.label] = result
    write_result(out, stored)


if __name__ == "__main__":
    main()
