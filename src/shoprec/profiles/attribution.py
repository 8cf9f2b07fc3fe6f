"""How much each item of a shopper's history contributes to a recommended item's score.

Two ways, one result type:

- *exact terms* for models whose score is a sum over history items (item-kNN: score(i) =
  sum over history items h of sim(h, i); content: cosine with a weighted mean of item vectors,
  i.e. a weighted sum of per-item cosines). Each model name in `EXACT` maps to a function that
  reads the fitted model and returns those terms; their sum is the model's score.
- *leave-one-out* for any other model (the transformer, matrix factorisation): the drop in the
  target's score when every occurrence of one history item is removed. One batched `score` call
  covers all history items and all targets. Raw attention weights are not used: they say where
  the network looked, not what changed its answer.

"Removing the top cited item lowers the score more than removing a random one" is checked on
real data in tests/profiles/test_faithfulness.py and measured in benchmarks/explain.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.models.base import History, Recommender


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


def distinct_items(history: History) -> np.ndarray:
    """History items without repeats, ordered by their last occurrence."""
    items = np.asarray(history.items, dtype=np.int64)
    last = {int(i): n for n, i in enumerate(items)}
    return np.asarray(sorted(last, key=last.__getitem__), dtype=np.int64)


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


#: model name -> function(model, history, targets) -> (history items, terms (targets x items),
#: intercept (targets,)) with score(target) = intercept + sum of its terms, exactly.
ExactTerms = Callable[[Recommender, History, np.ndarray],
                      tuple[np.ndarray, np.ndarray, np.ndarray]]
EXACT: dict[str, ExactTerms] = {}


def exact_terms(name: str) -> Callable[[ExactTerms], ExactTerms]:
    """Register an exact decomposition for the model called `name`."""

    def register(fn: ExactTerms) -> ExactTerms:
        EXACT[name] = fn
        return fn

    return register


def attribute(model: Recommender, history: History, targets: Sequence[int]) -> Attribution:
    """Exact terms when the model has them, leave-one-out otherwise."""
    t = np.asarray(targets, dtype=np.int64)
    fn = EXACT.get(getattr(model, "name", ""))
    if fn is None or not len(history):
        return leave_one_out(model, history, t)
    items, terms, intercept = fn(model, history, t)
    return Attribution(t, items, terms, intercept + terms.sum(axis=1), "exact")


@exact_terms("popular")
def _popular_terms(model: Recommender, history: History,
                   targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A popularity score does not depend on the history: every term is 0."""
    items = distinct_items(history)
    intercept = np.asarray(model.counts_, dtype=np.float64)[targets]  # type: ignore[attr-defined]
    return items, np.zeros((len(targets), len(items))), intercept


@exact_terms("dp-cooccurrence")
def _cooccurrence_terms(model: Recommender, history: History,
                        targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score(i) = sum over distinct history items h of count(h -> i): the terms are the counts."""
    items = distinct_items(history)
    counts = model.counts_  # type: ignore[attr-defined]
    terms = np.asarray(counts[items][:, targets].todense(), dtype=np.float64).T
    return items, terms, np.zeros(len(targets))


def _last_values(history: History, items: np.ndarray) -> np.ndarray:
    """Each distinct item's last value in the history (1 when the history has no values)."""
    if history.values is None:
        return np.ones(len(items))
    last = {int(i): float(v) for i, v in zip(history.items, history.values)}
    return np.asarray([last[int(i)] for i in items])


@exact_terms("itemknn")
def _itemknn_terms(model: Recommender, history: History,
                   targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score(i) = sum over history items h of value(h) * sim(h, i)."""
    items = distinct_items(history)
    sim = model.similarity_  # type: ignore[attr-defined]
    terms = np.asarray(sim[items][:, targets].todense(), dtype=np.float64).T
    return items, terms * _last_values(history, items)[None, :], np.zeros(len(targets))


@exact_terms("content")
def _content_terms(model: Recommender, history: History,
                   targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score(i) = <sum_k w_k v(h_k), v(i)> / |sum_k w_k v(h_k)|: one term per distinct item h,
    its summed recency weight times cos(h, i), over the shared norm."""
    vectors = model.vectors_  # type: ignore[attr-defined]
    hist = np.asarray(history.items, dtype=np.int64)
    decay = 0.5 ** (1.0 / max(model.half_life, 1e-6))  # type: ignore[attr-defined]
    w = decay ** np.arange(len(hist) - 1, -1, -1, dtype=np.float64)
    if history.values is not None:
        w = w * np.clip(np.asarray(history.values, dtype=np.float64), 0.0, None)
    items = distinct_items(history)
    per_item = np.asarray([w[hist == i].sum() for i in items])
    norm = np.linalg.norm(per_item @ vectors[items].astype(np.float64))
    cos = vectors[targets].astype(np.float64) @ vectors[items].astype(np.float64).T
    terms = cos * per_item[None, :] / norm if norm > 0 else np.zeros_like(cos)
    return items, terms, np.zeros(len(targets))
