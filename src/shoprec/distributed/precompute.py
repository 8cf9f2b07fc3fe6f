"""Every shopper's top-k, sharded over Ray workers and written to the store.

The model is put into Ray's object store once (workers on one node share that copy); each task
takes a contiguous shard of shoppers and runs `batch_topk.top_k_all`, the same code a single
process runs, so the lists are identical. Results come back in shard order and are written to
the `precomputed` table with the bundle's version; `refresh` recomputes only the shoppers with
events newer than their list.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shoprec.data.types import History
from shoprec.distributed.cluster import connect
from shoprec.models.batch_topk import top_k_all


@dataclass
class TopK:
    """(shoppers, k) item indices (-1 pads) and scores, and the Ray nodes that computed them."""

    indices: np.ndarray
    scores: np.ndarray
    nodes: list[str] = field(default_factory=list)


def _shard_top_k(model: Any, histories: Sequence[History], k: int) -> tuple[np.ndarray, np.ndarray, str]:
    import ray

    idx, val = top_k_all(model, histories, k)
    return idx, val, ray.get_runtime_context().get_node_id()


def ray_top_k(model: Any, histories: Sequence[History], k: int = 10, workers: int = 2,
              address: str | None = None, shards_per_worker: int = 4) -> TopK:
    """`top_k_all(model, histories, k)` computed in shards on a Ray cluster."""
    ray = connect(address, num_cpus=workers)
    task = ray.remote(num_cpus=1)(_shard_top_k)
    model_ref = ray.put(model)
    n_shards = max(1, min(len(histories), workers * shards_per_worker))
    bounds = np.linspace(0, len(histories), n_shards + 1).astype(int)
    futures = [task.remote(model_ref, list(histories[lo:hi]), k)
               for lo, hi in itertools.pairwise(bounds) if hi > lo]
    parts = ray.get(futures)
    if not parts:
        return TopK(np.zeros((0, k), np.int64), np.zeros((0, k), np.float32))
    return TopK(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                sorted({p[2] for p in parts}))


def bundle_version(manifest: dict[str, Any]) -> str:
    return f"{manifest.get('model')}@{manifest.get('created')}#{manifest.get('fingerprint')}"


@dataclass(frozen=True)
class PrecomputeReport:
    shoppers: int
    written: int
    seconds: float
    workers: int
    nodes: int
    version: str
    database: str


def precompute_bundle(bundle_dir: Path, k: int = 10, workers: int = 2,
                      address: str | None = None, database_url: str | None = None,
                      refresh: bool = False) -> PrecomputeReport:
    """Top-k for every shopper the bundle knows (or, with `refresh`, every shopper whose store
    events are newer than their list), written to the store. `workers=0`: one process, no Ray."""
    from shoprec.bundle import load_bundle
    from shoprec.data.splits import full_train
    from shoprec.store import Store, url_beside_bundle
    from shoprec.store.precomputed import stale_shoppers, write_precomputed

    bundle = load_bundle(bundle_dir)
    ds = bundle.dataset
    store = Store(database_url or url_beside_bundle(bundle_dir))
    try:
        users = list(ds.user_map.ids)
        histories = full_train(ds).histories
        if refresh:
            users, histories = _fresh_histories(store, ds, users, histories,
                                                stale_shoppers(store))
        start = time.perf_counter()
        if workers > 0:
            result = ray_top_k(bundle.model, histories, k, workers, address)
        else:
            result = TopK(*top_k_all(bundle.model, histories, k), nodes=["local"])
        seconds = time.perf_counter() - start
        ids = np.asarray(ds.item_map.ids, dtype=object)
        version = bundle_version(bundle.manifest)
        rows = ((u, [ids[i] for i in idx if i >= 0], [s for i, s in zip(idx, sc) if i >= 0])
                for u, idx, sc in zip(users, result.indices.tolist(), result.scores.tolist()))
        written = write_precomputed(store, rows, version)
        return PrecomputeReport(len(users), written, seconds, workers, len(result.nodes),
                                version, store.safe_url)
    finally:
        store.close()


def _fresh_histories(store: Any, ds: Any, users: list[str], histories: list[History],
                     stale: list[str]) -> tuple[list[str], list[History]]:
    """The stale shoppers' histories: their store events (the store holds the shop's whole
    event log once seeded) mapped to the bundle's items; items the bundle lacks are skipped."""
    known = dict(zip(users, histories))
    out_users, out_hist = [], []
    for user in stale:
        events = store.user_events(user)
        items = [ds.item_map.get(e.item_id) for e in events]
        items = np.asarray([i for i in items if i is not None], dtype=np.int64)
        if len(items):
            out_users.append(user)
            out_hist.append(History(items))
        elif user in known:
            out_users.append(user)
            out_hist.append(known[user])
    return out_users, out_hist
