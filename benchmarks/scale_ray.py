"""1 vs 2 Ray workers on this 2-core machine, for each distributed path, beside one process.

- precompute: item-kNN top-10 for the first 100,000 shoppers of the 100k-item SYNTHETIC rig shop
  (run benchmarks/scale.py --sizes 100k first): one process, then Ray with 1 and 2 workers;
  the lists must be identical.
- encode: 2,000 item texts of the 10k SYNTHETIC rig shop through ONNX int8 MiniLM: one process
  (1 thread), then Ray Data with 1 and 2 actors of 1 thread; vectors compared.
- train: SASRec (ids, causal, 3 epochs) on the first 6,000 real Amazon Beauty shoppers: one
  process of 1 thread, then data-parallel over 2 Ray workers of 1 thread (lr x 2); seconds and
  validation NDCG@10.

    SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale_ray.py

The machine has 2 cores shared with other work, so 2 workers can at best halve the time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, write_result

HERE = Path(__file__).resolve().parent


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - start, 2)


def precompute(work: Path) -> dict:
    import sys

    sys.path.insert(0, str(HERE))
    from scale_stages import load_train

    from shoprec.distributed.precompute import ray_top_k
    from shoprec.models.batch_topk import top_k_all
    from shoprec.models.itemknn import ItemKNN

    hist = load_train(work / "100k").histories[:100_000]
    model = ItemKNN().load(work / "100k" / "model-itemknn")
    (idx, _), one = _timed(lambda: top_k_all(model, hist, 10))
    out = {"shoppers": len(hist), "one_process_s": one}
    for w in (1, 2):
        res, s = _timed(lambda w=w: ray_top_k(model, hist, 10, workers=w))
        out[f"ray_{w}_workers_s"] = s
        out[f"ray_{w}_equal"] = bool(np.array_equal(res.indices, idx))
    out["speedup_2_vs_1"] = round(out["ray_1_workers_s"] / out["ray_2_workers_s"], 2)
    return out


def encode(work: Path) -> dict:
    import polars as pl

    from shoprec.distributed.encode import RayEncoder
    from shoprec.text import build_item_text, get_encoder

    texts = build_item_text(pl.read_parquet(work / "10k" / "shop" / "items.parquet").head(2000))
    ref, one = _timed(lambda: get_encoder(backend="onnx", threads=1).encode(texts))
    out = {"texts": len(texts), "one_process_1_thread_s": one}
    for w in (1, 2):
        enc = RayEncoder(backend="onnx", workers=w, threads=1, batch_size=128)
        vec, s = _timed(lambda enc=enc: enc.encode(texts))
        out[f"ray_{w}_actors_s"] = s
        out[f"ray_{w}_max_abs_diff"] = float(np.abs(vec - ref).max())
    out["speedup_2_vs_1"] = round(out["ray_1_actors_s"] / out["ray_2_actors_s"], 2)
    return out


def train() -> dict:
    import polars as pl

    from shoprec.data.dataset import build_dataset
    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train
    from shoprec.distributed.train import fit_data_parallel
    from shoprec.models.sasrec import SASRec

    beauty = load_dataset("amazon-beauty")
    inter = beauty.interactions.filter(pl.col("user") < 6000).drop("user", "item")
    items = beauty.items.join(inter.select("item_id").unique(), on="item_id", how="semi")
    data = full_train(build_dataset(items, inter, name="beauty-6000"))
    params = {"item_repr": "id", "id_init": "random", "max_epochs": 3, "patience": 3,
              "max_minutes": None, "seed": 0}
    single, one = _timed(lambda: SASRec(threads=1, progress=False, **params).fit(data))
    (spread, _), two = _timed(lambda: fit_data_parallel(data, workers=2, **params))
    return {"shoppers": data.n_users, "items": data.n_items, "epochs": 3,
            "one_process_s": one, "one_process_valid_ndcg@10": round(single.valid_ndcg_, 4),
            "ray_2_workers_s": two, "ray_2_valid_ndcg@10": round(spread.valid_ndcg_, 4),
            "speedup_2_vs_1": round(one / two, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shoprec-scale"))
    ap.add_argument("--parts", default="precompute,encode,train")
    args = ap.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out_file = HERE / "results" / "scale_ray.json"
    results = json.loads(out_file.read_text()) if out_file.exists() else {}
    results.update({"machine": machine(),
                    "command": "SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 "
                               ".venv/bin/python benchmarks/scale_ray.py"})
    work = Path(args.work)
    for part in args.parts.split(","):
        fn = {"precompute": lambda: precompute(work), "encode": lambda: encode(work),
              "train": train}[part]
        results[part] = fn()
        print(part, results[part], flush=True)
        write_result(out_file, results)
    ray.shutdown()


if __name__ == "__main__":
    main()
