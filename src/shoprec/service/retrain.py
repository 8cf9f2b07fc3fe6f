"""Retraining from the store: same model and parameters as the serving bundle, fresh data.

The candidate is fitted on a temporal split of the store's data and scored on its hold-out
window (the last 10% of events in time); the serving configuration gets the same measurement on
the data it was trained on. The candidate replaces the bundle only when its hold-out NDCG@10 is
at least (1 - tolerance) of the serving one's; otherwise, or when anything fails, the old bundle
stays and the result says why. The bundle folder is replaced atomically (`write_bundle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from shoprec.bundle import write_bundle
from shoprec.data.dataset import Dataset, build_dataset, fingerprint
from shoprec.data.errors import DataError
from shoprec.data.splits import full_train, temporal
from shoprec.evaluation.metrics import evaluate
from shoprec.models.registry import get_spec
from shoprec.store import Store

GATE_METRIC = "ndcg@10"
_REPORTED = ("ndcg@10", "recall@10", "mrr@10", "coverage@20")


@dataclass
class RetrainResult:
    swapped: bool
    reason: str
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    serving_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def dataset_from_store(store: Store) -> Dataset:
    """The store's catalogue and events as a Dataset; dismissals are feedback, not interest,
    so they stay out of training. Columns the catalogue never fills are dropped."""
    items = store.items_frame().drop("consumable")
    items = items.select([c for c in items.columns if c == "item_id" or items[c].null_count()
                          < items.height])
    events = store.events_frame().filter(pl.col("event") != "dismiss")
    return build_dataset(items, events, name="store")


def holdout_metrics(ds: Dataset, model_name: str, params: dict[str, Any]) -> dict[str, float]:
    """Fit on all but the last 20% of time, score the last 10% (full ranking)."""
    split = temporal(ds)
    if len(split.test) == 0:
        raise DataError(f"{ds.name}: the hold-out window has no shopper with earlier history")
    model = get_spec(model_name).build(**params).fit(split.train)
    metrics = evaluate(model, split.test, ds.n_items)
    return {k: round(float(metrics[k]), 6) for k in _REPORTED} | {"users": float(len(split.test))}


def choose_model(ds: Dataset) -> tuple[str, dict[str, Any]]:
    """(model name, parameters) that `--model auto` picks on `ds` within its default budget."""
    from shoprec.data.splits import last_item_split
    from shoprec.evaluation.auto import select_model
    from shoprec.models.base import get_params

    best = select_model(last_item_split(ds)).best
    return best.model_name, get_params(best.model)


def retrain_bundle(
    bundle_dir: Path, store: Store, serving_dataset: Dataset, manifest: dict[str, Any],
    tolerance: float = 0.05, reference: dict[str, float] | None = None,
    install: Callable[[Callable[[], Path]], object] | None = None,
    rechoose: bool = False,
) -> RetrainResult:
    """Build, gate and (when good enough) write the new bundle over `bundle_dir`; `install`
    (the service's) is handed the write to run it where it swaps the model. The serving model's
    kind and parameters are kept unless `rechoose`, which runs `--model auto` on the fresh data
    first (its choice then faces the same gate)."""
    start = time.perf_counter()
    name, params = manifest["model"], dict(manifest.get("params") or {})
    try:
        ds = dataset_from_store(store)
        if ds.interactions.height == 0:
            return RetrainResult(False, "the store holds no events to train on",
                                 seconds=time.perf_counter() - start)
        if fingerprint(ds) == manifest.get("fingerprint") and not rechoose:
            return RetrainResult(False, "no new events or items since the serving bundle was built",
                                 seconds=time.perf_counter() - start)
        if rechoose:
            name, params = choose_model(ds)
        candidate = holdout_metrics(ds, name, params)
        if reference is None:
            reference = manifest.get("metrics", {}).get("holdout") or holdout_metrics(
                serving_dataset, name, params)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the old bundle serving
        return RetrainResult(False, f"retrain failed, old bundle kept: {type(exc).__name__}: {exc}",
                             seconds=time.perf_counter() - start)
    floor = (1 - tolerance) * reference[GATE_METRIC]
    if candidate[GATE_METRIC] < floor:
        return RetrainResult(
            False, f"candidate {GATE_METRIC} {candidate[GATE_METRIC]:.4f} is below "
                   f"{floor:.4f} ({1 - tolerance:.0%} of the serving {reference[GATE_METRIC]:.4f}); "
                   "old bundle kept", candidate, reference, time.perf_counter() - start)
    try:
        model = get_spec(name).build(**params).fit(full_train(ds))

        def write() -> Path:
            return write_bundle(bundle_dir, ds, model, metrics={"holdout": candidate},
                                extra={"retrained_from": manifest.get("fingerprint"),
                                       "previous_holdout": reference})

        (install or (lambda run: run()))(write)
    except Exception as exc:  # noqa: BLE001
        return RetrainResult(False, f"retrain failed, old bundle kept: {type(exc).__name__}: {exc}",
                             candidate, reference, time.perf_counter() - start)
    return RetrainResult(
        True, f"candidate {GATE_METRIC} {candidate[GATE_METRIC]:.4f} vs serving "
              f"{reference[GATE_METRIC]:.4f}: swapped", candidate, reference,
        time.perf_counter() - start)
