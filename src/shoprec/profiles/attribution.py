"""How much each item of a shopper's history contributes to a recommended item's score.

Two ways, one result type:

- *exact terms* for models whose score is a sum over history items (item-kNN: score(i) =
  sum over history items h of sim(h, i); content: cosine with a weighted mean of item vectors,
  i.e. a weighted sum of per-item cosines). Such a model has the optional method
  `attribution_terms(history, targets) -> ExactTerms | None` (`ExactAttribution` in `shoprec.models.base`): the
  math lives beside the score it decomposes, and intercept plus terms is the model's score.
- *leave-one-out* for any other model (the transformer, matrix factorisation): the drop in the
  target's score when every occurrence of one history item is removed. One batched `score` call
  covers all history items and all targets. Raw attention weights are not used: they say where
  the network looked, not what changed its answer.

"Removing the top cited item lowers the score more than removing a random one" is checked on
real data in tests/profiles/test_faithfulness.py and measured in benchmarks/explain.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.data.types import History
from shoprec.models.base import ExactAttribution, Recommender, distinct_items

__all__ = ["Attribution", "attribute", "distinct_items", "leave_one_out", "without_items"]


@dataclass(frozen=True)
class Attribution:
    """`terms[t, j]`: contribution of history item `items[j]` to the score of `targets[t]`."""

    targets: np.ndarray
    items: np.ndarray  # distinct history items, in order of their last occurrence
    terms: np.ndarray
    scores: np.ndarray  # the model's score of each target for the full history
    method: str  # "exact" or "leave-one-out"

    def top(self, target_row: int) -> tuple[int, float] | None:
        """(history item, term) of the largest positive term for targets[target_row], or None."""
        if not len(self.items):
            return None
        j = int(np.argmax(self.terms[target_row]))
        value = float(self.terms[target_row, j])
        return (int(self.items[j]), value) if value > 0 else None


def without_items(history: History, items: Sequence[int] | np.ndarray) -> History:
    """`history` with every occurrence of `items` removed (values and times kept aligned)."""
    keep = ~np.isin(history.items, np.asarray(items, dtype=np.int64))
    return History(
        np.asarray(history.items)[keep],
        None if history.values is None else np.asarray(history.values)[keep],
        None if history.timestamps is None else np.asarray(history.timestamps)[keep],
    )


def leave_one_out(model: Recommender, history: History, targets: Sequence[int]) -> Attribution:
    """terms[t, j] = score(target t | history) - score(target t | history without item j)."""
    t = np.asarray(targets, dtype=np.int64)
    items = distinct_items(history)
    variants = [history] + [without_items(history, [i]) for i in items]
    scores = np.asarray(model.score(variants), dtype=np.float64)[:, t]
    return Attribution(t, items, (scores[0][None, :] - scores[1:]).T, scores[0], "leave-one-out")


def attribute(model: Recommender, history: History, targets: Sequence[int]) -> Attribution:
    """The model's exact terms when it has them for this history, leave-one-out otherwise."""
    t = np.asarray(targets, dtype=np.int64)
    exact = isinstance(model, ExactAttribution) and len(history) > 0
    found = model.attribution_terms(history, t) if exact else None
    if found is None:
        return leave_one_out(model, history, t)
    return Attribution(t, found.items, found.terms, found.intercept + found.terms.sum(axis=1),
                       "exact")
