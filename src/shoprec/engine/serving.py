"""The model currently serving, with what requests need beside it; swapped whole on retrain.

A request reads `ServingState.serving` once and uses that object to the end, so a swap never
mixes two bundles in one answer. Catalogue facts that `POST /items` can change (category,
consumable) live in the context's catalogue, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from shoprec.bundle import Bundle, load_bundle
from shoprec.data.splits import full_train
from shoprec.data.types import History, TrainData
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.insight import Insight
from shoprec.engine.searching import Searcher
from shoprec.models.base import adds_items
from shoprec.privacy.forget import forget_shopper
from shoprec.store import ItemRecord


@dataclass
class Serving:
    """A loaded bundle plus popularity (cold-start fallback) and item co-occurrence (reasons,
    similar items), both computed from the bundle's own interactions."""

    bundle: Bundle
    item_ids: list[str]
    item_index: dict[str, int]
    popularity: np.ndarray
    cooccurrence: sp.csr_matrix
    searcher: Searcher
    insight: Insight = field(init=False)

    def __post_init__(self) -> None:
        self.insight = Insight(self.bundle, self.searcher)

    @property
    def version(self) -> str:
        m = self.bundle.manifest
        return f"{m.get('model')}@{m.get('created')}#{m.get('fingerprint')}/g{self.generation}"

    @property
    def generation(self) -> int:
        """Which generation of its bundle this is (0: the bundle `shoprec train` wrote)."""
        return int(self.bundle.manifest.get("generation", 0))

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def load(cls, path: Path) -> Serving:
        return cls.from_bundle(load_bundle(path))

    @classmethod
    def from_bundle(cls, bundle: Bundle, searcher: Searcher | None = None,
                    train: TrainData | None = None) -> Serving:
        ds = bundle.dataset
        matrix = (train or full_train(ds)).matrix.astype(np.float32)
        popularity = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        if ds.n_items:  # per-call caches (SASRec's item table) are built now, not by a request
            bundle.model.score([History(np.array([int(popularity.argmax())]), np.ones(1, np.float32),
                                        np.zeros(1, np.int64))])
        return cls(bundle=bundle, item_ids=list(ds.item_map.ids), item_index={
            i: n for n, i in enumerate(ds.item_map.ids)}, popularity=popularity,
            cooccurrence=cosine_cooccurrence(matrix), searcher=searcher or Searcher(bundle))

    def without_shopper(self, user_id: str) -> Serving | None:
        """A serving copy whose bundle (files included), popularity and co-occurrence no longer
        hold `user_id`; None when the bundle never did. Search keeps its item index (items are
        unchanged), and the items added from text since the load stay (the model holds them)."""
        forgotten = forget_shopper(self.bundle, user_id)
        if forgotten is None:
            return None
        bundle, train = forgotten
        self.searcher.bundle = bundle
        serving = Serving.from_bundle(bundle, searcher=self.searcher, train=train)
        added = self.item_ids[serving.n_items:]
        if added and adds_items(bundle.model):
            serving._grow(added)
        return serving

    def add_catalogue_items(self, records: Sequence[ItemRecord]) -> list[str]:
        """Make new items rankable, searchable and given similar items now, when the model can
        place unseen items from their text (`AddsItems`: content models, the text-aware
        transformer, a blend holding one); returns the ids added ([] otherwise)."""
        model = self.bundle.model
        new = [r for r in {r.item_id: r for r in records}.values()
               if r.item_id not in self.item_index]
        if not new or not adds_items(model):
            return []
        frame = catalogue_frame(new, self.bundle.dataset.items.schema)
        added = model.add_items_from_text(frame)
        if len(added) != len(new) or int(added[0]) != len(self.item_ids):
            raise RuntimeError(f"{model.name}: added items got indices {list(added)[:3]}..., "
                               f"expected to start at {len(self.item_ids)}")
        self.searcher.add_items(frame, int(added[0]))
        self._grow([r.item_id for r in new])
        return [r.item_id for r in new]

    def _grow(self, new_ids: list[str]) -> None:
        """Take `new_ids` as the items after the current ones. Each attribute is replaced by a
        new object, in an order (ids, index, co-occurrence, popularity) that lets a concurrent
        request size its work by `popularity` safely."""
        ids = self.item_ids + new_ids
        self.item_ids = ids
        self.item_index = {i: n for n, i in enumerate(ids)}
        co = self.cooccurrence.copy()
        co.resize((len(ids), len(ids)))
        self.cooccurrence = co
        self.popularity = np.concatenate([self.popularity, np.zeros(len(new_ids), np.float32)])


def adopt_new_items(serving: Serving, catalogue: Catalogue) -> list[str]:
    """Give the serving model the catalogue's items it was not trained on, when it can place
    them from their text (at load, and after a swap); returns the ids it took."""
    missing = [catalogue.get(i) for i in catalogue.ids() if i not in serving.item_index]
    return serving.add_catalogue_items([r for r in missing if r is not None])


def catalogue_frame(records: Sequence[ItemRecord], schema: pl.Schema) -> pl.DataFrame:
    """Items as rows with the bundle catalogue's columns (text models read these)."""
    columns: dict[str, list] = {}
    for name in schema.names():
        columns[name] = [getattr(r, name, None) if name in ItemRecord.__dataclass_fields__
                         and name != "attributes" else r.attributes.get(name) for r in records]
    return pl.DataFrame(columns, schema=schema, strict=False)


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
