"""SASRec (text-aware) on Beauty and MovieLens 100K: accuracy, training time, ablation, cold start.

Protocol: leave-one-out, full ranking over the whole catalogue, seen items removed, test split;
early stopping and every choice between variants on the validation split only.

Each run writes benchmarks/results/sequential_runs/DATASET-VARIANT.json, so runs can be done one
at a time; `--table` assembles them with the published anchors (and the RecBole peer, if
benchmarks/recbole_peer.py has written its result) into benchmarks/results/sequential.json and
prints the table. Variants:
  text-causal  id + text item vectors, SASRec (causal) training, text start spread 0.1
  text-causal-wide  the same with a wider text start (0.3), the other value of the registry grid
  text-causal-wide-128  the wider start with hidden size 128 (auto's larger network)
  text-masked  id + text item vectors, BERT4Rec-style masked training
  text-causal-sampled  as text-causal with sampled softmax (2,048 uniform shared negatives,
               log-q corrected; what loss="auto" does on catalogues above 8,192 items)
  id-...       id vectors from a random start, no text (the language model's ablation)
  textinit-causal  id vectors only, started from the text vectors' principal components
  ...-recent   also learns from the validation item of 80% of the shoppers and early-stops on
               the other 20%; chosen apart from the classic runs, which never train on a
               validation item (as the published anchors and the RecBole peer)

Commands (data in SHOPREC_DATA_DIR; each run is capped at 20 wall-clock minutes; add
--threads 1 to run two at once, as the ablations were):
  python benchmarks/sequential.py --dataset amazon-beauty --variant text-causal-recent
  python benchmarks/sequential.py --dataset amazon-beauty --variant id-causal-recent
  python benchmarks/sequential.py --dataset amazon-beauty --variant text-causal
  python benchmarks/sequential.py --dataset amazon-beauty --variant text-causal-wide
  python benchmarks/sequential.py --dataset amazon-beauty --variant id-causal
  python benchmarks/sequential.py --dataset amazon-beauty --variant textinit-causal
  python benchmarks/sequential.py --dataset amazon-beauty --variant text-masked
  (the same for --dataset movielens-100k)
  python benchmarks/sequential.py --table
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning on a shared CPU
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import machine, write_result

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import EvalSet
from shoprec.evaluation.metrics import evaluate
from shoprec.models.base import get_params
from shoprec.models.sasrec import SASRec

RESULTS = Path(__file__).parent / "results"
RUNS = RESULTS / "sequential_runs"
VARIANTS = {
    "text-causal": {"item_repr": "id+text", "objective": "causal"},
    "text-masked": {"item_repr": "id+text", "objective": "masked"},
    "id-causal": {"item_repr": "id", "objective": "causal", "id_init": "random"},
    "id-masked": {"item_repr": "id", "objective": "masked", "id_init": "random"},
    "text-causal-sampled": {"item_repr": "id+text", "objective": "causal", "loss": "sampled"},
    "id-causal-sampled": {"item_repr": "id", "objective": "causal", "loss": "sampled",
                          "id_init": "random"},
    # a three times wider text start (0.3): a stronger text prior, for sparse catalogues
    "text-causal-wide": {"item_repr": "id+text", "objective": "causal", "id_init_scale": 0.3},
    # the wider start in a network twice as wide (hidden size 128): what `auto` tries last when
    # its budget leaves the time
    "text-causal-wide-128": {"item_repr": "id+text", "objective": "causal",
                             "id_init_scale": 0.3, "dim": 128},
    "id-causal-128": {"item_repr": "id", "objective": "causal", "id_init": "random", "dim": 128},
    # ids only, but started from the text vectors' principal components (text used once, at init)
    "textinit-causal": {"item_repr": "id", "objective": "causal", "id_init": "text"},
    # also learns from the validation item of 80% of the shoppers; early stops on the other 20%
    "text-causal-recent": {"item_repr": "id+text", "objective": "causal", "stop_fraction": 0.2},
    "id-causal-recent": {"item_repr": "id", "objective": "causal", "id_init": "random",
                         "stop_fraction": 0.2},
}
COLD_BELOW = 5
ANCHORS = [  # Beauty, full ranking, leave-one-out (../shared/ANCHORS.md)
    ("SASRec, BCE 1 negative (TIGER, Table 1)", 0.0605, 0.0318),
    ("TIGER (TIGER, Table 1)", 0.0648, 0.0384),
    ("SASRec + sampled softmax (eSASRec authors' re-run)", 0.0921, 0.0531),
]


RUN_NOTE = ("wall times depend on what else ran (see the load averages); cpu_seconds is the CPU "
            "time this process used")


def cold_subset(split, max_count: int) -> EvalSet:
    """Test shoppers whose target item had fewer than `max_count` training interactions."""
    counts = np.asarray(split.train.matrix.sum(axis=0)).ravel()
    keep = [n for n, t in enumerate(split.test.targets) if counts[t[0]] < max_count]
    return EvalSet(split.test.users[keep], [split.test.histories[n] for n in keep],
                   [split.test.targets[n] for n in keep])


def run(dataset: str, variant: str, max_minutes: float | None, max_cpu_minutes: float | None,
        seed: int, tag: str = "", threads: int = 2) -> dict:
    ds = load_dataset(dataset)
    split = leave_one_out(ds)
    params = {**VARIANTS[variant], "max_minutes": max_minutes, "max_cpu_minutes": max_cpu_minutes,
              "seed": seed, "threads": threads}
    load_start = os.getloadavg()
    model = SASRec(**params).fit(split.train, valid=split.valid)
    test = evaluate(model, split.test, ds.n_items)
    cold = cold_subset(split, COLD_BELOW)
    cold_metrics = evaluate(model, cold, ds.n_items)
    result = {
        "dataset": dataset, "variant": variant, "tag": tag, "params": get_params(model),
        "users": ds.n_users, "items": ds.n_items,
        "train_seconds": round(model.train_seconds_, 1),
        "train_cpu_seconds": round(model.train_cpu_seconds_, 1),
        "best_epoch": model.best_epoch_, "epochs_run": len(model.history_),
        "valid_ndcg@10": model.valid_ndcg_, "test": test,
        "cold_start": {"rule": f"test target had < {COLD_BELOW} training interactions",
                       "shoppers": len(cold), "recall@10": cold_metrics["recall@10"],
                       "ndcg@10": cold_metrics["ndcg@10"]},
        "history": model.history_, "machine": machine(load_start, note=RUN_NOTE),
        "command": f"python benchmarks/sequential.py --dataset {dataset} --variant {variant} "
                   f"--max-minutes {max_minutes} --max-cpu-minutes {max_cpu_minutes} --seed {seed}"
                   f" --threads {threads}"
                   + (f" --tag {tag}" if tag else ""),
    }
    name = f"{dataset}-{variant}" + (f"@{tag}" if tag else "")
    write_result(RUNS / f"{name}.json", result)
    print(f"{dataset} {variant}: test R@10 {test['recall@10']:.4f} N@10 {test['ndcg@10']:.4f} "
          f"valid N@10 {model.valid_ndcg_:.4f} train {model.train_seconds_:.0f}s wall "
          f"({model.train_cpu_seconds_:.0f}s CPU), best epoch {model.best_epoch_}")
    return result


def table() -> dict:
    """Choose the objective on validation, then assemble the ablation, cold start and anchors."""
    out: dict = {"protocol": "leave-one-out, full ranking, seen items removed, test split",
                 "machine": machine(note=RUN_NOTE), "datasets": {}}
    rows = []
    for path in sorted(RUNS.glob("*.json")):
        r = json.loads(path.read_text())
        if r.get("tag"):  # a run at another budget: shown, never part of the choice
            out.setdefault("extra_runs", []).append(r)
            rows.append((r["dataset"], f"ours: sasrec {r['variant']} @ {r['tag']}",
                         r["test"]["recall@10"], r["test"]["ndcg@10"], r["valid_ndcg@10"],
                         r["train_seconds"], r["train_cpu_seconds"],
                         r["cold_start"]["recall@10"], r["cold_start"]["shoppers"]))
            continue
        out["datasets"].setdefault(r["dataset"], {})[r["variant"]] = r
    for dataset, runs in out["datasets"].items():
        text_runs = {v: r for v, r in runs.items() if v.startswith("text-")}
        # classic: never trains on a validation item (the anchors' and the peer's protocol);
        # recent: also learns from 80% of the shoppers' validation items. Chosen apart.
        groups = {"classic": [v for v in text_runs if not v.endswith("-recent")],
                  "recent": [v for v in text_runs if v.endswith("-recent")]}
        chosen = {g: max(vs, key=lambda v: text_runs[v]["valid_ndcg@10"])
                  for g, vs in groups.items() if vs}
        # the choice itself costs every candidate's training
        runs["selection_train_seconds"] = {g: sum(text_runs[v]["train_seconds"] for v in groups[g])
                                           for g in chosen}
        if "classic" in chosen:
            runs["chosen_on_validation"] = chosen["classic"]
        if "recent" in chosen:
            runs["chosen_on_validation_recent"] = chosen["recent"]
        for v, r in sorted(runs.items()):
            if v not in VARIANTS:
                continue
            tag = " (chosen on validation)" if v in chosen.values() else ""
            rows.append((dataset, f"ours: sasrec {v}{tag}", r["test"]["recall@10"],
                         r["test"]["ndcg@10"], r["valid_ndcg@10"], r["train_seconds"],
                         r["train_cpu_seconds"], r["cold_start"]["recall@10"],
                         r["cold_start"]["shoppers"]))
        # the same without text (a random start has no spread to widen)
        ablation = {v: "id-" + v.removeprefix("text-").replace("-wide", "") for v in text_runs}
        runs["ablation_of_chosen_available"] = {g: ablation[v] in runs for g, v in chosen.items()}
        runs["text_gain"] = {  # text-aware minus id-only, for every pair that was run
            v: {m: text_runs[v]["test"][m] - runs[ablation[v]]["test"][m]
                for m in ("recall@10", "ndcg@10")}
            | {"cold_recall@10": text_runs[v]["cold_start"]["recall@10"]
               - runs[ablation[v]]["cold_start"]["recall@10"]}
            for v in text_runs if ablation[v] in runs}
    peer_path = RESULTS / "recbole_peer.json"
    if peer_path.exists():
        peer = json.loads(peer_path.read_text())
        out["peer"] = peer
        for p in peer.get("runs", []):
            runs = out["datasets"].get(p["dataset"], {})
            if "chosen_on_validation" in runs:
                out.setdefault("versus_peer", {})[p["dataset"]] = versus(
                    runs[runs["chosen_on_validation"]], p)
            rows.append((p["dataset"], f"peer: RecBole {p['model']}, {p['epochs_run']} epochs",
                         p["test"]["recall@10"], p["test"]["ndcg@10"], p.get("valid_ndcg@10"),
                         p["train_seconds"], p.get("train_cpu_seconds"), None, None))
    for name, r10, n10 in ANCHORS:
        rows.append(("amazon-beauty", f"published: {name}", r10, n10, None, None, None, None, None))
    out["anchors"] = [{"model": n, "recall@10": r, "ndcg@10": g} for n, r, g in ANCHORS]
    out["table"] = [dict(zip(("dataset", "model", "test_recall@10", "test_ndcg@10",
                              "valid_ndcg@10", "train_seconds", "train_cpu_seconds",
                              "cold_recall@10", "cold_shoppers"), row)) for row in rows]
    write_result("sequential.json", out)
    fmt = lambda x: "" if x is None else (f"{x:.4f}" if isinstance(x, float) and x < 1 else f"{x:.0f}")
    print(f"{'dataset':16} {'model':62} {'R@10':>7} {'N@10':>7} {'vN@10':>7} {'wall s':>7} "
          f"{'cpu s':>7} {'coldR10':>7} {'cold n':>7}")
    for row in rows:
        print(f"{row[0]:16} {row[1][:62]:62} " + " ".join(f"{fmt(x):>7}" for x in row[2:]))
    return out


def seconds_to_reach(history: list[dict], target: float, key: str) -> float | None:
    """Training time (wall or CPU) at the end of the first epoch whose validation NDCG@10 reached
    `target`; None if no epoch did."""
    return next((h[key] for h in history if h["valid_ndcg@10"] >= target and key in h), None)


def versus(ours: dict, peer: dict) -> dict:
    """Our time / the peer's time, at its best validation NDCG@10 and at equal budgets."""
    out: dict = {"train_seconds_ratio": ours["train_seconds"] / peer["train_seconds"]}
    if ours.get("train_cpu_seconds") and peer.get("train_cpu_seconds"):
        out["train_cpu_seconds_ratio"] = ours["train_cpu_seconds"] / peer["train_cpu_seconds"]
    target = peer["valid_ndcg@10"]
    for key in ("seconds", "cpu_seconds"):
        mine = seconds_to_reach(ours["history"], target, key)
        theirs = seconds_to_reach(peer["history"], target, key)
        out[f"{key}_to_reach_peer_best_valid_ndcg@10"] = {
            "target": target, "ours": mine, "peer": theirs,
            "ratio_ours_over_peer": mine / theirs if mine and theirs else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="amazon-beauty")
    parser.add_argument("--variant", choices=list(VARIANTS))
    parser.add_argument("--max-minutes", type=float, default=20.0, help="wall-clock training cap")
    parser.add_argument("--max-cpu-minutes", type=float, default=None,
                        help="CPU-time training cap (all threads): fair on a shared machine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (1 when two runs share the 2 cores)")
    parser.add_argument("--tag", default="", help="label of a run at another budget (kept apart)")
    parser.add_argument("--table", action="store_true", help="assemble results/sequential.json")
    args = parser.parse_args()
    if args.variant:
        start = time.time()
        run(args.dataset, args.variant, args.max_minutes, args.max_cpu_minutes, args.seed, args.tag,
            args.threads)
        print(f"done in {time.time() - start:.0f}s")
    if args.table or not args.variant:
        table()


if __name__ == "__main__":
    main()
