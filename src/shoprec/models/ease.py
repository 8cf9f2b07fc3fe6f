"""EASE^R (Steck, WWW 2019): a shallow linear item-item model with a closed-form solution.

    B = argmin ||X - X B||^2 + l2 ||B||^2   subject to diag(B) = 0
      = I - P / diag(P),  P = (X^T X + l2 I)^-1

over the binary shoppers x items matrix X. A strong baseline on sparse shop data (often above
item-kNN and ALS), but B is a dense items x items matrix and its fit inverts one: memory grows
with the square of the catalogue and time with its cube. `max_items` is the refusal line, so a
large shop gets a clear error naming the limit instead of an out-of-memory kill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shoprec.data.types import EvalSet, History, TrainData, history_matrix
from shoprec.models.base import Model, ModelConfig
from shoprec.models.files import State
from shoprec.models.sparse_ops import history_row, row_times_dense

#: Largest catalogue fitted by default: three dense float32 items x items matrices (Gram,
#: inverse, LAPACK workspace) of 30,000 items take about 11 GB.
MAX_ITEMS = 30_000


def dense_gigabytes(n_items: int, copies: int = 3) -> float:
    """Memory the fit needs for `copies` dense float32 items x items matrices, in GB."""
    return copies * 4 * n_items * n_items / 1e9


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (LAPACK potrf + potri)."""
    from scipy.linalg import lapack

    factor, info = lapack.spotrf(a, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise ValueError(f"ease: the regularised Gram matrix is not positive definite (info={info})")
    inv, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValueError(f"ease: inverting the Gram matrix failed (info={info})")
    upper = np.triu(inv)
    return upper + np.triu(inv, 1).T


@dataclass(frozen=True)
class EASEConfig(ModelConfig):
    """`l2`: the ridge penalty; `max_items`: the largest catalogue it will fit (see MAX_ITEMS);
    `threads`: BLAS threads for the fit and the scoring."""

    l2: float = 100.0
    max_items: int = MAX_ITEMS
    threads: int = 2

    def __post_init__(self) -> None:
        if self.l2 <= 0:
            raise ValueError(f"ease needs l2 > 0, got {self.l2}")


class EASE(Model):
    name = "ease"
    Config = EASEConfig
    config: EASEConfig
    #: the dense items x items weights are memory-mapped on load, so serving workers share them
    mmap: ClassVar[tuple[str, ...]] = ("weights",)

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        n, c = data.n_items, self.config
        if n > c.max_items:
            raise ValueError(
                f"ease needs a dense {n:,} x {n:,} item matrix (about {dense_gigabytes(n):.0f} GB "
                f"to fit); its limit is max_items={c.max_items:,} items "
                f"({dense_gigabytes(c.max_items):.0f} GB). Use itemknn or als for this "
                f"catalogue, or raise max_items if the machine has the memory.")
        x = sp.csr_matrix(data.matrix, dtype=np.float32)
        with threadpool_limits(c.threads, "blas"):
            gram = (x.T @ x).toarray()
            gram[np.diag_indices(n)] += c.l2
            p = _spd_inverse(gram)  # half the work of a general inverse; overwrites gram
            self.p_diag_ = np.diag(p).astype(np.float64)
            b = p / (-self.p_diag_)[None, :]
            b[np.diag_indices(n)] = 0.0
        self.weights_ = np.ascontiguousarray(b, dtype=np.float32)
        return self

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion of one shopper, exactly as a refit on `remaining` in O(items^2), not a new
        inverse: removing their binary row x from X changes the Gram matrix by x x^T, so
        P' = P + (P x)(P x)^T / (1 - x^T P x) (Sherman-Morrison), and P is recovered from the
        weights as (I - B) diag(P). Several shoppers at once (or weights saved without diag(P))
        are refitted."""
        items = np.unique(np.asarray(removed_items, dtype=np.int64))
        if len(removed_rows) != 1 or getattr(self, "p_diag_", None) is None:
            return self.fit(remaining)
        if not len(items):
            return self
        with threadpool_limits(self.config.threads, "blas"):
            p = -np.asarray(self.weights_, dtype=np.float64) * self.p_diag_[None, :]
            p[np.diag_indices_from(p)] = self.p_diag_
            u = p[:, items].sum(axis=1)
            p += np.outer(u, u) / (1.0 - u[items].sum())
            self.p_diag_ = np.diag(p).copy()
            b = p / (-self.p_diag_)[None, :]
            b[np.diag_indices_from(b)] = 0.0
        self.weights_ = np.ascontiguousarray(b, dtype=np.float32)
        return self

    @property
    def n_items(self) -> int:
        """Items scored (`CountsItems`)."""
        return int(self.weights_.shape[0])

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """Binary history rows (as in the fit) times the weights. scipy's sparse-times-dense
        product runs no BLAS, so no thread limit is set here (entering one costs ~0.9 ms)."""
        if len(histories) == 1:  # online: add up the weight rows of the shopper's items
            cols, _ = history_row(histories[0], self.weights_.shape[0])
            return row_times_dense(cols, np.ones(len(cols), np.float32), self.weights_)[None]
        rows = history_matrix(histories, self.weights_.shape[0])
        rows.data[:] = 1.0  # binary, as in the fit
        return np.asarray(rows @ self.weights_, dtype=np.float32)

    def _state(self) -> State:
        state: State = {"weights": self.weights_}
        if getattr(self, "p_diag_", None) is not None:  # lets one deletion skip a new inverse
            state["p_diag"] = self.p_diag_
        return state

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.weights_ = state["weights"]
        self.p_diag_ = state.get("p_diag")
