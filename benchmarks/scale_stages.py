"""The scale rig's stages: each runs in its own child process (benchmarks/scale.py starts it and
reads its peak RSS from the kernel), reads what earlier stages left in the size's work folder and
returns the figures it measured. `seconds` is the stage's own work, not loading its inputs.

All data is SYNTHETIC (benchmarks/scale_data.py).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shoprec.data.types import History, TrainData

#: texts encoded per size: the whole catalogue up to this, else a sample of this many
ENCODE_SAMPLE = 10_000
#: shoppers one transformer epoch is measured on (2M shoppers x 1 epoch is hours on 2 cores)
SASREC_SHOPPERS = 100_000
QUERIES = 1_000


def load_train(work: Path) -> TrainData:
    z = np.load(work / "shop" / "histories.npz")
    indptr, items = z["indptr"], z["items"].astype(np.int64)
    n_items = int(np.load(work / "n_items.npy"))
    hist = [History(items[a:b]) for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist())]
    return TrainData(histories=hist, n_items=n_items)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def stage_generate(work: Path, n_items: int, n_users: int, **_: Any) -> dict[str, Any]:
    from scale_data import ShopShape, write_shop

    counts, seconds = _timed(lambda: write_shop(ShopShape(n_items, n_users), work / "shop"))
    np.save(work / "n_items.npy", np.int64(n_items))
    return {"seconds": seconds, **counts, "files_mb": _size_mb(work / "shop")}


def stage_prepare(work: Path, **_: Any) -> dict[str, Any]:
    """The product's own loader: generic Parquet reader, cleaning, id maps, TrainData."""
    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train

    def run() -> tuple[int, int, int]:
        ds = load_dataset(work / "shop")
        td = full_train(ds)
        return ds.n_items, td.n_users, ds.interactions.height

    (items, users, rows), seconds = _timed(run)
    return {"seconds": seconds, "items": items, "users": users, "interactions": rows}


def stage_encode(work: Path, **_: Any) -> dict[str, Any]:
    """ONNX int8 MiniLM through the embedding cache: cold (encodes) and warm (reads the cache)."""
    import polars as pl

    from shoprec.text import get_encoder, item_vectors

    items = pl.read_parquet(work / "shop" / "items.parquet")
    n = items.height
    sample = items if n <= ENCODE_SAMPLE else items.sample(ENCODE_SAMPLE, seed=0)
    encoder = get_encoder(backend="onnx", threads=2)
    cache = work / "embedding-cache"
    shutil.rmtree(cache, ignore_errors=True)
    vectors, cold = _timed(lambda: item_vectors(sample, encoder=encoder, cache_dir=cache))
    _, warm = _timed(lambda: item_vectors(sample, encoder=encoder, cache_dir=cache))
    if n <= ENCODE_SAMPLE:
        np.save(work / "vectors.npy", vectors)
    return {"seconds": cold, "texts": sample.height, "whole_catalogue": n <= ENCODE_SAMPLE,
            "texts_per_s": sample.height / cold, "cached_seconds": warm,
            "encoder": encoder.identity}


def proxy_vectors(work: Path, n: int, real: np.ndarray) -> np.ndarray:
    """Vectors for a catalogue that was not encoded whole: each the normalised sum of two real
    MiniLM vectors (of the 10k rig's encoded items) plus a little noise, so the index meets
    real-looking structure. Labelled as such in every output."""
    rng = np.random.default_rng(1)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for lo in range(0, n, 100_000):
        m = min(n, lo + 100_000) - lo
        v = real[rng.integers(len(real), size=m)] + real[rng.integers(len(real), size=m)]
        v += rng.normal(scale=0.3 / np.sqrt(real.shape[1]), size=v.shape).astype(np.float32)
        out[lo:lo + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def stage_index(work: Path, real_vectors: Path, **_: Any) -> dict[str, Any]:
    from shoprec.index import ExactIndex, HnswIndex

    n = int(np.load(work / "n_items.npy"))
    own = work / "vectors.npy"
    vectors = np.load(own) if own.exists() else proxy_vectors(work, n, np.load(real_vectors))
    kind = "encoded" if own.exists() else "proxy (sums of two real MiniLM vectors + noise)"
    rng = np.random.default_rng(2)
    q = vectors[rng.integers(n, size=QUERIES)] + rng.normal(
        scale=0.5 / np.sqrt(vectors.shape[1]), size=(QUERIES, vectors.shape[1])).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    index, build = _timed(lambda: HnswIndex(vectors, threads=2))
    (approx, _), batch = _timed(lambda: index.search(q, 10))
    one = []
    for row in q[:200]:
        start = time.perf_counter()
        index.search(row[None], 10)
        one.append(time.perf_counter() - start)
    (exact, _), exact_s = _timed(lambda: ExactIndex(vectors).search(q, 10))
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx.tolist(), exact.tolist())])
    return {"seconds": build, "vectors": kind, "recall@10": float(recall),
            "query_ms_p50": 1e3 * float(np.median(one)), "query_ms_p95": 1e3 * float(
                np.percentile(one, 95)), "batch_queries_per_s": QUERIES / batch,
            "exact_batch_seconds": exact_s, "queries": QUERIES}


