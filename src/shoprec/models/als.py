"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the `implicit` library, on the CPU.

Shoppers are not kept as rows of a trained user matrix: `score` solves each given history's user
factors against the fixed item factors with implicit's own batched least-squares solve
(`recalculate_user`), so fresh shoppers and histories that grew since training are scored the
same way as known ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from shoprec.models.base import History, TrainData
from shoprec.models.sparse_ops import history_matrix


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


class ALS:
    name = "als"

    def __init__(
        self, factors: int = 256, regularization: float = 1.0, alpha: float = 40.0,
        iterations: int = 15, random_state: int = 0, num_threads: int = 2,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, data: TrainData) -> Self:
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.random_state,
                num_threads=self.num_threads)
            model.fit(sp.csr_matrix(data.value_matrix, dtype=np.float32), show_progress=False)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        rows = history_matrix(histories, self.item_factors_.shape[0])
        users = fold_in_users(self.item_factors_, rows, self.regularization, self.alpha,
                              self.num_threads)
        return users @ self.item_factors_.T

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "item_factors.npy", self.item_factors_)
        (path / "params.json").write_text(json.dumps(
            {"factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
             "iterations": self.iterations, "random_state": self.random_state,
             "num_threads": self.num_threads}))

    @classmethod
    def load(cls, path: Path) -> Self:
        model = cls(**json.loads((path / "params.json").read_text()))
        model.item_factors_ = np.load(path / "item_factors.npy")
        return model
