"""Recommenders that learn only from differentially private aggregates.

They measure what privacy costs: `DPPopular` ranks by noisy item counts, `DPCooccurrence` by the
sum of the noisy co-occurrence rows of the shopper's history items ("shoppers who bought this
later bought"). With `epsilon=None` the same clipped counts are used without noise, which
separates the cost of clipping from the cost of noise. What they save is the noisy release only,
so a saved model can be published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import ExactTerms, Model, ModelConfig, distinct_items
from shoprec.models.files import State
from shoprec.privacy.mechanisms import noisy_cooccurrence, noisy_item_counts


@dataclass(frozen=True)
class DPPopularConfig(ModelConfig):
    """epsilon-DP counts (None: clipped counts without noise), each shopper counting at most
    `max_items` items; `seed` draws the noise."""

    epsilon: float | None = 1.0
    max_items: int = 10
    seed: int = 0


class DPPopular(Model):
    """Most popular items by epsilon-DP counts."""

    name = "dp-popular"
    Config = DPPopularConfig
    config: DPPopularConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        c = self.config
        self.counts_ = noisy_item_counts(data.histories, data.n_items, c.epsilon, c.max_items,
                                         c.seed).astype(np.float32)
        return self

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()

    def _state(self) -> State:
        return {"noisy_counts": self.counts_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.counts_ = state["noisy_counts"]


@dataclass(frozen=True)
class DPCooccurrenceConfig(ModelConfig):
    """See `DPCooccurrence`."""

    epsilon: float | None = 1.0
    max_pairs: int = 10
    window: int = 3
    top_per_item: int = 100
    domain_size: int | None = None
    domain_share: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.domain_size is not None and not 0 < self.domain_share < 1:
            raise ValueError(f"domain_share must be between 0 and 1, got {self.domain_share}")


class DPCooccurrence(Model):
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
    Config = DPCooccurrenceConfig
    config: DPCooccurrenceConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        c = self.config
        epsilon, domain = c.epsilon, None
        if c.domain_size is not None:
            share = None if epsilon is None else epsilon * c.domain_share
            counts = noisy_item_counts(data.histories, data.n_items, share, 10, c.seed + 1)
            domain = np.sort(np.argsort(-counts, kind="stable")[: c.domain_size])
            epsilon = None if epsilon is None else epsilon - share  # type: ignore[operator]
        self.domain_ = domain
        self.counts_ = noisy_cooccurrence(data.histories, data.n_items, epsilon, c.max_pairs,
                                          c.window, c.top_per_item, c.seed, domain=domain)
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

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms:
        """score(i) = sum over distinct history items h of count(h -> i): the terms are the
        counts (an item outside the domain scores -inf whatever the history holds)."""
        items = distinct_items(history)
        terms = np.asarray(self.counts_[items][:, targets].todense(), dtype=np.float64).T
        return ExactTerms(items, terms, np.zeros(len(targets)))

    def _state(self) -> State:
        state: State = {"noisy_cooccurrence": self.counts_}
        if self.domain_ is not None:
            state["domain"] = self.domain_
        return state

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.counts_ = state["noisy_cooccurrence"]
        self.domain_ = state.get("domain")
