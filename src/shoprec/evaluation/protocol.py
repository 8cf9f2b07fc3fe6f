"""`shoprec evaluate`: fit on train, choose hyper-parameters on validation only, report test."""

from __future__ import annotations

import time
from typing import Any

from shoprec.data.dataset import Dataset
from shoprec.data.splits import make_split
from shoprec.data.types import Split
from shoprec.evaluation.auto import evaluate_auto
from shoprec.evaluation.metrics import evaluate
from shoprec.evaluation.result import EvaluationResult
from shoprec.models.base import Recommender, fit_model
from shoprec.models.registry import get_spec

SELECT_BY = "ndcg@10"


def run_evaluation(
    ds: Dataset, model_name: str, protocol: str = "leave-one-out",
    grid: list[dict[str, Any]] | None = None, split: Split | None = None,
) -> EvaluationResult:
    """Try every candidate of the model's grid on validation; the best one is scored on test.
    `model_name="auto"` tries the whole family instead (`shoprec.evaluation.auto`)."""
    if model_name == "auto":
        return evaluate_auto(ds, protocol)
    split = split or make_split(ds, protocol)
    spec = get_spec(model_name)
    candidates = grid if grid is not None else spec.candidates()
    best: tuple[float, dict[str, Any], Recommender, dict[str, float], float] | None = None
    tried = []
    for params in candidates:
        start = time.perf_counter()
        model = fit_model(spec.build(**params), split.train, split.valid)
        train_s = time.perf_counter() - start
        valid = evaluate(model, split.valid, ds.n_items)
        tried.append({"params": params, SELECT_BY: valid[SELECT_BY], "train_seconds": train_s})
        if best is None or valid[SELECT_BY] > best[0]:
            best = (valid[SELECT_BY], params, model, valid, train_s)
    assert best is not None
    _, params, model, valid, train_s = best
    test = evaluate(model, split.test, ds.n_items)
    eval_s = test.pop("eval_seconds")
    valid.pop("eval_seconds", None)
    return EvaluationResult(
        dataset=ds.name, model=model_name, protocol=split.protocol, users=ds.n_users,
        items=ds.n_items, params=params, metrics=test, valid_metrics=valid,
        train_seconds=train_s, eval_seconds=eval_s, tried=tried,
    )
