"""Recommenders that learn only from differentially private aggregates.

They measure what privacy costs: `DPPopular` ranks by noisy item counts, `DPCooccurrence` by the
sum of the noisy co-occurrence rows of the shopper's history items ("shoppers who bought this
later bought"). With `epsilon=None` the same clipped counts are used without noise, which
separates the cost of clipping from the cost of noise. What they save is the noisy release only,
so a saved model can be published.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp

from shoprec.models.base import History, TrainData
from shoprec.privacy.mechanisms import noisy_cooccurrence, noisy_item_counts


class DPPopular:
    """Most popular items by epsilon-DP counts (each shopper counts at most `max_items` items)."""

    name = "dp-popular"

    def __init__(self, epsilon: float | None = 1.0, max_items: int = 10, seed: int = 0) -> None:
        self.epsilon = epsilon
        self.max_items = max_items
        self.seed = seed

    def fit(self, data: TrainData) -> Self:
        self.counts_ = noisy_item_counts(data.histories, data.n_items, self.epsilon,
                                         self.max_items, self.seed).astype(np.float32)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "noisy_counts.npy", self.counts_)
        (path / "params.json").write_text(json.dumps(
            {"epsilon": self.epsilon, "max_items": self.max_items, "seed": self.seed}))

    @classmethod
    def load(cls, path: Path) -> Self:
        model = cls(**json.loads((path / "params.json").read_text()))
        model.counts_ = np.load(path / "noisy_counts.npy")
        return model


class DPCooccurrence:
    """Item-to-item recommendations from epsilon-DP co-occurrence counts.

    score(i) = sum over distinct history items h of noisy count(h -> i); each shopper contributes
    at most `max_pairs` ordered pairs at most `window` positions apart; each row of the release
    keeps its `top_per_item` largest noisy counts.

    `domain_size`: first release DP item counts with `domain_share` of epsilon (each shopper
    counting at most 10 items), then release co-occurrence among the `domain_size` most popular
    items only, with the rest of epsilon (sequential composition: the total is epsilon). Items
    outside the domain are never recommended.
    """

    name = "dp-cooccurrence"

    def __init__(self, epsilon: float | None = 1.0, max_pairs: int = 10, window: int = 3,
                 top_per_item: int = 100, domain_size: int | None = None,
                 domain_share: float = 0.2, seed: int = 0) -> None:
        self.epsilon = epsilon
        self.max_pairs = max_pairs
        self.window = window
        self.top_per_item = top_per_item
        self.domain_size = domain_size
        self.domain_share = domain_share
        self.seed = seed

    def fit(self, data: TrainData) -> Self:
        epsilon, domain = self.epsilon, None
        if self.domain_size is not None:
            if not 0 < self.domain_share < 1:
                raise ValueError(f"domain_share must be between 0 and 1, got {self.domain_share}")
            share = None if epsilon is None else epsilon * self.domain_share
            counts = noisy_item_counts(data.histories, data.n_items, share, 10, self.seed + 1)
            domain = np.sort(np.argsort(-counts, kind="stable")[: self.domain_size])
            epsilon = None if epsilon is None else epsilon - share  # type: ignore[operator]
        self.domain_ = domain
        self.counts_ = noisy_cooccurrence(data.histories, data.n_items, epsilon, self.max_pairs,
                                          self.window, self.top_per_item, self.seed,
                                          domain=domain)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        scores = self._sums(histories)
        if getattr(self, "domain_", None) is not None:
            outside = np.ones(scores.shape[1], dtype=bool)
            outside[self.domain_] = False
            scores[:, outside] = -np.inf
        return scores

    def _sums(self, histories: Sequence[History]) -> np.ndarray:
        n = self.counts_.shape[0]
        rows = [np.unique(np.asarray(h.items, dtype=np.int64)) for h in histories]
        rows = [r[r < n] for r in rows]
        user = sp.csr_matrix(
            (np.ones(sum(len(r) for r in rows), np.float32),
             (np.repeat(np.arange(len(rows)), [len(r) for r in rows]),
              np.concatenate(rows) if rows else np.zeros(0, np.int64))),
            shape=(len(rows), n))
        return np.asarray((user @ self.counts_).todense(), dtype=np.float32)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        sp.save_npz(path / "noisy_cooccurrence.npz", self.counts_)
        if self.domain_ is not None:
            np.save(path / "domain.npy", self.domain_)
        (path / "params.json").write_text(json.dumps(
            {"epsilon": self.epsilon, "max_pairs": self.max_pairs, "window": self.window,
             "top_per_item": self.top_per_item, "domain_size": self.domain_size,
             "domain_share": self.domain_share, "seed": self.seed}))

    @classmethod
    def load(cls, path: Path) -> Self:
        model = cls(**json.loads((path / "params.json").read_text()))
        model.counts_ = sp.load_npz(path / "noisy_cooccurrence.npz").tocsr()
        domain = path / "domain.npy"
        model.domain_ = np.load(domain) if domain.is_file() else None
        return model
