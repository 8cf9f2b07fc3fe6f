"""The model currently serving, with what requests need beside it; swapped whole on retrain.

A request reads `ServiceContext.serving` once and uses that object to the end, so a swap never
mixes two bundles in one answer. Catalogue facts that `POST /items` can change (category,
consumable) live in the context's catalogue, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shoprec.bundle import Bundle, load_bundle
from shoprec.data.splits import full_train


@dataclass
class Serving:
    """A loaded bundle plus popularity (cold-start fallback) and item co-occurrence (reasons,
    similar items), both computed from the bundle's own interactions."""

    bundle: Bundle
    item_ids: list[str]
    item_index: dict[str, int]
    popularity: np.ndarray
    cooccurrence: sp.csr_matrix

    @property
    def version(self) -> str:
        m = self.bundle.manifest
        return f"{m.get('model')}@{m.get('created')}#{m.get('fingerprint')}"

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def load(cls, path: Path) -> Serving:
        return cls.from_bundle(load_bundle(path))

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> Serving:
        ds = bundle.dataset
        matrix = full_train(ds).matrix.astype(np.float32)
        popularity = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        return cls(bundle=bundle, item_ids=list(ds.item_map.ids), item_index=dict(
            (i, n) for n, i in enumerate(ds.item_map.ids)), popularity=popularity,
            cooccurrence=cosine_cooccurrence(matrix))


def cosine_cooccurrence(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Item x item cosine of the binary users x items matrix, diagonal removed ("shoppers who
    bought this also bought")."""
    co = (matrix.T @ matrix).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    norms = np.sqrt(np.asarray(matrix.sum(axis=0)).ravel()).astype(np.float32)
    norms[norms == 0] = 1.0
    inv = sp.diags(1.0 / norms)
    return (inv @ co @ inv).tocsr().astype(np.float32)
