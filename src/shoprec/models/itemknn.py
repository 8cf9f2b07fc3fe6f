"""Item-based collaborative filtering: item-item cosine with shrinkage, top-N neighbours per item.

    sim(i, j) = <r_i, r_j> / (|r_i| |r_j| + shrink)

over the items' columns of the training value matrix; shrinkage pulls similarities that rest on
few common shoppers towards zero. A shopper's scores are their history row times the similarity
matrix, so any history (also one never seen in training) is scored by one sparse product.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp

from shoprec.models.base import History, TrainData
from shoprec.models.sparse_ops import history_matrix, top_n_per_row


class ItemKNN:
    name = "itemknn"

    def __init__(self, neighbours: int = 300, shrink: float = 50.0) -> None:
        self.neighbours = neighbours
        self.shrink = shrink

    def fit(self, data: TrainData) -> Self:
        if self.neighbours < 1 or self.shrink < 0:
            raise ValueError(f"itemknn needs neighbours >= 1 and shrink >= 0, got "
                             f"neighbours={self.neighbours}, shrink={self.shrink}")
        by_item = sp.csr_matrix(data.value_matrix.T, dtype=np.float32)
        sims = sp.coo_matrix(by_item @ by_item.T)
        norms = np.sqrt(np.maximum(sims.diagonal(), 0)).astype(np.float32)
        sims.data /= norms[sims.row] * norms[sims.col] + self.shrink + 1e-12
        sims.data[sims.row == sims.col] = 0.0  # an item is not its own neighbour
        self.similarity_ = top_n_per_row(sims.tocsr(), self.neighbours)
        return self

    def forget_users(self, remaining: TrainData, removed: Sequence[int]) -> Self:
        """Deletion: similarities rebuilt from the shoppers who remain (a refit costs seconds)."""
        return self.fit(remaining)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        rows = history_matrix(histories, self.similarity_.shape[0])
        return (rows @ self.similarity_).toarray().astype(np.float32)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        sp.save_npz(path / "similarity.npz", self.similarity_)
        (path / "params.json").write_text(json.dumps(
            {"neighbours": self.neighbours, "shrink": self.shrink}))

    @classmethod
    def load(cls, path: Path) -> Self:
        model = cls(**json.loads((path / "params.json").read_text()))
        model.similarity_ = sp.csr_matrix(sp.load_npz(path / "similarity.npz"), dtype=np.float32)
        return model
