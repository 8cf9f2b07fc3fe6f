"""The replay's data: a shop's history with each shopper's last interaction held back.

Bundles for a replayed experiment are trained on the history only, so the held-back events are
genuinely unseen by every variant (the replay would otherwise reward memorisation). The same
held-back events give the offline figure (NDCG@10 of each bundle on them) that the online lift
is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.types import History
from shoprec.evaluation.metrics import held_out_ranks, ranking_metrics


@dataclass(frozen=True)
class HeldBack:
    """One shopper's real next item: what the replay waits for them to click."""

    user_id: str
    item_id: str
    timestamp: int


def hold_out_last(ds: Dataset, min_history: int = 2) -> tuple[Dataset, list[HeldBack]]:
    """`ds` without each shopper's last interaction (shoppers with at least `min_history`
    interactions; the others stay whole), and the held-back interactions."""
    frame = ds.interactions.with_row_index("_row")
    counts = frame.group_by("user").len()
    eligible = counts.filter(pl.col("len") >= min_history).select("user")
    last = (frame.join(eligible, on="user", how="semi")
            .filter(pl.col("_row") == pl.col("_row").max().over("user")))
    kept = frame.join(last.select("_row"), on="_row", how="anti").drop("_row", "user", "item")
    history = build_dataset(ds.items, kept, name=f"{ds.name}-minus-last",
                            event_weights=ds.event_weights)
    held = [HeldBack(str(u), str(i), int(t) if t is not None else 0)
            for u, i, t in last.select("user_id", "item_id", "timestamp").iter_rows()]
    return history, held


def offline_ndcg(model: object, history: Dataset, held: list[HeldBack], k: int = 10,
                 batch_size: int = 512) -> dict[str, float]:
    """NDCG@k, HR@k (full ranking, history items removed) of a fitted model on `held`: the
    offline figure an online lift is checked against."""
    weights = history.event_weights
    frame = history.interactions
    by_user = {u: g for (u,), g in frame.group_by("user_id")}
    hists, targets = [], []
    for h in held:
        g = by_user.get(h.user_id)
        items = g["item"].to_numpy().astype(np.int64) if g is not None else np.zeros(0, np.int64)
        values = (np.array([weights.strength(e, v) for e, v in
                            zip(g["event"], g["value"])], np.float32)
                  if g is not None else np.zeros(0, np.float32))
        times = (g["timestamp"].fill_null(0).to_numpy().astype(np.int64)
                 if g is not None else np.zeros(0, np.int64))
        hists.append(History(items, values, times))
        targets.append(np.array([history.item_map.get(h.item_id)], np.int64))
    ranks = held_out_ranks(model.score, hists, targets, batch_size)  # type: ignore[attr-defined]
    metrics = ranking_metrics(ranks, (k,))
    return {f"ndcg@{k}": float(metrics[f"ndcg@{k}"]), f"hr@{k}": float(metrics[f"recall@{k}"]),
            "shoppers": len(held)}
