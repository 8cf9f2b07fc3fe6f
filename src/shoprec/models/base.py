"""The one small protocol every recommender implements, and the inputs it receives.

A model knows item indices, never shop ids. It learns from `TrainData` and scores any list of
`History` objects, including histories it never saw in training (a shopper's fresh events), so
the service and the evaluation call the same `score`. Top-k, exclusion of seen items, business
filters and explanations are written once on top of `score` (see `shoprec.models.ranking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np
import polars as pl
import scipy.sparse as sp

from shoprec.data.dataset import interaction_matrix


@dataclass(frozen=True)
class History:
    """One shopper's interactions in time order: item indices, optional values and times."""

    items: np.ndarray
    values: np.ndarray | None = None
    timestamps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class TrainData:
    """What a model may learn from: per-user histories over `n_items` items and the catalogue.

    `items` is the catalogue frame (row i = item index i) so text-aware models can read titles;
    collaborative models ignore it.
    """

    histories: list[History]
    n_items: int
    items: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def n_users(self) -> int:
        return len(self.histories)

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """Binary users x items matrix of who interacted with what."""
        return interaction_matrix([h.items for h in self.histories], self.n_items)

    @cached_property
    def value_matrix(self) -> sp.csr_matrix:
        """Users x items matrix of values (ratings) where present, else 1 per interaction."""
        if all(h.values is not None for h in self.histories):
            from shoprec.models.sparse_ops import history_matrix  # it builds on History

            return history_matrix(self.histories, self.n_items)
        return self.matrix


@runtime_checkable
class Recommender(Protocol):
    """fit on training data, score histories against every item; save and load as plain files."""

    name: str

    def fit(self, data: TrainData) -> Self: ...

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """(len(histories), n_items) float32 scores; higher is better."""
        ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> Self: ...


def get_params(model: object) -> dict[str, object]:
    """The constructor arguments of `model` (scikit-learn convention: __init__ only stores them)."""
    import inspect

    names = [p for p in inspect.signature(type(model).__init__).parameters if p != "self"]
    return {n: getattr(model, n) for n in names if hasattr(model, n)}


def fit_model(model: Recommender, train: TrainData, valid: object = None) -> Recommender:
    """Fit `model`; models that early-stop (sasrec, hybrid) also take the validation split."""
    import inspect

    if "valid" in inspect.signature(model.fit).parameters:
        return model.fit(train, valid=valid)
    return model.fit(train)
