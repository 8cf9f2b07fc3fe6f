"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the `implicit` library, on the CPU.

Shoppers are not kept as rows of a trained user matrix: `score` solves each given history's user
factors against the fixed item factors with implicit's own batched least-squares solve
(`recalculate_user`), so fresh shoppers and histories that grew since training are scored the
same way as known ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from shoprec.data.types import EvalSet, History, TrainData, history_matrix
from shoprec.models.base import Model, ModelConfig
from shoprec.models.files import State


def fold_in_users(
    item_factors: np.ndarray, rows: sp.csr_matrix, regularization: float, alpha: float,
    num_threads: int,
) -> np.ndarray:
    """User factors that best explain each row of `rows` given fixed item factors (ALS solve)."""
    with threadpool_limits(1, "blas"):  # implicit is far slower with a threaded BLAS beside it
        solver = AlternatingLeastSquares(factors=item_factors.shape[1],
                                         regularization=regularization, alpha=alpha,
                                         num_threads=num_threads)
        solver.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        return solver.recalculate_user(np.arange(rows.shape[0]), sp.csr_matrix(rows))


@dataclass(frozen=True)
class ALSConfig(ModelConfig):
    """`alpha` scales the confidence of an observed interaction; `num_threads` is implicit's."""

    factors: int = 256
    regularization: float = 1.0
    alpha: float = 40.0
    iterations: int = 15
    random_state: int = 0
    num_threads: int = 2


class ItemFactors(Model):
    """What ALS and BPR share: item factors learned by an `implicit` model, scored by folding
    each history in (`fold_in_users`), saved as one array. A subclass names the `implicit` class
    (built from the config fields it accepts), the matrix it learns from and how a history is
    folded in."""

    implicit_class: Any
    item_factors_: np.ndarray

    def _train_matrix(self, data: TrainData) -> sp.spmatrix:
        raise NotImplementedError

    def _fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        accepted = inspect.signature(self.implicit_class).parameters
        model = self.implicit_class(**{k: v for k, v in asdict(self.config).items()
                                       if k in accepted})
        with threadpool_limits(1, "blas"):
            model.fit(sp.csr_matrix(self._train_matrix(data), dtype=np.float32),
                      show_progress=False)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        rows = history_matrix(histories, self.item_factors_.shape[0])
        return self._fold_in(rows) @ self.item_factors_.T

    @property
    def n_items(self) -> int:
        """Items scored (`CountsItems`)."""
        return int(self.item_factors_.shape[0])

    def _state(self) -> State:
        return {"item_factors": self.item_factors_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.item_factors_ = state["item_factors"]


class ALS(ItemFactors):
    name = "als"
    Config = ALSConfig
    config: ALSConfig
    implicit_class = AlternatingLeastSquares

    def _train_matrix(self, data: TrainData) -> sp.spmatrix:
        return data.value_matrix

    def _fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        c = self.config
        return fold_in_users(self.item_factors_, rows, c.regularization, c.alpha, c.num_threads)
