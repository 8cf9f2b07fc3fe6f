"""The peer for benchmarks/sequential.py: RecBole's SASRec on exactly our leave-one-out split.

RecBole lives in its own venv (it needs numpy<2, pandas<3, setuptools<81; see DESIGN.md), so this
script has two steps run by two interpreters:

  # 1. with shoprec's venv: write RecBole atomic files from our data. The "timestamp" written is
  #    the row's position in our (user, time, file order) sort, so RecBole's time-ordered
  #    leave-one-out ('LS' valid_and_test, order 'TO') makes the same train/valid/test split
  #    even where the original timestamps tie (Beauty has day granularity).
  .venv/bin/python benchmarks/recbole_peer.py write --dataset amazon-beauty --out artifacts/recbole-data
  # 2. with RecBole's venv: train SASRec (CE loss, RecBole's prefix augmentation) under a
  #    CPU-time (or wall-clock) budget, early-stopping on validation NDCG@10, report test full ranking.
  python3 -m venv artifacts/recbole-venv && artifacts/recbole-venv/bin/pip install torch==2.13.0 \
      "numpy<2" "pandas<3" "setuptools<81" recbole==1.2.1
  TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 artifacts/recbole-venv/bin/python benchmarks/recbole_peer.py \
      run --dataset amazon-beauty --data artifacts/recbole-data --cpu-budget-minutes 10

Results go to benchmarks/results/recbole_peer.json (one entry per dataset); run
`benchmarks/sequential.py --table` afterwards to put them beside ours.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning on a shared CPU

import argparse
import copy
import json
import time
from pathlib import Path

from _common import machine, write_result

RESULT = Path(__file__).parent / "results" / "recbole_peer.json"
#: RecBole's SASRec set like ours (benchmarks/sequential.py): CE over all items, 2 layers,
#: hidden 64, 2 heads, dropout 0.5, max length 50, Adam 1e-3, batch 128.
SASREC = {"loss_type": "CE", "train_neg_sample_args": None, "MAX_ITEM_LIST_LENGTH": 50,
          "hidden_size": 64, "inner_size": 256, "n_layers": 2, "n_heads": 2,
          "hidden_dropout_prob": 0.5, "attn_dropout_prob": 0.5, "learning_rate": 1e-3,
          "train_batch_size": 128}


def write(dataset: str, out: Path) -> Path:
    """RecBole atomic file OUT/DATASET/DATASET.inter from shoprec's loaded data set."""
    from shoprec.data.sources import load_dataset

    ds = load_dataset(dataset)
    folder = out / dataset
    folder.mkdir(parents=True, exist_ok=True)
    frame = ds.interactions
    with open(folder / f"{dataset}.inter", "w", encoding="utf-8") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        pairs = zip(frame["user"].to_list(), frame["item"].to_list())
        f.writelines(f"u{u}\ti{i}\t{n}\n" for n, (u, i) in enumerate(pairs))
    print(f"wrote {frame.height} interactions of {ds.n_users} users to {folder}")
    return folder


def run(dataset: str, data: Path, budget_minutes: float | None, cpu_budget_minutes: float | None,
        seed: int) -> dict:
    """Train under a wall-clock and/or CPU-time budget (checked before each epoch, as ours is
    checked after each); keep the weights of the best validation epoch."""
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    config = Config(model="SASRec", dataset=dataset, config_dict={
        **SASREC, "data_path": str(data), "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "metrics": ["Recall", "NDCG"], "topk": [10], "valid_metric": "NDCG@10",
        "eval_batch_size": 1024, "device": "cpu", "use_gpu": False, "seed": seed,
        "reproducibility": True, "show_progress": False, "epochs": 10_000,
        "checkpoint_dir": "artifacts/recbole-checkpoints", "log_wandb": False})
    init_seed(config["seed"], config["reproducibility"])
    torch.set_num_threads(2)
    recbole_data = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, recbole_data)
    model = SASRec(config, train_data.dataset).to("cpu")
    trainer = Trainer(config, model)
    start, cpu_start = time.perf_counter(), time.process_time()
    best, best_state, history, epoch = -1.0, None, [], 0
    def within_budget() -> bool:
        wall_ok = budget_minutes is None or time.perf_counter() - start < 60 * budget_minutes
        cpu_ok = (cpu_budget_minutes is None
                  or time.process_time() - cpu_start < 60 * cpu_budget_minutes)
        return wall_ok and cpu_ok

    while within_budget():
        loss = trainer._train_epoch(train_data, epoch, show_progress=False)
        score, _ = trainer._valid_epoch(valid_data, show_progress=False)
        epoch += 1
        history.append({"epoch": epoch, "loss": float(loss), "valid_ndcg@10": float(score),
                        "seconds": round(time.perf_counter() - start, 1),
                        "cpu_seconds": round(time.process_time() - cpu_start, 1)})
        print(history[-1], flush=True)
        if score > best:
            best, best_state = float(score), copy.deepcopy(model.state_dict())
    train_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    model.load_state_dict(best_state)
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    result = {"dataset": dataset, "model": "SASRec (recbole 1.2.1)", "params": SASREC,
              "budget": f"cap: {budget_minutes} wall min, {cpu_budget_minutes} CPU min; best valid epoch",
              "train_seconds": round(train_s, 1), "train_cpu_seconds": round(cpu_s, 1),
              "epochs_run": epoch, "valid_ndcg@10": best,
              "test": {"recall@10": float(test["recall@10"]), "ndcg@10": float(test["ndcg@10"])},
              "history": history, "machine": machine(),
              "command": f"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 artifacts/recbole-venv/bin/python "
                         f"benchmarks/recbole_peer.py run --dataset {dataset} --data {data} "
                         f"--budget-minutes {budget_minutes} --cpu-budget-minutes "
                         f"{cpu_budget_minutes} --seed {seed}"}
    saved = json.loads(RESULT.read_text()) if RESULT.exists() else {"runs": []}
    saved["runs"] = [r for r in saved["runs"] if r["dataset"] != dataset] + [result]
    write_result(RESULT, saved)
    print(f"RecBole SASRec {dataset}: test R@10 {result['test']['recall@10']:.4f} "
          f"N@10 {result['test']['ndcg@10']:.4f}, {epoch} epochs in {train_s:.0f}s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["write", "run"])
    parser.add_argument("--dataset", default="amazon-beauty")
    parser.add_argument("--data", "--out", dest="data", type=Path, default=Path("artifacts/recbole-data"))
    parser.add_argument("--budget-minutes", type=float, default=None, help="wall-clock cap")
    parser.add_argument("--cpu-budget-minutes", type=float, default=10.0,
                        help="CPU-time cap (all threads), the fair budget on a shared machine; "
                             "0 for none")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.cpu_budget_minutes = args.cpu_budget_minutes or None
    if args.step == "write":
        write(args.dataset, args.data)
    else:
        run(args.dataset, args.data, args.budget_minutes, args.cpu_budget_minutes, args.seed)


if __name__ == "__main__":
    main()
