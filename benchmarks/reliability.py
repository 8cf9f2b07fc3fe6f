"""Reliability of the service (issue 14): fuzzing, kill -9 during ingestion, a soak, real faults.

Data: the first 2,000 Amazon Beauty 2014 shoppers with their full histories (the tests' slice),
an item-kNN bundle trained on them (written to artifacts/reliability/bundle). Every server is
`shoprec serve` in its own process on loopback; nothing is mocked (faults come from
tests/support/faults.py: a TCP proxy cutting PostgreSQL, PostgreSQL's read-only mode, an SQLite
lock held by another process).

(a) fuzz: schemathesis over the live /openapi.json (tests/service/test_fuzz.py, long profile),
    SQLite and PostgreSQL; (b) crash: kill -9 mid-ingestion, then re-send
    (tests/service/test_crash.py), --crash-runs per database; (c) soak: 32 client threads for
    --soak-seconds, RSS sampled every 10 s; (d) faults: each scenario's statuses, answer times
    and recovery without a restart.

    SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python benchmarks/reliability.py [--only fuzz,crash,soak,faults]

Writes benchmarks/results/reliability.json (sections not run are kept from the last run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the shared checks

import httpx
import polars as pl
from _common import machine, write_result
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from shoprec.data.dataset import build_dataset
from shoprec.data.sources import load_dataset
from tests.conftest import _database
from tests.service.conftest import API_KEY, MODEL, free_port, write_slice_bundle
from tests.service.test_crash import (
    crash_run,
    serve,
    serve_command,
    server_env,
    stored_counts,
)
from tests.service.test_fuzz import fuzz
from tests.support.faults import (
    TcpProxy,
    postgres_read_only,
    postgres_scratch_database,
    rss_bytes,
    sqlite_locked,
)

RESULTS = Path("benchmarks/results")
WORK = Path("artifacts/reliability")
KEY = {"X-API-Key": API_KEY}  # events of many shoppers: the shop's key
PG_ADMIN = os.environ.get("SHOPREC_TEST_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
QUERIES = ["red nail polish", "moisturizer for dry skin", "shampoo for curly hair", "sunscreen",
           "anti aging serum", "makeup brush set", "perfume for women", "eye liner"]
WRITE_TIMEOUT_S = 5.0  # the service's default `write_timeout_s`
console = Console()


class Shop:
    """Real ids from the bundle, and request makers the soak and the fault scenarios share."""

    def __init__(self, bundle: Path) -> None:
        self.items = pl.read_parquet(bundle / "items.parquet", columns=["item_id"])["item_id"]
        self.items = self.items.to_list()
        users = pl.read_parquet(bundle / "interactions.parquet", columns=["user_id"])
        self.users = users["user_id"].unique(maintain_order=True).to_list()
        self._n = 0
        self._lock = threading.Lock()

    def event_ids(self, prefix: str, n: int) -> list[str]:
        with self._lock:
            self._n += n
            return [f"{prefix}-{k}" for k in range(self._n - n, self._n)]

    def events(self, rng: random.Random, prefix: str, n: int = 1) -> dict[str, Any]:
        return {"events": [{"user_id": rng.choice(self.users), "item_id": rng.choice(self.items),
                            "event": rng.choice(["view", "click", "cart", "purchase"]),
                            "event_id": eid} for eid in self.event_ids(prefix, n)]}


def bundle_path() -> Path:
    """The tests' Beauty slice (first 2,000 shoppers), trained afresh each run (seconds) so the
    bundle always comes from the code being measured."""
    bundle = WORK / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    beauty = load_dataset("amazon-beauty")
    inter = beauty.interactions.filter(pl.col("user") < 2000).drop("user", "item")
    items = beauty.items.join(inter.select("item_id").unique(), on="item_id", how="semi")
    return write_slice_bundle(build_dataset(items, inter, name="beauty-slice"), bundle)


def workdir(name: str) -> Path:
    path = WORK / "runs" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextmanager
def server(bundle: Path, db: tuple[str, str | None], name: str) -> Iterator[tuple[Any, str]]:
    """A fresh `shoprec serve --seed` over a private copy of the bundle."""
    work = workdir(name)
    shutil.copytree(bundle, work / "bundle")
    proc, base = serve(work / "bundle", db, work / "server.log", seed=True)
    try:
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def sqlite_db(name: str) -> tuple[str, None]:
    """A fresh SQLite store in its own folder (with its -wal and -shm files)."""
    return f"sqlite:///{(workdir(name + '-db') / 'store.sqlite').resolve()}", None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


# ---- (a) fuzzing --------------------------------------------------------------------------


def run_fuzz(bundle: Path, examples: int) -> dict[str, Any]:
    out = {}
    for backend in ("sqlite", "postgresql"):
        with _database(backend, workdir(f"fuzz-db-{backend}")) as db, \
                server(bundle, db, f"fuzz-{backend}") as (_, base):
            report = fuzz(base, API_KEY, examples).as_json()
        out[backend] = {"examples_per_operation_mode_and_key": examples, **report}
        console.print(f"fuzz {backend}: {report['cases']} cases, {report['failures']} failures")
    return out


# ---- (b) kill -9 --------------------------------------------------------------------------


def run_crash(bundle: Path, runs: int) -> dict[str, Any]:
    results, summary = [], {}
    for backend in ("sqlite", "postgresql"):
        for run in range(1, runs + 1):
            work = workdir(f"crash-{backend}-{run}")
            with _database(backend, work) as db:
                results.append(crash_run(bundle, work, db, backend, run).as_json())
            r = results[-1]
            console.print(f"kill -9 {backend} #{run} at {r['kill_after_s']} s: {r['acknowledged']} "
                          f"acked, {r['lost']} lost, {r['duplicated']} duplicated")
        mine = [r for r in results if r["backend"] == backend]
        summary[backend] = {k: sum(r[k] for r in mine) for k in (
            "acknowledged", "acknowledged_stored", "lost", "duplicated", "unacknowledged",
            "in_flight_stored", "resent_duplicates")} | {"runs": len(mine)}
    return {"summary": summary, "runs": results}


# ---- (c) soak -----------------------------------------------------------------------------


MIX = [("GET /recommendations", 0.4), ("GET /items/{id}", 0.25), ("GET /search", 0.1),
       ("POST /events", 0.25)]


def soak_request(http: httpx.Client, shop: Shop, rng: random.Random, kind: str, tag: str
                 ) -> tuple[int, int]:
    """One request of `kind`; (status, events acknowledged)."""
    if kind == "GET /recommendations":
        user = rng.choice(shop.users) if rng.random() < 0.9 else f"soak-new-{rng.randrange(999)}"
        return http.get(f"/recommendations/{user}", params={"k": 10}).status_code, 0
    if kind == "GET /items/{id}":
        return http.get(f"/items/{rng.choice(shop.items)}").status_code, 0
    if kind == "GET /search":
        return http.get("/search", params={"q": rng.choice(QUERIES), "k": 10}).status_code, 0
    r = http.post("/events", json=shop.events(rng, tag, rng.randint(1, 5)), headers=KEY)
    return r.status_code, r.json()["stored"] if r.status_code == 200 else 0


def run_soak(bundle: Path, seconds: int, clients: int = 32) -> dict[str, Any]:
    shop = Shop(bundle)
    db = sqlite_db("soak")
    with server(bundle, db, "soak") as (proc, base):
        httpx.get(f"{base}/search", params={"q": "warm up"}, timeout=600)  # builds the index
        latencies: dict[str, list[float]] = defaultdict(list)
        statuses: dict[str, Counter[str]] = defaultdict(Counter)
        acked = [0] * clients
        rss: list[tuple[float, int]] = []
        start = time.monotonic()
        deadline = start + seconds

        def client(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < deadline:
                    kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
                    t0 = time.perf_counter()
                    try:
                        status, stored = soak_request(http, shop, rng, kind, "soak")
                    except httpx.HTTPError as exc:
                        status, stored = type(exc).__name__, 0
                    latencies[kind].append(time.perf_counter() - t0)
                    statuses[kind][str(status)] += 1
                    acked[n] += stored

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        while time.monotonic() < deadline:
            rss.append((round(time.monotonic() - start, 1), rss_bytes(proc.pid)))
            time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
        for t in threads:
            t.join()
        rss.append((round(time.monotonic() - start, 1), rss_bytes(proc.pid)))
        stored = sum(stored_counts(db, "soak-").values())
    every = [x for v in latencies.values() for x in v]
    requests = sum(sum(c.values()) for c in statuses.values())
    errors = sum(n for c in statuses.values() for s, n in c.items() if s != "200")
    mb = [(t, round(b / 2**20, 1)) for t, b in rss]
    second = [m for t, m in mb if 60 <= t < 120]
    last = [m for t, m in mb if t >= seconds - 60]
    drift = (statistics.mean(last) / statistics.mean(second) - 1) if second and last else None
    later = [(t, m) for t, m in mb if t >= 60]  # after the first minute's warm-up
    slope = (statistics.linear_regression([t for t, _ in later], [m for _, m in later]).slope
             if len(later) >= 2 else None)
    return {"seconds": seconds, "clients": clients, "mix": dict(MIX), "requests": requests,
            "errors": errors, "throughput_rps": round(requests / seconds, 1),
            "p50_ms": percentile(every, 0.5), "p99_ms": percentile(every, 0.99),
            "per_kind": {k: {"requests": len(v), "statuses": dict(statuses[k]),
                             "p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99)}
                         for k, v in latencies.items()},
            "events_acknowledged": sum(acked), "events_stored": stored,
            "rss_mb": mb, "rss_last_minute_vs_second_minute": None if drift is None
            else round(drift, 3), "memory_flat": None if drift is None else abs(drift) <= 0.10,
            "rss_growth_mb_per_minute_after_first": None if slope is None
            else round(slope * 60, 2),
            "load_generator": f"{clients} httpx threads in this process (latency includes their "
                              "share of the 2 cores)"}


# ---- (d) faults ---------------------------------------------------------------------------


def probe(http: httpx.Client, shop: Shop, rng: random.Random, kind: str) -> dict[str, Any]:
    """One request; its status, answer time, Retry-After and the fields that tell the state."""
    t0 = time.perf_counter()
    try:
        if kind == "POST /events":
            r = http.post("/events", json=shop.events(rng, "fault"), headers=KEY)
        elif kind == "GET /recommendations":
            r = http.get(f"/recommendations/{rng.choice(shop.users)}", params={"k": 10})
        else:
            r = http.get("/health")
    except httpx.HTTPError as exc:
        return {"status": type(exc).__name__, "s": time.perf_counter() - t0}
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    return {"status": r.status_code, "s": time.perf_counter() - t0,
            "retry_after": r.headers.get("retry-after"), "degraded": body.get("degraded"),
            "health": body.get("status"), "error": body.get("error")}


KINDS = ("POST /events", "GET /recommendations", "GET /health")


def watch(base: str, shop: Shop, seconds: float) -> dict[str, Any]:
    """Probe the three kinds in turn for `seconds`; statuses, answer times and states seen."""
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rng = random.Random(7)
    end = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < end:
            for kind in KINDS:
                seen[kind].append(probe(http, shop, rng, kind))
    return {k: summarize(v) for k, v in seen.items()}


def summarize(probes: list[dict[str, Any]]) -> dict[str, Any]:
    times = [p["s"] for p in probes]
    return {"statuses": dict(Counter(str(p["status"]) for p in probes)),
            "median_s": round(statistics.median(times), 3),
            "p99_s": round(sorted(times)[int(0.99 * (len(times) - 1))], 3),
            "max_s": round(max(times), 3),
            "retry_after": sorted({str(p.get("retry_after")) for p in probes}),
            "degraded": sorted({str(p.get("degraded")) for p in probes
                                if p.get("degraded") is not None}),
            "health": sorted({p["health"] for p in probes if p.get("health")}),
            "error": next((p["error"] for p in probes if p.get("error")), None)}


def recover(base: str, shop: Shop, limit_s: float = 120) -> dict[str, Any]:
    """Seconds until writes, recommendations and health are all fine again (no restart)."""
    rng = random.Random(8)
    start = time.monotonic()
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() - start < limit_s:
            got = {k: probe(http, shop, rng, k) for k in KINDS}
            # a probe that met a transport error has only status and time: not recovered yet
            if (got["POST /events"]["status"] == 200 and got["GET /health"].get("health") == "ok"
                    and got["GET /recommendations"]["status"] == 200
                    and got["GET /recommendations"].get("degraded") is False):
                return {"recovered": True, "recovery_s": round(time.monotonic() - start, 2)}
            time.sleep(0.5)
    return {"recovered": False, "recovery_s": None,
            "last": {k: v["status"] for k, v in got.items()}}


def outcome(during: dict[str, Any], want: dict[str, Callable[[dict[str, Any]], bool]],
            recovery: dict[str, Any]) -> dict[str, Any]:
    met = {k: bool(check(during[k])) for k, check in want.items()}
    return {"during": during, **recovery, "expectations_met": met,
            "as_expected": all(met.values()) and recovery["recovered"]}


def only(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda seen: set(seen["statuses"]) == {status}


def postgres_down(bundle: Path, shop: Shop) -> dict[str, Any]:
    proxy = TcpProxy("127.0.0.1", make_url(PG_ADMIN).port or 5432)
    try:
        with _database("postgresql", workdir("pg-down-db")) as (url, schema):
            proxied = make_url(url).set(port=proxy.port).render_as_string(hide_password=False)
            with server(bundle, (proxied, schema), "pg-down") as (_, base):
                before = watch(base, shop, 3)
                proxy.cut()
                during = watch(base, shop, 15)
                proxy.restore()
                result = outcome(during, {
                    "POST /events": lambda s: only("503")(s) and s["retry_after"] == ["5"],
                    "GET /recommendations": lambda s: only("200")(s) and s["degraded"] == ["True"],
                    "GET /health": lambda s: only("503")(s) and s["health"] == ["down"]},
                    recover(base, shop))
    finally:
        proxy.close()
    return {"scenario": "PostgreSQL down (TCP proxy cut for 15 s)", "before": before, **result}


def postgres_readonly(bundle: Path, shop: Shop) -> dict[str, Any]:
    with postgres_scratch_database(PG_ADMIN) as url, \
            server(bundle, (url, None), "pg-ro") as (_, base):
        before = watch(base, shop, 3)
        with postgres_read_only(PG_ADMIN, make_url(url).database or ""):
            during = watch(base, shop, 15)
        result = outcome(during, {
            "POST /events": only("503"),
            "GET /recommendations": only("200"),
            "GET /health": lambda s: only("200")(s) and s["health"] == ["degraded"]},
            recover(base, shop))
    return {"scenario": "PostgreSQL read-only for 15 s (default_transaction_read_only, sessions "
                        "ended)", "before": before, **result}


def sqlite_lock(bundle: Path, shop: Shop, hold_s: float = 35.0, writers: int = 50,
                readers: int = 8) -> dict[str, Any]:
    """`writers` clients POST /events and `readers` GET /recommendations, 10 s before, `hold_s`
    while another process holds the write lock, then until writes pass again."""
    db = sqlite_db("locked")
    phase = ["before"]
    seen: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    stop = threading.Event()
    with server(bundle, db, "sqlite-lock") as (_, base):

        def client(n: int, kind: str) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=base, timeout=60) as http:
                while not stop.is_set():
                    seen[(phase[0], kind)].append(probe(http, shop, rng, kind))

        threads = [threading.Thread(target=client, args=(n, "POST /events"))
                   for n in range(writers)]
        threads += [threading.Thread(target=client, args=(100 + n, "GET /recommendations"))
                    for n in range(readers)]
        for t in threads:
            t.start()
        time.sleep(10)
        with sqlite_locked(db[0].removeprefix("sqlite:///")):
            phase[0] = "locked"
            health, end = [], time.monotonic() + hold_s
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < end:  # health every 5 s while the lock is held
                    health.append(probe(http, shop, random.Random(9), "GET /health"))
                    time.sleep(min(5.0, max(0.0, end - time.monotonic())))
            phase[0] = "after"
        recovery = recover(base, shop)
        stop.set()
        for t in threads:
            t.join()
    during = {k: summarize(v) for (p, k), v in seen.items() if p == "locked"}
    during["GET /health"] = summarize(health)
    recs = {p: [x["s"] for x in v] for (p, k), v in seen.items() if k == "GET /recommendations"}
    result = outcome(during, {
        "POST /events": lambda s: set(s["statuses"]) <= {"200", "503"} and "503" in s["statuses"]
        and s["max_s"] <= WRITE_TIMEOUT_S + 1,  # 1 s of slack for a busy 2-core machine
        "GET /recommendations": only("200"),
        "GET /health": lambda s: s["health"] == ["degraded"]}, recovery)
    result["recommendation_latency_ms"] = {
        p: {"p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "max": percentile(v, 1.0)}
        for p, v in recs.items()}
    result["before"] = {k: summarize(v) for (p, k), v in seen.items() if p == "before"}
    return {"scenario": f"SQLite locked by another process for {hold_s:g} s, {writers} writers + "
                        f"{readers} readers", **result}


def missing_store(bundle: Path, lose: str) -> dict[str, Any]:
    """Serve once (seeded), stop, lose the store (`sqlite-file`, `pg-tables`: the schema stays
    empty, `pg-schema`: the configured schema is gone), restart without and then with --seed."""
    work = workdir(f"missing-{lose}")
    shutil.copytree(bundle, work / "bundle")
    with _database("sqlite" if lose == "sqlite-file" else "postgresql", work) as db:
        proc, _ = serve(work / "bundle", db, work / "server.log", seed=True)
        proc.terminate()
        proc.wait(timeout=30)
        if lose == "sqlite-file":
            for f in work.glob("store.sqlite*"):
                f.unlink()
        else:
            pg_sql(db[0], f'DROP SCHEMA "{db[1]}" CASCADE')
            if lose == "pg-tables":
                pg_sql(db[0], f'CREATE SCHEMA "{db[1]}"')
        t0 = time.perf_counter()
        run = subprocess.run(serve_command(work / "bundle", free_port(), seed=False),
                             env=server_env(db), capture_output=True, text=True, timeout=180,
                             check=False)
        refused_s = time.perf_counter() - t0
        try:
            proc, _ = serve(work / "bundle", db, work / "server.log", seed=True)
            proc.terminate()
            proc.wait(timeout=30)
            seeded = True
        except RuntimeError:
            seeded = False
        if lose == "pg-schema":  # back, so that the fixture can drop it
            pg_sql(db[0], f'CREATE SCHEMA IF NOT EXISTS "{db[1]}"')
    message = (run.stdout + run.stderr).strip()
    # a lost schema cannot be seeded into: the message must name it (and --seed cannot help)
    hint = "does not exist" if lose == "pg-schema" else "--seed"
    clear = run.returncode != 0 and hint in message and "Traceback" not in message
    expected = clear and (seeded or lose == "pg-schema")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = [n for n, line in enumerate(lines)
              if re.match(r"(error:|\w+(Error|Exception):)", line)]
    last = lines[errors[-1]:errors[-1] + 3] if errors else lines[-3:]
    return {"scenario": f"restart with the store missing ({lose})", "exit_code": run.returncode,
            "output_lines": len(message.splitlines()), "message": " ".join(last)[-400:],
            "refused_after_s": round(refused_s, 1), "clear_message": clear,
            "starts_with_seed": seeded, "recovered": seeded, "as_expected": expected}


def pg_sql(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def run_faults(bundle: Path) -> list[dict[str, Any]]:
    shop = Shop(bundle)
    out = []
    for scenario in (lambda: postgres_down(bundle, shop), lambda: postgres_readonly(bundle, shop),
                     lambda: sqlite_lock(bundle, shop),
                     *(lambda lose=lose: missing_store(bundle, lose)
                       for lose in ("sqlite-file", "pg-tables", "pg-schema"))):
        out.append(scenario())
        console.print(f"{out[-1]['scenario']}: as expected = {out[-1]['as_expected']}")
    return out


# ---- report -------------------------------------------------------------------------------


def print_tables(result: dict[str, Any]) -> None:
    table = Table(title="reliability (benchmarks/results/reliability.json)")
    for col in ("check", "figures", "pass"):
        table.add_column(col)
    for backend, f in result.get("fuzz", {}).items():
        table.add_row(f"fuzz {backend}", f"{f['cases']} cases, {f['failures']} failures",
                      str(f["failures"] == 0))
    for backend, c in result.get("crash", {}).get("summary", {}).items():
        table.add_row(f"kill -9 {backend}", f"{c['runs']} runs, {c['acknowledged']} acked, "
                      f"{c['lost']} lost, {c['duplicated']} duplicated, "
                      f"{c['in_flight_stored']} in-flight stored -> resent as duplicates "
                      f"{c['resent_duplicates']}", str(c["lost"] == 0 and c["duplicated"] == 0))
    if soak := result.get("soak"):
        rss = soak["rss_mb"]
        table.add_row(f"soak {soak['seconds']} s x {soak['clients']}",
                      f"{soak['requests']} requests, {soak['errors']} errors, p50 "
                      f"{soak['p50_ms']} ms, p99 {soak['p99_ms']} ms, RSS {rss[0][1]} -> "
                      f"{rss[-1][1]} MB ({soak['rss_growth_mb_per_minute_after_first']} MB/min "
                      "after the first minute)", str(soak["errors"] == 0 and soak["memory_flat"]))
    for f in result.get("faults", []):
        during = f.get("during", {})
        seen = "; ".join(f"{k} {v['statuses']} max {v['max_s']} s" for k, v in during.items())
        seen = seen or f"exit {f.get('exit_code')}: {f.get('message', '')[:160]}"
        table.add_row(f["scenario"], f"{seen}; recovered in {f.get('recovery_s', '-')} s",
                      str(f["as_expected"]))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="fuzz,crash,soak,faults")
    parser.add_argument("--soak-seconds", type=int, default=300)
    parser.add_argument("--crash-runs", type=int, default=10)
    parser.add_argument("--fuzz-examples", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS / "reliability.json")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    result = json.loads(args.out.read_text()) if args.out.is_file() else {}
    bundle = bundle_path()
    load_before = os.getloadavg()
    runners: dict[str, Callable[[], Any]] = {
        "fuzz": lambda: run_fuzz(bundle, args.fuzz_examples),
        "crash": lambda: run_crash(bundle, args.crash_runs),
        "soak": lambda: run_soak(bundle, args.soak_seconds),
        "faults": lambda: run_faults(bundle)}
    for part, runner in runners.items():
        if part in parts:
            result[part] = runner()
            result.setdefault("measured_at", {})[part] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                      time.gmtime())
    result.update({
        "benchmark": "reliability", "data": "amazon-beauty 2014 5-core, first 2,000 shoppers",
        "model": MODEL, "server": "shoprec serve (uvicorn, 1 process) on loopback",
        "machine": machine(load_before),
        "last_run_parts": sorted(parts),
        "command": "SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE "
                   ".venv/bin/python benchmarks/reliability.py " + " ".join(sys.argv[1:]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    write_result(args.out, result)
    print_tables(result)


if __name__ == "__main__":
    main()
