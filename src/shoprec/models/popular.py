"""Most-popular items: the baseline every model must beat and the cold-shopper fallback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np

from shoprec.models.base import History, TrainData


class Popular:
    """Scores each item by how many shoppers interacted with it (`recent_days` limits the window
    to the last days of the training data, for a "trending" variant)."""

    name = "popular"

    def __init__(self, recent_days: float | None = None) -> None:
        self.recent_days = recent_days

    def fit(self, data: TrainData) -> Self:
        counts = np.zeros(data.n_items, dtype=np.float64)
        if self.recent_days is not None:
            last = max((h.timestamps.max() for h in data.histories
                        if h.timestamps is not None and len(h)), default=0)
            since = last - self.recent_days * 86400
            for h in data.histories:
                np.add.at(counts, h.items[h.timestamps >= since], 1.0)
        else:
            counts += np.asarray(data.matrix.sum(axis=0)).ravel()
        self.counts_ = counts.astype(np.float32)
        return self

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion: counts taken again over the shoppers who remain."""
        return self.fit(remaining)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return np.broadcast_to(self.counts_, (len(histories), len(self.counts_))).copy()

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "counts.npy", self.counts_)
        (path / "params.json").write_text(json.dumps({"recent_days": self.recent_days}))

    @classmethod
    def load(cls, path: Path) -> Self:
        model = cls(**json.loads((path / "params.json").read_text()))
        model.counts_ = np.load(path / "counts.npy")
        return model
