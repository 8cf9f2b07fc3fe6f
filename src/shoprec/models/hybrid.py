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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import polars as pl

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import (
    EarlyStops,
    ForgetsShoppers,
    Model,
    ModelConfig,
    Recommender,
    adds_items,
    get_params,
)
from shoprec.models.files import State
from shoprec.models.ranking import batch_target_ranks, ranking_metrics

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


def blend_validation(models: Sequence[Recommender], valid: EvalSet, step: float = 0.1,
                     batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(weights grid, validation NDCG@10 of each grid row) for blends of `models` on `valid`."""
    grid = simplex_grid(len(models), step)
    totals = np.zeros(len(grid), dtype=np.float64)
    for lo in range(0, len(valid), batch_size):
        hist = valid.histories[lo:lo + batch_size]
        targets = valid.targets[lo:lo + batch_size]
        parts = [standardise(m.score(hist)) for m in models]
        for g, weights in enumerate(grid):
            scores = sum(w * p for w, p in zip(weights, parts) if w > 0)
            ndcg = ranking_metrics(batch_target_ranks(scores, hist, targets), (10,))["ndcg@10"]
            totals[g] += ndcg * len(hist)  # the same figure `evaluate` reports, any targets
    return grid, totals / max(len(valid), 1)


@dataclass(frozen=True)
class HybridConfig(ModelConfig):
    """`components`: registry names blended; `component_params`: each one's parameters (name ->
    dict; defaults otherwise); `step`: the spacing of the simplex grid of weights."""

    components: tuple[str, ...] = DEFAULT_COMPONENTS
    component_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    step: float = 0.1

    def __post_init__(self) -> None:  # JSON gives lists and plain dicts back: normalise
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "component_params",
                           {n: dict(p) for n, p in self.component_params.items()})


class Hybrid(Model):
    name = "hybrid"
    Config = HybridConfig
    config: HybridConfig

    @classmethod
    def from_fitted(cls, models: Mapping[str, Recommender], valid: EvalSet,
                    step: float = 0.1) -> Self:
        """A blend of already trained `models` (name -> model), weights chosen on `valid`."""
        hybrid = cls(components=tuple(models),
                     component_params={n: get_params(m) for n, m in models.items()}, step=step)
        hybrid.models_ = dict(models)
        hybrid._choose(valid)
        return hybrid

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        """Train every component, then choose the weights on `valid` (or, when None, on each
        shopper's last item held out of the training; cheap components are then refitted on all
        of `data`, the transformer keeps its early-stopped weights)."""
        from shoprec.models.registry import get_spec
        from shoprec.models.training_loop import last_item_validation

        held_out = valid is None
        train = data
        if held_out:
            kept, valid = last_item_validation(data.histories)
            train = TrainData([History(h) for h in kept], data.n_items, data.items)
        self.models_ = {}
        for name in self.config.components:
            model = get_spec(name).build(**self.config.component_params.get(name, {}))
            self.models_[name] = model.fit(train, valid=valid)
        self._choose(valid)
        if held_out:
            self.refit_cheap_parts(data)
        return self

    def refit_cheap_parts(self, data: TrainData) -> Self:
        """Refit the components without early stopping on all of `data` (seconds); the
        transformer keeps the weights it early-stopped on. The blend weights stay."""
        for model in self.models_.values():
            if not isinstance(model, EarlyStops):
                model.fit(data)
        return self

    def _choose(self, valid: EvalSet) -> None:
        grid, ndcg = blend_validation(list(self.models_.values()), valid, self.config.step)
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
            if isinstance(model, ForgetsShoppers):
                model = copy.copy(model).forget_users(remaining, removed_rows, removed_items)
            models[name] = model
        self.models_ = models
        return self

    @property
    def keeps_removed_weights(self) -> bool:
        return any(not isinstance(m, ForgetsShoppers) for m in self.models_.values())

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """Each weighted component scored once, standardised and added up in place (float32).

        After `add_items_from_text` a component that could not take the new items scores only
        the items it knows (histories trimmed to them) and gives the new ones 0, its neutral
        standardised score, so they are ranked by the components that read them."""
        out = None
        for name, model in self.models_.items():
            w = self.weights_[name]
            if w > 0:
                part = standardise(model.score(self._known_to(name, model, histories)))
                part *= w
                if out is None:
                    out = part
                    continue
                if part.shape[1] > out.shape[1]:
                    out = np.pad(out, ((0, 0), (0, part.shape[1] - out.shape[1])))
                out[:, :part.shape[1]] += part
        return out

    # ---- new catalogue items (`AddsItems`) ----------------------------------------------------
    @property
    def adds_items(self) -> bool:
        """When a component with weight can: the transformer (text path) or a content model."""
        return any(adds_items(m) for n, m in self.models_.items() if self.weights_.get(n, 0) > 0)

    def add_items_from_text(self, items: pl.DataFrame) -> np.ndarray:
        """Every component that can take the new rows does (each reads them its own way); the
        others keep their items and give the new ones their neutral score (see `score`)."""
        if not self.adds_items:
            raise ValueError(f"hybrid: no weighted component of {list(self.models_)} can add "
                             "items from their text")
        for name, model in self.models_.items():
            if not adds_items(model):
                self._width(name, model)  # known before: what it keeps scoring
        added = None
        for name, model in self.models_.items():
            if adds_items(model):
                got = model.add_items_from_text(items)
                if added is not None and not np.array_equal(got, added):
                    raise RuntimeError(f"hybrid: {name} numbered the new items {got[:3]}..., "
                                       f"another component {added[:3]}...")
                added = got
                self._note_width(name, model, int(got[-1]) + 1 if len(got) else 0)
        return added

    def _width(self, name: str, model: Recommender) -> int:
        """How many items component `name` scores (asked once per component object, with an
        empty history; the components that add items report their new width themselves)."""
        known = getattr(self, "_widths", {}).get(name)
        if known is not None and known[0] is model:
            return known[1]
        width = int(model.score([History(np.zeros(0, dtype=np.int64))]).shape[1])
        self._note_width(name, model, width)
        return width

    def _note_width(self, name: str, model: Recommender, width: int) -> None:
        # a new dict each time: a copy of this blend (deletion works on copies) keeps its own
        self._widths = {**getattr(self, "_widths", {}), name: (model, width)}

    def _known_to(self, name: str, model: Recommender, histories: Sequence[History]
                  ) -> Sequence[History]:
        """`histories` without the items component `name` does not know (added after it was
        trained, by the components that could take them); the same list when there are none.
        Until items are added every component scores the same items (a saved component holds
        its trained items only), so nothing is checked."""
        lengths = [len(h) for h in histories]
        if not getattr(self, "_widths", None) or not any(lengths):
            return histories
        newest = max(int(h.items.max()) for h, n in zip(histories, lengths) if n)
        width = self._width(name, model)
        if newest < width:
            return histories
        return [h.select(np.asarray(h.items) < width) for h in histories]

    @property
    def encoder_name(self) -> str | None:
        """The encoder of the first component that reads item texts (None when none does)."""
        return next((n for m in self.models_.values()
                     if (n := getattr(m, "encoder_name", None))), None)

    def _state(self) -> State:
        return dict(self.models_)  # each component in its own folder, with its own model.json

    def _fitted(self) -> dict[str, Any]:
        return {"weights": self.weights_, "validation": self.validation_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.models_ = {name: state[name] for name in self.config.components}
        self.weights_, self.validation_ = fitted["weights"], fitted["validation"]
