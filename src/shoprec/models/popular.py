"""Most-popular items: the baseline every model must beat and the cold-shopper fallback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import ExactTerms, Model, ModelConfig, distinct_items
from shoprec.models.files import State


@dataclass(frozen=True)
class PopularConfig(ModelConfig):
    """`recent_days` limits the count to the last days of the training data, for a "trending"
    variant (None: all of it)."""

    recent_days: float | None = None


class Popular(Model):
    """Scores each item by how many shoppers interacted with it."""

    name = "popular"
    Config = PopularConfig
    config: PopularConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        counts = np.zeros(data.n_items, dtype=np.float64)
        if self.config.recent_days is not None:
            last = max((h.timestamps.max() for h in data.histories
                        if h.timestamps is not None and len(h)), default=0)
            since = last - self.config.recent_days * 86400
            for h in data.histories:
                np.add.at(counts, h.items[h.timestamps >= since], 1.0)
        else:
            counts += np.asarray(data.matrix.sum(axis=0)).ravel()
        self.counts_ = counts.astype(np.float32)
        return self

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion: counts taken again over the shoppers who remain."""
        return self.fit(remaining)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms:
        """A popularity score does not depend on the history: every term is 0."""
        items = distinct_items(history)
        intercept = np.asarray(self.counts_, dtype=np.float64)[np.asarray(targets)]
        return ExactTerms(items, np.zeros((len(targets), len(items))), intercept)

    def _state(self) -> State:
        return {"counts": self.counts_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.counts_ = state["counts"]
