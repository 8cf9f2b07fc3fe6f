"""Fit a model on all of a data set and write the bundle (`shoprec train`).

The manifest records the cleaning options, so retraining cleans the store's events the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from shoprec.bundle import write_bundle
from shoprec.data.clean import CleanOptions
from shoprec.data.dataset import Dataset
from shoprec.data.events import EventWeights
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train, last_item_split
from shoprec.models.registry import get_spec


def train_bundle(
    source: str, out: Path, model_name: str, params: dict[str, Any] | None = None,
    options: CleanOptions | None = None, tune: bool = False, budget_minutes: float | None = None,
    progress: Callable[[str], None] = lambda _: None, event_weights: EventWeights | None = None,
    hold_out_last: bool = False,
) -> Path:
    """Fit on all of `source` and write a bundle.

    Parameters: `params` when given; with `tune`, the grid candidate with the best validation
    NDCG@10 on a leave-one-out split of this same data (so the choice is the shop's, not a
    benchmark's); otherwise the first value of each grid entry. `model_name="auto"` chooses the
    model itself (`train_auto`). `event_weights` set how strongly each event type counts (the
    bundle records them; serving and retraining use the same). `hold_out_last` leaves each
    shopper's last interaction out (what `shoprec replay` then plays back).
    """
    ds = load_dataset(source, options)
    if hold_out_last:
        from shoprec.experiments.holdout import hold_out_last as without_last

        ds = without_last(ds)[0]
    if event_weights is not None:
        ds = replace(ds, event_weights=event_weights)
    if model_name == "auto":
        return train_auto(ds, out, budget_minutes, progress=progress, options=options)
    spec = get_spec(model_name)
    extra: dict[str, Any] = {"clean": asdict(options or CleanOptions())}
    if params is not None:
        chosen = params
    elif tune and len(spec.candidates()) > 1:
        from shoprec.evaluation.protocol import run_evaluation

        result = run_evaluation(ds, model_name)
        chosen = result.params
        extra["tuning"] = {"protocol": result.protocol, "tried": result.tried,
                           "valid_metrics": result.valid_metrics, "test_metrics": result.metrics}
    else:
        chosen = spec.candidates()[0] if spec.grid else {}
    start = time.perf_counter()
    model = spec.build(**chosen).fit(full_train(ds))
    extra["train_seconds"] = round(time.perf_counter() - start, 3)
    return write_bundle(out, ds, model, metrics=extra.get("tuning", {}).get("test_metrics"),
                        extra=extra)


def train_auto(ds: Dataset, out: Path, budget_minutes: float | None = None,
               family: list | None = None,
               progress: Callable[[str], None] = lambda _: None,
               blend_shoppers: int | None = None, options: CleanOptions | None = None) -> Path:
    """`--model auto`: the family tried within the budget on each shopper's last item, the best
    on validation refitted for the bundle; the manifest records every candidate's figure."""
    from shoprec.evaluation.auto import refit_winner, select_model

    start = time.perf_counter()
    selection = select_model(last_item_split(ds), budget_minutes, family, progress=progress,
                             blend_shoppers=blend_shoppers)
    model = refit_winner(selection.best, full_train(ds))
    extra = {"selection": selection.summary(), "clean": asdict(options or CleanOptions()),
             "train_seconds": round(time.perf_counter() - start, 3)}
    return write_bundle(out, ds, model, metrics={"valid": selection.best.valid}, extra=extra)
