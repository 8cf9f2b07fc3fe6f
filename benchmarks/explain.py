"""Explanation faithfulness per model, and the accuracy cost of differential privacy, on Beauty.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items, shared/data), leave-one-out,
full ranking (every item a candidate, seen items masked).

1. Faithfulness: each model (registry defaults, first value of each grid entry; SASRec with a
   wall-clock budget) is fitted on the training split. For a random sample of test shoppers, the
   model's top item is explained; removing the cited history item must lower that item's score
   more than removing a random other history item (`shoprec.profiles.faithfulness`). Rate =
   share of shoppers where it does (ties count as failures). For leave-one-out attribution
   that holds by construction and only checks the plumbing; the pair rate (remove the two
   top-cited items vs two random others) is the real test for every method.
2. DP accuracy: recommendations from epsilon-DP aggregates (`shoprec.privacy`) against the
   non-private ones. Popular items from noisy item counts; "bought a, later bought b" from noisy
   co-occurrence counts. Each shopper's contribution is clipped (items / pairs), Laplace noise
   calibrated to epsilon. The co-occurrence release can be restricted to the most popular items
   (chosen from a DP popularity release that spends a fifth of epsilon), which cuts the number
   of noisy cells. Settings of the co-occurrence release are chosen on the validation
   split for each epsilon (that choice is not charged to the privacy budget); test metrics are
   the mean and standard deviation over noise seeds.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/explain.py

Writes benchmarks/results/explain.json. The machine is shared (2 cores): the JSON records the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import Split
from shoprec.evaluation.metrics import evaluate
from shoprec.models.base import Recommender, get_params
from shoprec.models.popular import Popular
from shoprec.models.registry import MODELS
from shoprec.privacy.models import DPCooccurrence, DPPopular
from shoprec.profiles.faithfulness import faithfulness

RESULTS = Path("benchmarks/results")
FAITHFULNESS_MODELS = ("itemknn", "userknn", "als", "bpr", "content", "semantic", "sasrec")
COOC_GRID = [{"max_pairs": p, "domain_size": d} for p in (2, 10) for d in (None, 300, 1000, 3000)]
console = Console(width=150)


def build(name: str, sasrec_minutes: float) -> Recommender | None:
    if name in MODELS:
        spec = MODELS[name]
        params = spec.candidates()[0] if spec.grid else {}
    elif name == "sasrec":
        try:
            from shoprec.models.sasrec import SASRec
        except ImportError:
            return None
        return SASRec(max_minutes=sasrec_minutes, progress=False)
    else:
        return None
    if name == "sasrec":
        params = {**params, "max_minutes": sasrec_minutes, "progress": False}
    return spec.build(**params)


def fit(model: Recommender, split: Split) -> Recommender:
    return model.fit(split.train, valid=split.valid)  # early-stopping models use valid


def run_faithfulness(split: Split, names: list[str], shoppers: int, seed: int,
                     sasrec_minutes: float, caps: dict[str, int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(split.test), size=min(shoppers, len(split.test)), replace=False)
    sample = [split.test.histories[i] for i in pick]  # random order: a cap takes a random subset
    rows = []
    for name in names:
        histories = sample[:caps.get(name, shoppers)]
        model = build(name, sasrec_minutes)
        if model is None:
            console.print(f"[yellow]{name}: not available in this checkout, skipped[/yellow]")
            continue
        start = time.perf_counter()
        fit(model, split)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        result = faithfulness(model, histories, seed=seed)
        row = {"model": name, "params": {k: v for k, v in get_params(model).items()
                                         if isinstance(v, (int, float, str, type(None)))},
               "shoppers": len(histories), **result.to_json(), "fit_seconds": round(fit_s, 1),
               "check_seconds": round(time.perf_counter() - start, 1)}
        if getattr(model, "valid_ndcg_", None) is not None:  # early-stopped models
            row["valid_ndcg@10"] = round(float(model.valid_ndcg_), 4)  # type: ignore[attr-defined]
        console.print(row)
        rows.append(row)
    return rows


def metrics_of(model: Recommender, split: Split, n_items: int, on: str = "test"
               ) -> dict[str, float]:
    m = evaluate(model, split.test if on == "test" else split.valid, n_items)
    return {k: m[k] for k in ("recall@10", "ndcg@10", "recall@20", "ndcg@20")}


def averaged(make: Any, split: Split, n_items: int, seeds: int) -> dict[str, Any]:
    runs = [metrics_of(make(seed).fit(split.train), split, n_items) for seed in range(seeds)]
    out: dict[str, Any] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    out.update({f"{k}_std": float(np.std([r[k] for r in runs])) for k in runs[0]})
    out["seeds"] = seeds
    return out


def run_dp(split: Split, n_items: int, epsilons: list[float], seeds: int,
           max_items: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(aggregate: str, epsilon: float | None, params: dict[str, Any],
            metrics: dict[str, Any]) -> None:
        row = {"aggregate": aggregate, "epsilon": epsilon, "params": params, **metrics}
        console.print(row)
        rows.append(row)

    add("popular, non-private", None, {}, metrics_of(Popular().fit(split.train), split, n_items))
    add("popular, clipped, no noise", None, {"max_items": max_items},
        metrics_of(DPPopular(epsilon=None, max_items=max_items).fit(split.train), split, n_items))
    for eps in epsilons:
        add("popular, DP", eps, {"max_items": max_items}, averaged(
            lambda s, e=eps: DPPopular(epsilon=e, max_items=max_items, seed=s), split, n_items, seeds))
    if "itemknn" in MODELS:
        add("item-kNN, non-private (reference)", None, {},
            metrics_of(build("itemknn", 0).fit(split.train), split, n_items))  # type: ignore[union-attr]
    for eps in [None, *epsilons]:
        best, best_ndcg = COOC_GRID[0], -1.0
        for params in COOC_GRID:  # chosen on validation
            ndcg = metrics_of(DPCooccurrence(epsilon=eps, **params).fit(split.train), split, n_items,
                              "valid")["ndcg@10"]
            if ndcg > best_ndcg:
                best, best_ndcg = params, ndcg
        label = "co-occurrence, clipped, no noise" if eps is None else "co-occurrence, DP"
        if eps is None:
            add(label, None, best, metrics_of(DPCooccurrence(epsilon=None, **best).fit(split.train),
                                              split, n_items))
        else:
            add(label, eps, best, averaged(lambda s, e=eps, p=best: DPCooccurrence(epsilon=e, seed=s, **p),
                                           split, n_items, seeds))
    return rows


def print_tables(faith: list[dict[str, Any]], dp: list[dict[str, Any]]) -> None:
    t = Table(title="Faithfulness on Beauty: removing the cited item lowers the score more "
                    "than removing a random one")
    for col in ("model", "attribution", "cases", "faithful", "ties", "uncited", "rate",
                "pair rate"):
        t.add_column(col, justify="left" if col in ("model", "attribution") else "right")
    for r in faith:
        t.add_row(r["model"], r["method"], str(r["cases"]), str(r["faithful"]), str(r["ties"]),
                  str(r["uncited"]), f"{r['rate']:.3f}", f"{r['pair_rate']:.3f}")
    console.print(t)
    t = Table(title="Accuracy cost of DP aggregates on Beauty (leave-one-out, full ranking, test)")
    for col in ("aggregate", "epsilon", "settings", "R@10", "N@10", "R@20", "N@20"):
        t.add_column(col, justify="left" if col in ("aggregate", "settings") else "right")
    for r in dp:
        cells = [f"{r[k]:.4f}" + (f" ±{r[k + '_std']:.4f}" if k + "_std" in r else "")
                 for k in ("recall@10", "ndcg@10", "recall@20", "ndcg@20")]
        t.add_row(r["aggregate"], "-" if r["epsilon"] is None else f"{r['epsilon']:g}",
                  json.dumps(r["params"]), *cells)
    console.print(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoppers", type=int, default=1000, help="test shoppers per model")
    parser.add_argument("--models", default=",".join(FAITHFULNESS_MODELS))
    parser.add_argument("--sasrec-minutes", type=float, default=5.0)
    parser.add_argument("--cap", action="append", default=["semantic=150"],
                        help="MODEL=N: check only N shoppers for a slow model (semantic encodes "
                             "every leave-one-out query)")
    parser.add_argument("--epsilons", default="1,8")
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per DP row")
    parser.add_argument("--max-items", type=int, default=10, help="popular: items per shopper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-dp", action="store_true")
    parser.add_argument("--skip-faithfulness", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "explain.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    start = time.perf_counter()
    ds = load_dataset("amazon-beauty")
    split = leave_one_out(ds)
    faith = [] if args.skip_faithfulness else run_faithfulness(
        split, args.models.split(","), args.shoppers, args.seed, args.sasrec_minutes,
        {k: int(v) for k, v in (c.split("=") for c in args.cap)})
    dp = [] if args.skip_dp else run_dp(
        split, ds.n_items, [float(e) for e in args.epsilons.split(",")], args.seeds, args.max_items)
    print_tables(faith, dp)
    options = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
               if k not in ("skip_dp", "skip_faithfulness", "out", "cap")]
    options += [f"--cap={c}" for c in args.cap[1:]]  # the first is the default
    command = ("SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python "
               "benchmarks/explain.py " + " ".join(options))
    result = {
        "data": "amazon-beauty (2014 5-core, shared/data), leave-one-out, full ranking",
        "users": ds.n_users, "items": ds.n_items, "test_shoppers": len(split.test),
        "machine": machine(load_before),
        "faithfulness": {"command": command + " --skip-dp",
                         "shoppers_sampled": args.shoppers, "seed": args.seed,
                         "caps": args.cap,
                         "definition": "share of shoppers whose top item's score drops more when "
                                       "the cited history item is removed than when a random "
                                       "other history item is removed (ties are failures); "
                                       "pair_rate: the same with the two top-cited items "
                                       "against two random others",
                         "models": faith},
        "differential_privacy": {"command": command + " --skip-faithfulness",
                                 "mechanism": "Laplace, scale = clipped L1 sensitivity / epsilon",
                                 "popular_max_items": args.max_items,
                                 "cooccurrence_grid": COOC_GRID, "rows": dp},
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.out.exists() and (args.skip_dp or args.skip_faithfulness):
        result["machine_of_kept_part"] = json.loads(args.out.read_text()).get("machine")
        old = json.loads(args.out.read_text())  # keep the part this run did not redo
        if args.skip_dp:
            result["differential_privacy"] = old.get("differential_privacy")
        if args.skip_faithfulness:
            result["faithfulness"] = old.get("faithfulness")
    write_result(args.out, result)
    console.print(f"written {args.out}")


if __name__ == "__main__":
    main()