def _fit(work: Path, name: str, model: Any) -> dict[str, Any]:
    td = load_train(work)
    _, seconds = _timed(lambda: model.fit(td))
    folder = work / f"model-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    model.save(folder)
    return {"seconds": seconds, "model_mb": _size_mb(folder)}


def stage_itemknn(work: Path, **_: Any) -> dict[str, Any]:
    from shoprec.models.itemknn import ItemKNN

    return _fit(work, "itemknn", ItemKNN())


def stage_als(work: Path, **_: Any) -> dict[str, Any]:
    from shoprec.models.als import ALS

    return {**_fit(work, "als", ALS(factors=64, iterations=15)), "factors": 64, "iterations": 15}


def stage_ease(work: Path, **_: Any) -> dict[str, Any]:
    from shoprec.models.ease import EASE

    try:
        return _fit(work, "ease", EASE())
    except ValueError as exc:
        return {"refused": str(exc)}


def stage_sasrec(work: Path, **_: Any) -> dict[str, Any]:
    """One epoch of the transformer on up to SASREC_SHOPPERS shoppers, validated on 256 others;
    sampled softmax (512 negatives) from 100k items on, ids only (the catalogue is not encoded
    whole at the large sizes, so the text half of the item vectors is left out at every size)."""
    from shoprec.data.types import EvalSet
    from shoprec.models.sasrec import SASRec

    td = load_train(work)
    rng = np.random.default_rng(3)
    order = rng.permutation(td.n_users)
    valid_ids = [u for u in order[:2000].tolist() if len(td.histories[u]) >= 3][:256]
    train_ids = order[2000:2000 + SASREC_SHOPPERS]
    valid = EvalSet(np.asarray(valid_ids), [History(td.histories[u].items[:-1]) for u in valid_ids],
                    [td.histories[u].items[-1:] for u in valid_ids])
    sub = TrainData([td.histories[u] for u in train_ids.tolist()], td.n_items)
    loss = "sampled" if td.n_items >= 100_000 else "full"
    model = SASRec(item_repr="id", id_init="random", loss=loss, max_epochs=1, progress=False,
                   max_minutes=None)
    _, seconds = _timed(lambda: model.fit(sub, valid))
    return {"seconds": seconds, "epochs": 1, "shoppers": len(train_ids), "loss": loss,
            "valid_ndcg@10": model.valid_ndcg_, "valid_shoppers": len(valid_ids)}


def stage_topk(work: Path, **_: Any) -> dict[str, Any]:
    """Top-10 for every shopper: item-kNN's sparse path; ALS's dense path where it is allowed."""
    from shoprec.models.als import ALS
    from shoprec.models.batch_topk import top_k_all
    from shoprec.models.itemknn import ItemKNN

    td = load_train(work)
    knn = ItemKNN().load(work / "model-itemknn")
    _, seconds = _timed(lambda: top_k_all(knn, td.histories, 10))
    out: dict[str, Any] = {"seconds": seconds, "shoppers": td.n_users,
                           "shoppers_per_s": td.n_users / seconds, "model": "itemknn (sparse)"}
    als = ALS().load(work / "model-als")
    try:
        _, als_s = _timed(lambda: top_k_all(als, td.histories, 10))
        out["als_dense_seconds"] = als_s
    except ValueError as exc:
        out["als_dense_refused"] = str(exc)
    return out


def stage_request(work: Path, **_: Any) -> dict[str, Any]:
    """One shopper's recommendations as the service computes them: score one history, top-10."""
    from shoprec.models.als import ALS
    from shoprec.models.itemknn import ItemKNN
    from shoprec.models.ranking import top_k

    td = load_train(work)
    rng = np.random.default_rng(4)
    out: dict[str, Any] = {}
    for name, model in (("itemknn", ItemKNN().load(work / "model-itemknn")),
                        ("als", ALS(num_threads=1).load(work / "model-als"))):
        times = []
        for u in rng.integers(td.n_users, size=200).tolist():
            h = td.histories[u]
            start = time.perf_counter()
            top_k(model.score([h]), 10, histories=[h])
            times.append(time.perf_counter() - start)
        out[f"{name}_ms_p50"] = 1e3 * float(np.median(times))
        out[f"{name}_ms_p95"] = 1e3 * float(np.percentile(times, 95))
    out["seconds"] = out["itemknn_ms_p50"] / 1e3
    return out


def stage_bundle(work: Path, **_: Any) -> dict[str, Any]:
    """`shoprec train`'s bundle (catalogue, interactions, item-kNN weights) and its size."""
    from shoprec.bundle import write_bundle
    from shoprec.data.sources import load_dataset
    from shoprec.models.itemknn import ItemKNN

    ds = load_dataset(work / "shop")
    model = ItemKNN().load(work / "model-itemknn")
    folder = work / "bundle"
    _, seconds = _timed(lambda: write_bundle(folder, ds, model))
    return {"seconds": seconds, "bundle_mb": _size_mb(folder),
            "als_model_mb": _size_mb(work / "model-als")}


STAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "generate": stage_generate, "prepare": stage_prepare, "encode": stage_encode,
    "index": stage_index, "itemknn": stage_itemknn, "als": stage_als, "ease": stage_ease,
    "sasrec": stage_sasrec, "topk": stage_topk, "request": stage_request, "bundle": stage_bundle,
}
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
