"""Content and semantic models on Amazon Beauty: pretrained vs fine-tuned encoder, and cold start.

Protocol: leave-one-out, full ranking over all 12,101 items, seen items masked, pessimistic ties
(shoprec.evaluation). Hyper-parameters are chosen on validation, reported on test. `semantic`
encodes one query per shopper, which is the slow part on a CPU, so every model in the main table is
scored on the same seeded random sample of shoppers (--users; 0 = all); `content` is also scored on
all shoppers.

Cold start: a seeded 10% of items lose every training interaction (as if just added to the
shop); the test shoppers whose target is one of them are scored, with those items also removed
from their input histories. Content models know the new items by their text; itemknn and popular
have nothing on them.

    SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/content.py \
        --finetune-minutes 15
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import EvalSet, History, Split, TrainData
from shoprec.evaluation.protocol import run_evaluation
from shoprec.models.registry import get_spec

METRICS = ("recall@10", "ndcg@10", "recall@20", "ndcg@20")


def sample(evalset: EvalSet, users: np.ndarray) -> EvalSet:
    keep = np.flatnonzero(np.isin(evalset.users, users))
    return EvalSet(evalset.users[keep], [evalset.histories[i] for i in keep],
                   [evalset.targets[i] for i in keep])


def text_grid(name: str, encoder: str, backend: str) -> list[dict]:
    return [{**c, "encoder": encoder, "backend": backend} for c in get_spec(name).candidates()]


def run(ds, name: str, split: Split, grid: list[dict] | None = None) -> dict:
    start = time.perf_counter()
    result = run_evaluation(ds, name, grid=grid, split=split)
    params = {k: v for k, v in result.params.items() if k not in ("encoder", "backend")}
    return {"params": params, "valid_ndcg@10": round(result.valid_metrics["ndcg@10"], 5),
            **{m: round(result.metrics[m], 5) for m in METRICS},
            "seconds": round(time.perf_counter() - start, 1)}


def cold_start_split(split: Split, n_items: int, share: float, seed: int) -> tuple[Split, np.ndarray]:
    rng = np.random.default_rng(seed)
    cold = np.zeros(n_items, dtype=bool)
    cold[rng.choice(n_items, int(share * n_items), replace=False)] = True

    def strip(h: History) -> History:
        keep = ~cold[h.items]
        return History(h.items[keep], None if h.values is None else h.values[keep],
                       None if h.timestamps is None else h.timestamps[keep])

    train = TrainData([strip(h) for h in split.train.histories], n_items, split.train.items)

    def cold_targets(es: EvalSet) -> EvalSet:
        rows = [i for i, t in enumerate(es.targets) if cold[t].all() and len(strip(es.histories[i]))]
        return EvalSet(es.users[rows], [strip(es.histories[i]) for i in rows],
                       [es.targets[i] for i in rows])

    return Split("leave-one-out, cold items", train, cold_targets(split.valid),
                 cold_targets(split.test)), cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="shoppers in the sample (0 = all)")
    parser.add_argument("--backend", default="onnx", help="encoder backend: torch, onnx, onnx-fp32")
    parser.add_argument("--finetuned", type=Path, default=Path("artifacts/encoders/beauty-loo"),
                        help="fine-tuned encoder folder (written when --finetune-minutes > 0)")
    parser.add_argument("--finetune-minutes", type=float, default=0.0)
    parser.add_argument("--train-layers", type=int, default=2,
                        help="fine-tune only the top N layers (cheaper CPU steps); 0 = all")
    parser.add_argument("--finetune-threads", type=int, default=2)
    parser.add_argument("--cold-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/content.json"))
    args = parser.parse_args()

    ds = load_dataset("amazon-beauty")
    split = leave_one_out(ds)
    rng = np.random.default_rng(args.seed)
    users = split.test.users if not args.users else rng.choice(split.test.users, args.users, False)
    sampled = replace(split, valid=sample(split.valid, users), test=sample(split.test, users))
    finetune = None
    if args.finetune_minutes > 0:
        from shoprec.text.finetune import FinetuneConfig, finetune_encoder

        done = finetune_encoder(split.train, args.finetuned,
                                FinetuneConfig(max_minutes=args.finetune_minutes, seed=args.seed,
                                               train_layers=args.train_layers or None,
                                               threads=args.finetune_threads))
        finetune = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(done).items()}
    encoders = {"pretrained MiniLM": "minilm"}
    if (args.finetuned / "config.json").is_file():
        encoders["fine-tuned MiniLM"] = str(args.finetuned)
        finetune = finetune or json.loads((args.finetuned / "shoprec_finetune.json").read_text())

    rows = []
    for label in ("popular", "itemknn"):
        grid = get_spec(label).candidates()[:1]
        rows.append({"model": label, "encoder": "-", "users": len(sampled.test),
                     **run(ds, label, sampled, grid)})
    for enc_label, encoder in encoders.items():
        rows.append({"model": "content", "encoder": enc_label, "users": len(split.test),
                     **run(ds, "content", split, text_grid("content", encoder, args.backend))})
        for name in ("content", "semantic"):
            rows.append({"model": name, "encoder": enc_label, "users": len(sampled.test),
                         **run(ds, name, sampled, text_grid(name, encoder, args.backend))})

    cold_split, cold = cold_start_split(split, ds.n_items, args.cold_share, args.seed)
    cold_rows = []
    for label, name, encoder in [("popular", "popular", None), ("itemknn", "itemknn", None)] + [
            (f"{name} ({enc_label})", name, enc) for enc_label, enc in encoders.items()
            for name in ("content", "semantic")]:
        grid = get_spec(name).candidates()[:1] if encoder is None else text_grid(name, encoder,
                                                                                args.backend)
        cold_rows.append({"model": label, "users": len(cold_split.test),
                          **run(ds, name, cold_split, grid)})

    result = {
        "data": "amazon-beauty 2014 5-core (22,363 shoppers, 12,101 items), titles as item text",
        "protocol": "leave-one-out, full ranking, seen masked, pessimistic ties; params chosen on "
                    "validation", "sample_users": len(sampled.test), "seed": args.seed,
        "backend": args.backend, "cold_items": int(cold.sum()),
        "machine": machine(),
        "command": "SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python "
                   f"benchmarks/content.py --finetune-minutes {args.finetune_minutes} "
                   f"--train-layers {args.train_layers} --finetune-threads {args.finetune_threads}"
                   + ("" if args.finetune_minutes > 0 or finetune is None else
                      f"  (reused the encoder in {args.finetuned}, fine-tuned earlier with the "
                      "settings under 'finetune')"),
        "finetune": finetune, "rows": rows, "cold_start": cold_rows,
    }
    write_result(args.out, result)
    console = Console()
    for title, table_rows in ((f"Beauty test, full ranking ({args.backend} encoder)", rows),
                              ((f"cold-start items ({int(cold.sum())} items without training "
                               "interactions)"), cold_rows)):
        table = Table(title=title)
        for col in ("model", "encoder", "users", *METRICS, "params"):
            table.add_column(col, justify="left" if col in ("model", "encoder", "params") else "right")
        for r in table_rows:
            table.add_row(r["model"], r.get("encoder", ""), str(r["users"]),
                          *[f"{r[m]:.4f}" for m in METRICS], json.dumps(r["params"]))
        console.print(table)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
