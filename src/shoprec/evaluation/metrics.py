"""Full-ranking metrics: every catalogue item is a candidate, no sampled negatives.

Items already in the input history are removed from the ranking. Ties are broken against the
target (its rank counts every other item scoring at least as high), so a constant or degenerate
scorer gets the worst rank rather than a lucky one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from shoprec.data.splits import EvalSet
from shoprec.models.base import Recommender
from shoprec.models.ranking import top_k

KS: tuple[int, ...] = (5, 10, 20)


def mask_seen(scores: np.ndarray, histories: Sequence) -> np.ndarray:
    """Set the scores of items in each history to -inf, in place; returns `scores`."""
    rows = np.repeat(np.arange(len(histories)), [len(h.items) for h in histories])
    cols = np.concatenate([h.items for h in histories]) if len(rows) else rows
    scores[rows, cols] = -np.inf
    return scores


def target_ranks(scores: np.ndarray, targets: Sequence[np.ndarray]) -> list[np.ndarray]:
    """0-based pessimistic rank of each target among all items (targets don't outrank each other)."""
    if all(len(t) == 1 for t in targets):  # leave-one-out: one vectorised pass
        t = scores[np.arange(len(targets)), np.concatenate(targets)]
        t = np.where(np.isnan(t), -np.inf, t)
        return list(((scores >= t[:, None]).sum(axis=1) - 1)[:, None])
    ranks = []
    for row, tgt in zip(scores, targets):
        t = row[tgt]
        t = np.where(np.isnan(t), -np.inf, t)
        # items strictly better + ties (minus the target itself), other targets excluded
        better = (row[None, :] >= t[:, None]).sum(axis=1) - 1
        other_targets = (t[None, :] >= t[:, None]).sum(axis=1) - 1
        ranks.append(better - other_targets)
    return ranks


def ranking_metrics(ranks: list[np.ndarray], ks: Sequence[int] = KS) -> dict[str, float]:
    """Recall, NDCG, MRR, precision and F1 at each k, averaged over shoppers."""
    if all(len(r) == 1 for r in ranks):
        return _single_target_metrics(np.concatenate(ranks), ks)
    out: dict[str, float] = {}
    n_tgt = np.array([len(r) for r in ranks], dtype=np.float64)
    for k in ks:
        hits = np.array([(r < k).sum() for r in ranks], dtype=np.float64)
        dcg = np.array([(1.0 / np.log2(r[r < k] + 2.0)).sum() for r in ranks])
        idcg = np.array([(1.0 / np.log2(np.arange(min(len(r), k)) + 2.0)).sum() for r in ranks])
        rr = np.array([1.0 / (r.min() + 1) if r.min() < k else 0.0 for r in ranks])
        recall = hits / n_tgt
        precision = hits / k
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(recall),
                       where=(precision + recall) > 0)
        out[f"recall@{k}"] = float(recall.mean())
        out[f"ndcg@{k}"] = float((dcg / idcg).mean())
        out[f"mrr@{k}"] = float(rr.mean())
        out[f"precision@{k}"] = float(precision.mean())
        out[f"f1@{k}"] = float(f1.mean())
    return out


def _single_target_metrics(rank: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    """The same metrics, vectorised for one target per shopper (leave-one-out)."""
    out: dict[str, float] = {}
    for k in ks:
        hit = rank < k
        recall = hit.astype(np.float64)
        precision = recall / k
        out[f"recall@{k}"] = float(recall.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean())
        out[f"mrr@{k}"] = float(np.where(hit, 1.0 / (rank + 1.0), 0.0).mean())
        out[f"precision@{k}"] = float(precision.mean())
        out[f"f1@{k}"] = float(np.where(hit, 2 * precision / (precision + 1), 0.0).mean())
    return out


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
    ranks: list[np.ndarray] = []
    kmax = min(max(ks), n_items)
    recommended = {k: np.zeros(n_items, dtype=bool) for k in ks}
    for lo in range(0, len(evalset), batch_size):
        hist = evalset.histories[lo : lo + batch_size]
        scores = np.asarray(model.score(hist), dtype=np.float32)
        if scores.shape != (len(hist), n_items):
            raise ValueError(f"{type(model).__name__}.score returned {scores.shape}, "
                             f"expected {(len(hist), n_items)}")
        scores = np.where(np.isnan(scores), -np.inf, scores)
        mask_seen(scores, hist)
        ranks.extend(target_ranks(scores, evalset.targets[lo : lo + batch_size]))
        top, _ = top_k(scores, kmax)
        for k, seen in recommended.items():
            seen[top[:, :k][top[:, :k] >= 0]] = True
    metrics = ranking_metrics(ranks, ks)
    for k, seen in recommended.items():
        metrics[f"coverage@{k}"] = float(seen.mean())
    metrics["eval_seconds"] = time.perf_counter() - start
    return metrics
