"""What exposure logging costs: GET /recommendations throughput at 32 clients, logging on vs off.

Data: Amazon Beauty 2014 5-core; the item-kNN bundle trained on all of it but each shopper's last
interaction (benchmarks/experiments.py writes it to artifacts/experiments/itemknn; trained here
when missing). Two `shoprec serve BUNDLE --seed --workers 1` servers, each on its own fresh
SQLite store, one with SHOPREC_EXPOSURE_LOGGING=0; `wrk` (benchmarks/service.py's script: 90%
known, 10% unknown shoppers, k=10) drives 32 connections for --seconds per run, in --rounds
rounds ordered off-on, on-off, off-on, ... (the machine is shared with other work: alternating
the order cancels a slow drift). The figure is the ratio of the summed requests; the median of
the rounds' on/off ratios is reported beside it.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/exposures.py [--rounds 3]

Writes benchmarks/results/exposures.json and prints a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.store import Store
from shoprec.store.experiment_tables import count_exposures

RESULTS = Path("benchmarks/results")
BUNDLE = Path("artifacts/experiments/itemknn")
console = Console(width=120)


def _service_module():
    """benchmarks/service.py (its server, wrk and paths helpers)."""
    spec = importlib.util.spec_from_file_location("bench_service", Path(__file__).with_name(
        "service.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    svc = _service_module()
    if not (BUNDLE / "manifest.json").is_file():
        from shoprec.data.sources import load_dataset
        from shoprec.experiments.holdout import hold_out_last

        history, _ = hold_out_last(load_dataset("amazon-beauty"))
        svc.train_itemknn(history, BUNDLE)
    work = Path(tempfile.mkdtemp(prefix="exposures-"))
    paths = svc.request_paths(BUNDLE, random.Random(0))
    script = svc.lua(work, "recs", paths["recs"])
    servers = {}
    loadavg_before = os.getloadavg()
    for logging_on, port in ((False, 8771), (True, 8772)):
        os.environ["SHOPREC_EXPOSURE_LOGGING"] = "1" if logging_on else "0"
        servers[logging_on] = svc.Server(BUNDLE, port, 1, work)
    os.environ.pop("SHOPREC_EXPOSURE_LOGGING")
    rounds: dict[str, list] = {"off": [], "on": []}
    try:
        for server in servers.values():
            for p in random.Random(1).sample(paths["recs"], 200):  # warm-up
                svc.httpx.get(server.url + p)
        for n in range(args.rounds):
            for logging_on in ((False, True) if n % 2 == 0 else (True, False)):
                r = svc.run_wrk(servers[logging_on].url, script, args.connections, args.seconds)
                rounds["on" if logging_on else "off"].append(r)
                console.print(f"round {n + 1} logging {'on ' if logging_on else 'off'}: "
                              f"{r['throughput_rps']} req/s, p99 {r['p99_ms']} ms")
        time.sleep(1.5)  # the last batch is written
        stored = {}
        for logging_on, server in servers.items():
            store = Store(server.db_url)
            stored["on" if logging_on else "off"] = count_exposures(store.engine)
            store.close()
    finally:
        for server in servers.values():
            server.stop()

    def total(key: str) -> dict:
        reqs = sum(r["requests"] for r in rounds[key])
        secs = sum(r["seconds"] for r in rounds[key])
        return {"requests": reqs, "seconds": round(secs, 2),
                "throughput_rps": round(reqs / secs, 1),
                "errors": sum(r["errors"] for r in rounds[key]),
                "p99_ms_per_round": [r["p99_ms"] for r in rounds[key]]}

    off, on = total("off"), total("on")
    ratio = round(on["throughput_rps"] / off["throughput_rps"], 3)
    per_round = [round(a["throughput_rps"] / b["throughput_rps"], 3)
                 for a, b in zip(rounds["on"], rounds["off"])]
    result = {
        "benchmark": "exposures", "data": "amazon-beauty 5-core, item-kNN bundle (minus each "
        "shopper's last interaction)", "server": "shoprec serve --workers 1, SQLite WAL store",
        "load": f"wrk, {args.connections} connections, GET /recommendations k=10 (90% known, "
                f"10% unknown shoppers), {args.rounds} alternating rounds of {args.seconds:g} s",
        "off": off, "on": on, "on_over_off": ratio, "on_over_off_per_round": per_round,
        "on_over_off_median_round": float(sorted(per_round)[len(per_round) // 2]
                                          if len(per_round) % 2 else
                                          sum(sorted(per_round)[len(per_round) // 2 - 1:
                                                                len(per_round) // 2 + 1]) / 2),
        "exposures_stored": stored,
        "goal": {"goal": "logging on / off throughput at 32 clients", "target": ">= 0.90",
                 "figure": ratio, "status": "met" if ratio >= 0.90 else "missed"},
        "rounds": rounds,
        "machine": machine(loadavg_before),
        "command": "python benchmarks/exposures.py " + " ".join(sys.argv[1:]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_result("exposures.json", result)
    table = Table(title="exposure logging: GET /recommendations at "
                        f"{args.connections} clients")
    for col in ("logging", "requests", "req/s", "errors", "exposures stored"):
        table.add_column(col, justify="right")
    for key, row in (("off", off), ("on", on)):
        table.add_row(key, str(row["requests"]), str(row["throughput_rps"]), str(row["errors"]),
                      str(stored[key]))
    console.print(table)
    console.print(f"on / off = {ratio} (goal >= 0.90: {result['goal']['status']}); per round "
                  f"{per_round}")


if __name__ == "__main__":
    main()
