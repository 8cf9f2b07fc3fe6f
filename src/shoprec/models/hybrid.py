"""`hybrid`: the transformer blended with item-item and content scores, weights chosen on validation.

Each component's scores are standardised per shopper (z-scores over the catalogue), so a blend
weight means the same on every shop whatever the component's scale. The weights are searched on a
simplex grid over the validation shoppers' full-ranking NDCG@10; the grid holds every single
component (weight 1), so the chosen blend is never below its best component on validation.

Fit with components already trained (`Hybrid.from_fitted`, what `--model auto` does with the
candidates it has trained anyway) or from scratch (`fit`, which trains each component first).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from shoprec.models.base import History, Recommender, TrainData, fit_model

#: components of the default blend: the text-aware transformer, item-item CF and its linear kin
DEFAULT_COMPONENTS: tuple[str, ...] = ("sasrec", "itemknn", "ease")


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores (a constant row becomes zeros)."""
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of `n` non-negative multiples of `step` that sum to 1."""
    units = round(1.0 / step)
    rows = [c for c in itertools.product(range(units + 1), repeat=n) if sum(c) == units]
    return np.asarray(rows, dtype=np.float32) / units


def blend_validation(models: Sequence[Recommender], valid: Any, step: float = 0.1,
                     batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(weights grid, validation NDCG@10 of each grid row) for blends of `models` on `valid`."""
    from shoprec.evaluation.metrics import mask_seen, target_ranks  # the project's one metric

    grid = simplex_grid(len(models), step)
    totals = np.zeros(len(grid), dtype=np.float64)
    for lo in range(0, len(valid), batch_size):
        hist = valid.histories[lo:lo + batch_size]
        targets = valid.targets[lo:lo + batch_size]
        parts = [standardise(m.score(hist)) for m in models]
        for g, weights in enumerate(grid):
            scores = sum(w * p for w, p in zip(weights, parts) if w > 0)
            mask_seen(scores, hist)
            ranks = np.concatenate([r[:1] for r in target_ranks(scores, targets)])
            totals[g] += np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0).sum()
    return grid, totals / max(len(valid), 1)


class Hybrid:
    name = "hybrid"

    def __init__(self, components: Sequence[str] = DEFAULT_COMPONENTS,
                 component_params: Mapping[str, Mapping[str, Any]] | None = None,
                 step: float = 0.1) -> None:
        self.components = tuple(components)
        self.component_params = dict(component_params or {})
        self.step = step

    @classmethod
    def from_fitted(cls, models: Mapping[str, Recommender], valid: Any, step: float = 0.1) -> Self:
        """A blend of already trained `models` (name -> model), weights chosen on `valid`."""
        from shoprec.models.base import get_params

        hybrid = cls(list(models), {n: get_params(m) for n, m in models.items()}, step)
        hybrid.models_ = dict(models)
        hybrid._choose(valid)
        return hybrid

    def fit(self, data: TrainData, valid: Any = None) -> Self:
        """Train every component, then choose the weights on `valid` (or, when None, on each
        shopper's last item held out of the training; cheap components are then refitted on all
        of `data`, the transformer keeps its early-stopped weights)."""
        from shoprec.models.registry import get_spec
        from shoprec.models.sequential import _hold_out_last

        held_out = valid is None
        train = data
        if held_out:
            kept, valid = _hold_out_last(data.histories)
            train = TrainData([History(h) for h in kept], data.n_items, data.items)
        self.models_ = {}
        for name in self.components:
            model = get_spec(name).build(**self.component_params.get(name, {}))
            self.models_[name] = fit_model(model, train, valid)
        self._choose(valid)
        if held_out:
            for name, model in self.models_.items():
                if not hasattr(model, "history_"):  # no early stopping: refit on everything
                    model.fit(data)
        return self

    def _choose(self, valid: Any) -> None:
        grid, ndcg = blend_validation(list(self.models_.values()), valid, self.step)
        best = int(np.argmax(ndcg))
        self.weights_ = {n: float(w) for n, w in zip(self.models_, grid[best])}
        single = {n: float(ndcg[np.flatnonzero(grid[:, i] == 1.0)[0]])
                  for i, n in enumerate(self.models_)}
        self.validation_ = {"ndcg@10": float(ndcg[best]), "components_ndcg@10": single}

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion: every component that can forget exactly does so (on a copy, so requests in
        flight keep the old one); the others (the transformer) keep their weights until the next
        retrain, which `keeps_removed_weights` tells the bundle's manifest."""
        models = {}
        for name, model in self.models_.items():
            if hasattr(model, "forget_users"):
                model = copy.copy(model).forget_users(remaining, removed_rows, removed_items)
            models[name] = model
        self.models_ = models
        return self

    @property
    def keeps_removed_weights(self) -> bool:
        return any(not hasattr(m, "forget_users") for m in self.models_.values())

    def score(self, histories: Sequence[History]) -> np.ndarray:
        out = None
        for name, model in self.models_.items():
            w = self.weights_[name]
            if w > 0:
                part = w * standardise(model.score(histories))
                out = part if out is None else out + part
        return out

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for name, model in self.models_.items():
            model.save(path / name)
        (path / "hybrid.json").write_text(json.dumps(
            {"params": {"components": list(self.components),
                        "component_params": self.component_params, "step": self.step},
             "weights": self.weights_, "validation": self.validation_}, indent=2, default=str))

    @classmethod
    def load(cls, path: Path) -> Self:
        from shoprec.models.registry import get_spec

        saved = json.loads((path / "hybrid.json").read_text())
        model = cls(**saved["params"])
        model.weights_, model.validation_ = saved["weights"], saved["validation"]
        model.models_ = {n: get_spec(n).cls().load(path / n) for n in model.components}
        return model
