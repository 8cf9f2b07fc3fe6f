"""Recommendations for a shop id from a bundle: the one path the CLI and demo share."""

from __future__ import annotations

import numpy as np
import polars as pl

from shoprec.bundle import Bundle
from shoprec.models.base import History
from shoprec.models.ranking import top_k


def user_history(bundle: Bundle, user_id: str) -> History:
    """The shopper's history in the bundle; KeyError naming the id when unknown."""
    u = bundle.dataset.user_map.index(user_id)
    rows = bundle.dataset.interactions.filter(pl.col("user") == u)
    return History(rows["item"].to_numpy().astype(np.int64),
                   rows["value"].fill_null(1.0).to_numpy(), rows["timestamp"].fill_null(0).to_numpy())


def recommend_for_user(bundle: Bundle, user_id: str, k: int = 10) -> list[dict]:
    history = user_history(bundle, user_id)
    scores = bundle.model.score([history])
    idx, val = top_k(scores, k, [history])
    return describe(bundle, idx[0], val[0])


def describe(bundle: Bundle, idx: np.ndarray, val: np.ndarray) -> list[dict]:
    items = bundle.dataset.items
    title = items["title"] if "title" in items.columns else items["item_id"]
    return [{"item_id": items["item_id"][int(i)], "title": title[int(i)] or "",
             "score": float(s)} for i, s in zip(idx, val) if i >= 0]
