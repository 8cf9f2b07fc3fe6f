"""Full-ranking metrics: every catalogue item is a candidate, no sampled negatives.

Items already in the input history are removed from the ranking. Ties are broken against the
target (its rank counts every other item scoring at least as high), so a constant or degenerate
scorer gets the worst rank rather than a lucky one. The ranking loop and the metric formulas
live in `shoprec.models.ranking` (re-exported here), because a model that early-stops on validation
NDCG needs the same figure and models may not import evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from shoprec.data.types import EvalSet, History
from shoprec.models.base import Recommender
from shoprec.models.ranking import (
    KS,
    held_out_ranks,
    mask_seen,
    ranking_metrics,
    target_ranks,
    top_k,
)

__all__ = ["KS", "evaluate", "held_out_ranks", "mask_seen", "ranking_metrics", "target_ranks"]


def evaluate(
    model: Recommender,
    evalset: EvalSet,
    n_items: int,
    ks: Sequence[int] = KS,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Score `evalset` in batches; metrics, catalogue coverage (share of items in anyone's top-k)
    and timing."""
    start = time.perf_counter()
    kmax = min(max(ks), n_items)
    recommended = {k: np.zeros(n_items, dtype=bool) for k in ks}

    def checked_score(hist: Sequence[History]) -> np.ndarray:
        scores = np.asarray(model.score(hist), dtype=np.float32)
        if scores.shape != (len(hist), n_items):
            raise ValueError(f"{type(model).__name__}.score returned {scores.shape}, "
                             f"expected {(len(hist), n_items)}")
        return scores

    def note_coverage(scores: np.ndarray) -> None:
        top, _ = top_k(scores, kmax)
        for k, seen in recommended.items():
            seen[top[:, :k][top[:, :k] >= 0]] = True

    ranks = held_out_ranks(checked_score, evalset.histories, evalset.targets, batch_size,
                           note_coverage)
    metrics = ranking_metrics(ranks, ks)
    for k, seen in recommended.items():
        metrics[f"coverage@{k}"] = float(seen.mean())
    metrics["eval_seconds"] = time.perf_counter() - start
    return metrics
