"""Collaborative-filtering baselines on Amazon Beauty next to the published figures.

Protocol (the one of ../shared/ANCHORS.md): leave-one-out (last item test, second-last
validation, rest training), full ranking over all 12,101 items, items of the input history
masked, pessimistic ties (shoprec.evaluation). Every model tries its registry grid on validation
only; the best setting by validation NDCG@10 is scored once on test. Train seconds are the fit of
the chosen setting; eval seconds are scoring and ranking all test shoppers; "select s" is the wall
time of the whole grid search plus the test run (its CPU seconds are in the JSON). The machine's
load average before and after the run is recorded too: on a shared machine, wall times grow with
it. Published rows come from TIGER (NeurIPS 2023), Table 1, on the same sequences and protocol;
they are quoted, not measured here.

    SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/baselines.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.data.dataset import fingerprint
from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.evaluation.protocol import run_evaluation
from shoprec.models.base import get_params
from shoprec.models.registry import get_spec

MODELS = ("popular", "userknn", "itemknn", "als", "bpr")
KS = (5, 10, 20)
PUBLISHED = {  # ../shared/ANCHORS.md, TIGER (NeurIPS 2023) Table 1, Beauty, full ranking, LOO
    "SASRec (BCE, 1 negative), published": {
        "recall@5": 0.0387, "ndcg@5": 0.0249, "recall@10": 0.0605, "ndcg@10": 0.0318},
    "TIGER, published": {
        "recall@5": 0.0454, "ndcg@5": 0.0321, "recall@10": 0.0648, "ndcg@10": 0.0384},
}


def run_model(ds, name: str, split) -> dict:
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_evaluation(ds, name, split=split)
    settings = get_params(get_spec(name).build(**result.params))
    return {
        "model": name, "params": result.params, "all_settings": settings,
        "test": result.metrics,
        "valid_ndcg@10": result.valid_metrics["ndcg@10"],
        "train_seconds": round(result.train_seconds, 2),
        "eval_seconds": round(result.eval_seconds, 2),
        "select_seconds": round(time.perf_counter() - start, 1),
        "select_cpu_seconds": round(time.process_time() - cpu_start, 1),
        "tried": [{"params": t["params"], "valid_ndcg@10": t["ndcg@10"],
                   "train_seconds": round(t["train_seconds"], 2)} for t in result.tried],
    }


def table(rows: list[dict]) -> Table:
    out = Table(title="Amazon Beauty, leave-one-out, full ranking, test split")
    out.add_column("model")
    for k in KS:
        out.add_column(f"R@{k}", justify="right")
        out.add_column(f"N@{k}", justify="right")
    for col in ("valid N@10", "train s", "eval s", "select s", "chosen params"):
        out.add_column(col, justify="right" if col != "chosen params" else "left")
    for row in rows:
        m = row["test"]
        cells = [f"{m[f'{x}@{k}']:.4f}" for k in KS for x in ("recall", "ndcg")]
        out.add_row(row["model"], *cells, f"{row['valid_ndcg@10']:.4f}",
                    f"{row['train_seconds']:.1f}", f"{row['eval_seconds']:.1f}",
                    f"{row['select_seconds']:.0f}", json.dumps(row["params"]))
    for name, m in PUBLISHED.items():
        cells = [f"{m[f'{x}@{k}']:.4f}" if f"{x}@{k}" in m else "" for k in KS
                 for x in ("recall", "ndcg")]
        out.add_row(name, *cells, "", "", "", "", "quoted from ANCHORS.md", style="dim")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="amazon-beauty")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/baselines.json"))
    args = parser.parse_args()

    console = Console()
    load_before = os.getloadavg()  # other work on a shared machine inflates every timing
    ds = load_dataset(args.dataset)
    split = leave_one_out(ds)
    rows = []
    for name in args.models:
        console.print(f"[bold]{name}[/]: trying its grid on validation ...")
        rows.append(run_model(ds, name, split))
        console.print(f"  test NDCG@10 {rows[-1]['test']['ndcg@10']:.4f} "
                      f"({rows[-1]['select_seconds']:.0f} s)")
    console.print(table(rows))
    report = {
        "data": {"dataset": ds.name, "users": ds.n_users, "items": ds.n_items,
                 "interactions": ds.interactions.height, "fingerprint": fingerprint(ds),
                 "protocol": split.protocol, "ranking": "full, seen items masked, pessimistic ties",
                 "valid_users": len(split.valid), "test_users": len(split.test)},
        "machine": machine(load_before),
        "command": " ".join([f"SHOPREC_DATA_DIR={os.environ.get('SHOPREC_DATA_DIR', '')}",
                             "nice -n 10 .venv/bin/python", *sys.argv]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "selection": "grid of shoprec.models.registry, best validation ndcg@10, then test once",
        "results": rows,
        "published": {k: {**v, "source": "TIGER (NeurIPS 2023) Table 1, via ../shared/ANCHORS.md"}
                      for k, v in PUBLISHED.items()},
    }
    write_result(args.out, report)
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
