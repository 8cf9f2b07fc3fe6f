"""User-based collaborative filtering, exactly as the product brief states it.

sim(u, v) is the cosine between the two shoppers' rating rows; the prediction for item i is the
similarity-weighted average of the ratings that u's top-N neighbours gave i:

    pred(u, i) = sum_v sim(u, v) * r(v, i) / sum_v |sim(u, v)|,   v in top-N(u) who rated i.

On implicit data (every rating is 1) that average is 1 for every item any neighbour touched,
which cannot rank, so `aggregate="sum"` offers the usual ranking variant, the numerator alone
(sum of neighbour similarities, weighted by rating). Validation picks between them. The query
user is scored from the History it is given, so fresh shoppers work; a known shopper's own
training row, if passed back in, is one of its neighbours (it only adds items it already has).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import EvalSet, History, TrainData, history_matrix
from shoprec.models.base import Model, ModelConfig
from shoprec.models.files import State
from shoprec.models.sparse_ops import normalize_rows, top_n_per_row

AGGREGATES = ("average", "sum")


@dataclass(frozen=True)
class UserKNNConfig(ModelConfig):
    """`neighbours`: the top-N most similar shoppers; `aggregate`: "average" (the brief's
    prediction) or "sum" (its numerator, the ranking variant for implicit data)."""

    neighbours: int = 50
    aggregate: str = "average"

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"userknn aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")
        if self.neighbours < 1:
            raise ValueError(f"userknn neighbours must be at least 1, got {self.neighbours}")


class UserKNN(Model):
    name = "userknn"
    Config = UserKNNConfig
    config: UserKNNConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        self.ratings_ = sp.csr_matrix(data.value_matrix, dtype=np.float32)
        self._prepare()
        return self

    def _prepare(self) -> None:
        self._unit_rows = normalize_rows(self.ratings_)
        self._rated = self.ratings_.copy()
        self._rated.data[:] = 1.0

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion: the removed shoppers' rating rows are dropped (later rows move up, as the
        shoppers' indices do when their rows leave the data)."""
        keep = np.setdiff1d(np.arange(self.ratings_.shape[0]), np.asarray(removed_rows, dtype=np.int64))
        self.ratings_ = sp.csr_matrix(self.ratings_[keep], dtype=np.float32)
        self._prepare()
        return self

    def similarities(self, histories: Sequence[History]) -> sp.csr_matrix:
        """(len(histories), training users) cosine similarities, top-N per row kept."""
        query = normalize_rows(history_matrix(histories, self.ratings_.shape[1]))
        return top_n_per_row(sp.csr_matrix(query @ self._unit_rows.T), self.config.neighbours)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        weights = self.similarities(histories)
        numerator = (weights @ self.ratings_).toarray()
        if self.config.aggregate == "sum":
            return numerator.astype(np.float32)
        weights.data = np.abs(weights.data)
        denominator = (weights @ self._rated).toarray()
        out = np.full(numerator.shape, -np.inf, dtype=np.float32)  # no neighbour rated it
        np.divide(numerator, denominator, out=out, where=denominator > 0)
        return out

    def _state(self) -> State:
        return {"ratings": self.ratings_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.ratings_ = sp.csr_matrix(state["ratings"], dtype=np.float32)
        self._prepare()
