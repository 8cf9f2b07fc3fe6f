"""`make demo` from the command to the first page, and until auto's choice serves (issue 24:
"first page <= 60 s on 2 cores, the chosen model live without a restart").

Runs `shoprec demo --dataset amazon-beauty --lang auto --serve` (what `make demo` runs; the
bundle and its store go to a temporary folder) as a user would, and measures from the start of
the command:
  * when each phase's line is printed (bundle written, server loading, page address),
  * the first 200 of GET / (polled every 0.1 s) and the model its footer names,
  * when GET /health first reports generation 1 (auto's choice, published by the background
    job) and the page's footer names it, while a prober requests GET / and
    GET /recommendations/{shopper} every 0.5 s: every answer must be a 200, and the demo's
    process must be the same one throughout (no restart).

The time from the page's address being printed to the first 200 is the server's start: the
first worker loads the bundle and listens; the search warm-up (as `serve` runs it) encodes every
catalogue text for search in the background (12,101 Beauty titles with MiniLM: most of a cold
start's CPU), and one process encodes while the others wait at the cache's lock. Also measured:
when every worker's /health first says `search_index: "ready"` (`search_ready_s`), polled
beside the rest.

The embedding cache is a fresh empty folder unless `--warm-cache` (then ~/.cache/shoprec, or
SHOPREC_CACHE_DIR): a fresh clone has none, so the default is the honest first run.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo_start.py \\
        [--budget 4] [--warm-cache]

Writes benchmarks/results/demo_start.json (one entry per cache state, the load averages and
the machine); prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import machine, write_result
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "demo_start.json"
SERVING = re.compile(r'id="serving-model" data-model="([^"]+)" data-generation="(\d+)"')
SHOPPER = re.compile(r'<option value="([^"]+)" data-token="([^"]+)"')
#: printed lines that mark a phase (first match wins), by what the phase is called here
PHASES = {"bundle_written": "bundle: ", "server_loading": "serving ", "page_address": "shop page: "}
FRESH_CACHE = "demo-cache-"  # the prefix of the empty cache a cold run gets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_lines(proc: subprocess.Popen, start: float, seen: dict[str, float], log: list[str]
                ) -> None:
    for line in proc.stdout:
        log.append(line.rstrip())
        for phase, prefix in PHASES.items():
            if phase not in seen and line.startswith(prefix):
                seen[phase] = round(time.monotonic() - start, 2)


def _footer(client: httpx.Client) -> tuple[str, int] | None:
    r = client.get("/", params={"lang": "en"})
    found = SERVING.search(r.text) if r.status_code == 200 else None
    return (found[1], int(found[2])) if found else None


def run_once(dataset: str, budget: float | None, cache: Path, timeout_s: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="demo-start-"))
    port = free_port()
    command = ["shoprec", "demo", "--dataset", dataset, "--lang", "auto", "--serve",
               "--port", str(port), "--out", str(folder / "demo-bundle"),
               *(["--budget", str(budget)] if budget is not None else [])]
    env = dict(os.environ, SHOPREC_CACHE_DIR=str(cache), OMP_WAIT_POLICY="PASSIVE",
               PYTHONUNBUFFERED="1")
    env.pop("SHOPREC_DATABASE_URL", None)
    load_before = os.getloadavg()
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from shoprec.cli import app; app(prog_name='shoprec')",
         *command[1:]], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    phases: dict[str, float] = {}
    log: list[str] = []
    threading.Thread(target=_read_lines, args=(proc, start, phases, log), daemon=True).start()
    # the record names places by role, not by this machine's paths
    out: dict = {"command": " ".join(command).replace(str(folder), "<temporary folder>"),
                 "cache": "<an empty temporary cache>" if cache.name.startswith(FRESH_CACHE)
                 else "<the user's cache>", "budget_minutes": budget}
    statuses: list[int] = []
    stop = threading.Event()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while (first := _try(lambda: _footer(client))) is None:
                if proc.poll() is not None or time.monotonic() - start > timeout_s:
                    raise RuntimeError("no page: " + "\n".join(log[-20:]))
                time.sleep(0.1)
            out["first_page_s"] = round(time.monotonic() - start, 2)
            out["first_page_model"], out["first_page_generation"] = first
            shopper = SHOPPER.search(client.get("/").text)  # the demo's "shop as" list
            prober = threading.Thread(target=_probe, args=(port, shopper[1], shopper[2],
                                                          statuses, stop), daemon=True)
            prober.start()
            ready: set[int] = set()
            while (health := client.get("/health").json())["generation"] < 1 or (
                    "search_ready_s" not in out):
                if proc.poll() is not None or time.monotonic() - start > timeout_s:
                    raise RuntimeError("auto's choice never served: " + "\n".join(log[-20:]))
                if "search_ready_s" not in out and _search_ready(port, ready, health["workers"]):
                    out["search_ready_s"] = round(time.monotonic() - start, 2)
                    t = time.perf_counter()
                    status = client.get("/search", params={"q": "red nail polish"}).status_code
                    out["first_search"] = {"status": status,
                                           "ms": round((time.perf_counter() - t) * 1000, 1)}
                time.sleep(0.5)
            out["choice_live_s"] = round(time.monotonic() - start, 2)
            out["choice_model"] = health["model"]
            out["choice_page_footer"] = list(_footer(client) or ())
            job = health["last_retrain"] or {}
            out["choice_job"] = {k: job.get(k) for k in ("kind", "state", "reason", "seconds",
                                                         "priority")}
            stop.set()
            prober.join()
            out["same_process"] = proc.poll() is None
            out["probe_requests"] = len(statuses)
            out["probe_non_200"] = sum(1 for s in statuses if s != 200)
    finally:
        stop.set()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    out["phases_s"] = phases
    if "page_address" in phases and "first_page_s" in out:  # the server loads and warms up
        out["page_address_to_first_200_s"] = round(out["first_page_s"] - phases["page_address"], 2)
    out["loadavg_before"] = [round(x, 2) for x in load_before]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _search_ready(port: int, ready: set[int], workers: int) -> bool:
    """Adds the pids whose /health says the search index is ready (fresh connections, so each
    worker answers some); True once every worker has."""
    for _ in range(4 * workers):
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30,
                               headers={"Connection": "close"}).json()
        except (httpx.HTTPError, ValueError):
            continue
        if health.get("search_index", "ready") == "ready":
            ready.add(health["pid"])
    return len(ready) >= workers


def _try(fn):
    try:
        return fn()
    except httpx.TransportError:
        return None


def _probe(port: int, shopper: str, token: str, statuses: list[int], stop: threading.Event
           ) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                      headers={"X-Shopper-Token": token}) as client:
        while not stop.is_set():
            for path in ("/", f"/recommendations/{shopper}?k=10"):
                try:
                    statuses.append(client.get(path).status_code)
                except httpx.TransportError:
                    statuses.append(0)
            stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=None, help="auto's minutes (default: "
                        "the demo's, 4)")
    parser.add_argument("--warm-cache", action="store_true", help="use the user's embedding "
                        "cache instead of a fresh one")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--dataset", default="amazon-beauty",
                        help="what `make demo SHOP=...` names (results are kept per data set)")
    args = parser.parse_args()
    default = Path(os.environ.get("SHOPREC_CACHE_DIR") or Path.home() / ".cache" / "shoprec")
    cache = default if args.warm_cache else Path(tempfile.mkdtemp(prefix=FRESH_CACHE))
    try:
        run = run_once(args.dataset, args.budget, cache, args.timeout)
    finally:
        if not args.warm_cache:
            shutil.rmtree(cache, ignore_errors=True)
    state = "warm" if args.warm_cache else "cold"
    result = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    result[f"{args.dataset}, {state} cache"] = run | {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime())}
    result["machine"] = machine(note="a shared 2-core machine: see each run's load averages")
    write_result(RESULTS, result)
    table = Table(title=f"make demo on {args.dataset} ({state} embedding cache)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("first_page_s", "page_address_to_first_200_s", "first_page_model",
                "search_ready_s", "first_search", "choice_live_s", "choice_model",
                "same_process", "probe_requests", "probe_non_200"):
        table.add_row(key, str(run.get(key)))
    for phase, t in run["phases_s"].items():
        table.add_row(f"printed '{PHASES[phase].strip()}' at (s)", str(t))
    table.add_row("load average before / after", f"{run['loadavg_before']} / "
                  f"{run['loadavg_after']}")
    Console().print(table)
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
