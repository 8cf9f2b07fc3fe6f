"""The shapes data takes on its way into a model: histories, training data, evaluation sets, splits.

They live in `data`, the stage that makes them, so every later stage (models, evaluation,
profiles, engine) imports them from below and `data` never imports a model. A model knows item
indices, never shop ids: these hold indices only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

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

    def select(self, keep: np.ndarray) -> History:
        """The events where `keep` (a boolean mask) is true, in order."""
        return History(self.items[keep], None if self.values is None else self.values[keep],
                       None if self.timestamps is None else self.timestamps[keep])


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
            return history_matrix(self.histories, self.n_items)
        return self.matrix


@dataclass(frozen=True)
class EvalSet:
    """Shoppers to evaluate: the history a model sees and the items it should rank high."""

    users: np.ndarray
    histories: list[History]
    targets: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class Split:
    protocol: str
    train: TrainData
    valid: EvalSet
    test: EvalSet


def history_matrix(histories: Sequence[History], n_items: int) -> sp.csr_matrix:
    """(len(histories), n_items) float32 CSR of each history's last value per item: the rows
    models score histories they never saw with, the same meaning as `TrainData.value_matrix`."""
    lengths = np.fromiter((len(h.items) for h in histories), dtype=np.int64, count=len(histories))
    rows = np.repeat(np.arange(len(histories), dtype=np.int64), lengths)
    if not len(rows):
        return sp.csr_matrix((len(histories), n_items), dtype=np.float32)
    cols = np.concatenate([np.asarray(h.items, dtype=np.int64) for h in histories])
    if cols.min() < 0 or cols.max() >= n_items:
        bad = cols[(cols < 0) | (cols >= n_items)][0]
        raise ValueError(f"history holds item index {bad}, outside the model's 0..{n_items - 1}")
    if all(h.values is not None for h in histories):
        vals = np.concatenate([np.asarray(h.values, dtype=np.float32) for h in histories])
    else:
        vals = np.ones(len(cols), dtype=np.float32)
    # keep the last occurrence of every (row, item): first occurrence in the reversed arrays
    keys = (rows * n_items + cols)[::-1]
    uniq, first = np.unique(keys, return_index=True)
    data = vals[::-1][first]
    return sp.csr_matrix((data, (uniq // n_items, uniq % n_items)),
                         shape=(len(histories), n_items), dtype=np.float32)
