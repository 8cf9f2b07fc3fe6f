"""Accuracy on every development set: `--model auto`, each member of its family, the id-only
ablations, against the published anchors.

Protocol: leave-one-out, full ranking over the whole catalogue, seen items removed, pessimistic
ties. `auto` (shoprec.evaluation.auto.select_model) trains the family within its default budget
and chooses on the validation split only; this script then scores every trained candidate once on
the test split, so the table shows what `auto` chose and what it could have chosen. The id-only
ablation trains the same transformer without text (random id start, no text vectors) with the
same time limit the text one was given, and blends it the same way (`hybrid-id`).

Each data set writes benchmarks/results/accuracy_runs/DATASET[@seedN].json, so sets can run one
at a time (or two at once with --threads 1); `--table` assembles benchmarks/results/accuracy.json
and prints the table. Commands (data in SHOPREC_DATA_DIR):
  python benchmarks/accuracy.py --dataset amazon-beauty
  python benchmarks/accuracy.py --dataset amazon-beauty --seed 1 --no-ablation
  python benchmarks/accuracy.py --dataset movielens-100k
  python benchmarks/accuracy.py --dataset amazon-games
  python benchmarks/accuracy.py --dataset amazon-office
  python benchmarks/accuracy.py --dataset amazon-games --ablation-only   (to a stored run)
  python benchmarks/accuracy.py --table
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning on a shared CPU
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import machine, write_result

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.evaluation.auto import (
    Candidate,
    Member,
    _blend,
    _fit_one,
    best_of,
    default_budget_minutes,
    default_family,
    select_model,
)
from shoprec.evaluation.metrics import evaluate

RESULTS = Path(__file__).parent / "results"
RUNS = RESULTS / "accuracy_runs"
DATASETS = ("amazon-beauty", "movielens-100k", "amazon-games", "amazon-office")
BASELINES = ("itemknn", "ease", "als")
TEXT_AWARE = ("sasrec", "hybrid")
KEEP = ("recall@10", "ndcg@10", "recall@20", "ndcg@20", "mrr@10", "coverage@10")


def run(name: str, threads: int, seed: int, budget: float | None,
        ablation: bool = True) -> dict[str, Any]:
    load_before = os.getloadavg()
    ds = load_dataset(name)
    split = leave_one_out(ds)
    fixed = {"itemknn": {}, "ease": {"threads": threads}, "als": {"num_threads": threads},
             "sasrec": {"threads": threads, "seed": seed}}
    family = [replace(m, fixed=fixed[m.model]) for m in default_family()]
    say = lambda line: print(f"[{name}] {line}", flush=True)
    started = time.perf_counter()
    selection = select_model(split, budget, family, progress=say)
    auto_seconds = time.perf_counter() - started
    candidates = list(selection.candidates)
    ablated = None
    if ablation:
        text = best_of(selection.candidates, "sasrec")
        baselines = [c for c in selection.candidates if c.label in BASELINES]
        ablated, id_candidates = ablate(split, text.params if text else {}, baselines, threads,
                                        seed, say, budget)
        candidates += id_candidates
    rows = []
    for label in dict.fromkeys(c.label for c in candidates):
        best = best_of(candidates, label)
        rows.append(_row(label, best, split, ds.n_items) if best else
                    {"label": label, "status": next(c.status for c in candidates
                                                    if c.label == label)})
    return {
        "data": {"dataset": name, "users": ds.n_users, "items": ds.n_items,
                 "interactions": ds.interactions.height, "protocol": "leave-one-out",
                 "ranking": "full, seen items masked, pessimistic ties"},
        "machine": machine(load_before, threads=threads),
        "command": "python " + " ".join(sys.argv),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seed": seed,
        "auto": {**selection.summary(), "wall_seconds": round(auto_seconds, 1),
                 "default_budget_minutes": default_budget_minutes(
                     sum(len(h) for h in split.train.histories))},
        "ablation": ablated.summary() if ablated else None,
        "results": rows,
    }


def ablate(split: Any, text_params: dict[str, Any], baselines: list[Candidate], threads: int,
           seed: int, say: Any, budget: float | None = None) -> tuple[Any, list[Candidate]]:
    """The language model's ablation: the chosen text transformer's own settings (its width)
    without text (random id start, no text vectors), with the time limit it was given, and its
    blend with the same baselines (`hybrid-id`)."""
    id_member = next(m for m in default_family(id_only=True) if m.sequential)
    same = {k: v for k, v in text_params.items() if k != "id_init_scale"}
    id_params = {**same, **id_member.grid[0], "threads": threads, "seed": seed,
                 "max_minutes": text_params.get("max_minutes", budget or 5.0), "progress": False}
    ablated = select_model(split, budget_minutes=1e9, blend=False, progress=say, family=[
        Member("sasrec", "sasrec-id", [id_params], sequential=False)])
    hybrid_id = _blend(ablated.candidates + baselines, split, say)
    return ablated, ablated.candidates + ([hybrid_id] if hybrid_id is not None else [])


def ablation_only(name: str, threads: int, seed: int) -> dict[str, Any]:
    """Add the id-only ablation to a set's stored run: its baselines refitted at the parameters
    `auto` chose (deterministic, seconds), the ablation trained as in `run`."""
    result = json.loads(_run_path(name, seed).read_text())
    ds = load_dataset(name)
    split = leave_one_out(ds)
    say = lambda line: print(f"[{name}] {line}", flush=True)
    fixed = {"itemknn": {}, "ease": {"threads": threads}, "als": {"num_threads": threads}}
    chosen = {}
    for c in result["auto"]["candidates"]:
        best = chosen.get(c["label"])
        if c["status"] == "ok" and (best is None or c["valid_ndcg@10"] > best["valid_ndcg@10"]):
            chosen[c["label"]] = c
    baselines = [_fit_one(Member(b, b), {**chosen[b]["params"], **fixed[b]}, split, say)
                 for b in BASELINES if b in chosen]
    load_before = os.getloadavg()
    ablated, id_candidates = ablate(split, chosen.get("sasrec", {}).get("params", {}),
                                    baselines, threads, seed, say)
    rows = [_row(c.label, c, split, ds.n_items) for c in id_candidates]
    labels = {r["label"] for r in rows}
    result["results"] = [r for r in result["results"] if r["label"] not in labels] + rows
    result["ablation"] = {**ablated.summary(), "command": "python " + " ".join(sys.argv),
                          "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                          "machine": machine(load_before, threads=threads)}
    return result


def _run_path(name: str, seed: int) -> Path:
    return RUNS / (name + (f"@seed{seed}" if seed else "") + ".json")


def _row(label: str, cand: Candidate, split: Any, n_items: int) -> dict[str, Any]:
    test = evaluate(cand.model, split.test, n_items)
    extra = {}
    if hasattr(cand.model, "history_"):
        extra = {"best_epoch": getattr(cand.model, "best_epoch_", None),
                 "epochs": len(cand.model.history_)}
    if hasattr(cand.model, "weights_") and isinstance(cand.model.weights_, dict):
        extra = {"weights": cand.model.weights_}
    return {"label": label, "model": cand.model_name, "status": cand.status,
            "params": {k: v for k, v in cand.params.items() if k != "progress"},
            "seconds": round(cand.seconds, 1),
            "valid": {k: cand.valid[k] for k in KEEP}, "test": {k: test[k] for k in KEEP},
            **extra}


def table() -> dict[str, Any]:
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))}
    summary = {}
    print(f"{'data set':<22}{'model':<11}{'valid N@10':>11}{'test R@10':>10}{'test N@10':>10}"
          f"{'seconds':>9}")
    for key, result in runs.items():
        by = {r["label"]: r for r in result["results"] if "test" in r}
        for label, r in by.items():
            mark = " <- auto" if label == result["auto"]["chosen"] else ""
            print(f"{key:<22}{label:<11}{r['valid']['ndcg@10']:>11.4f}"
                  f"{r['test']['recall@10']:>10.4f}{r['test']['ndcg@10']:>10.4f}"
                  f"{r['seconds']:>9.0f}{mark}")
        base = max((by[b]["test"]["ndcg@10"] for b in BASELINES if b in by), default=None)
        auto = by.get(result["auto"]["chosen"], {}).get("test", {}).get("ndcg@10")
        text = max((by[t]["test"]["ndcg@10"] for t in TEXT_AWARE if t in by), default=None)
        ids = max((by[t]["test"]["ndcg@10"] for t in ("sasrec-id", "hybrid-id") if t in by),
                  default=None)
        ratio = lambda a, b=base: round(a / b, 3) if a is not None and b else None
        summary[key] = {"best_baseline_ndcg@10": base, "auto_chosen": result["auto"]["chosen"],
                        "auto_over_best_baseline": ratio(auto),
                        "best_text_aware_over_best_baseline": ratio(text),
                        "best_id_only_over_best_baseline": ratio(ids),
                        "auto_wall_seconds": result["auto"]["wall_seconds"]}
        print(f"{key:<22}auto/baseline {summary[key]['auto_over_best_baseline']}  text-aware/"
              f"baseline {summary[key]['best_text_aware_over_best_baseline']}  id-only/baseline "
              f"{summary[key]['best_id_only_over_best_baseline']}\n")
    lodo = leave_one_set_out(runs)
    for label, rows in lodo.items():
        for left, r in rows.items():
            print(f"leave-one-set-out {label:<8}{left:<16} chosen on the others {r['chosen']}: "
                  f"{r['valid_ndcg@10']:.4f} vs its own best {r['own_best_valid_ndcg@10']:.4f} "
                  f"({r['ratio']:.3f})")
    out = {"summary": summary, "leave_one_set_out": lodo, "runs": runs}
    write_result("accuracy.json", out)
    return out


def leave_one_set_out(runs: dict[str, Any]) -> dict[str, Any]:
    """The defaults check: for each parameterised baseline, the grid point with the best mean
    validation NDCG@10 (relative to each set's best) on the other sets, scored on the validation
    split of the set left out, beside that set's own best grid point."""
    sets = {k: r for k, r in runs.items() if "@seed" not in k}
    out: dict[str, Any] = {}
    for label in ("itemknn", "ease"):
        grid: dict[str, dict[str, float]] = {}
        for key, run in sets.items():
            for c in run["auto"]["candidates"]:
                if c["label"] == label and c["status"] == "ok":
                    params = {k: v for k, v in c["params"].items() if "thread" not in k}
                    grid.setdefault(key, {})[json.dumps(params)] = c["valid_ndcg@10"]
        rows = {}
        for left, figures in grid.items():
            others = [k for k in grid if k != left]
            points = set.intersection(*(set(grid[k]) for k in [left, *others]))
            if not others or not points:
                continue
            mean = {p: sum(grid[k][p] / max(grid[k].values()) for k in others) / len(others)
                    for p in points}
            chosen = max(sorted(points), key=mean.get)
            own = max(figures.values())
            rows[left] = {"chosen": json.loads(chosen), "valid_ndcg@10": figures[chosen],
                          "own_best_valid_ndcg@10": own,
                          "ratio": round(figures[chosen] / own, 4)}
        out[label] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=None,
                        help="auto's budget in minutes (default: auto's own default)")
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip the id-only ablation (a second seed of a set already ablated)")
    parser.add_argument("--ablation-only", action="store_true",
                        help="add the id-only ablation to the set's stored run (auto not rerun)")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table or not args.dataset:
        table()
        return
    RUNS.mkdir(parents=True, exist_ok=True)
    if args.ablation_only:
        result = ablation_only(args.dataset, args.threads, args.seed)
    else:
        result = run(args.dataset, args.threads, args.seed, args.budget, not args.no_ablation)
    write_result(_run_path(args.dataset, args.seed), result)
    table()


if __name__ == "__main__":
    main()
