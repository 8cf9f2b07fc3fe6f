"""The typed in-memory form of a shop's data: a catalogue of items and their interactions.

Every model works on integer indices; shop ids are strings and are mapped once, here.
Interactions are kept sorted by (user, time) with ties in file order, so a user's rows
are their history in the order it happened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
import scipy.sparse as sp

from shoprec.data.events import DEFAULT_WEIGHTS, EventWeights

#: Columns every interactions frame has, with their types.
INTERACTION_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "item_id": pl.String(),
    "timestamp": pl.Int64(),
    "event": pl.String(),
    "value": pl.Float32(),
}



class IdMap:
    """A two-way map between string ids and dense integer indices (index order = insertion)."""

    def __init__(self, ids: list[str] | np.ndarray | pl.Series) -> None:
        self.ids: list[str] = [str(i) for i in ids]
        self._index = {x: n for n, x in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            raise ValueError("IdMap: ids are not unique")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def index(self, key: str) -> int:
        """Index of `key`; KeyError naming the id when it is unknown."""
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"unknown id {key!r}") from None

    def get(self, key: str, default: int | None = None) -> int | None:
        return self._index.get(key, default)

    def indices(self, keys: list[str] | pl.Series) -> np.ndarray:
        return np.fromiter((self._index[k] for k in keys), dtype=np.int64, count=len(keys))


@dataclass(frozen=True)
class Dataset:
    """A catalogue (`items`, one row per item, `item_id` first) and time-ordered `interactions`.

    `interactions` has the columns of `INTERACTION_SCHEMA` plus `user` and `item`, the integer
    indices of `user_id` and `item_id`. Row `i` of `items` is item index `i`.
    """

    items: pl.DataFrame
    interactions: pl.DataFrame
    name: str = "dataset"
    event_weights: EventWeights = DEFAULT_WEIGHTS  # how strongly each event type counts

    @cached_property
    def item_map(self) -> IdMap:
        return IdMap(self.items["item_id"])

    @cached_property
    def user_map(self) -> IdMap:
        return IdMap(self.interactions["user_id"].unique(maintain_order=True))

    @property
    def n_items(self) -> int:
        return self.items.height

    @property
    def n_users(self) -> int:
        return len(self.user_map)

    @property
    def has_timestamps(self) -> bool:
        return self.interactions["timestamp"].null_count() == 0

    def histories(self) -> list[np.ndarray]:
        """Per user (user index order), the item indices of their interactions in time order."""
        return _split_by_user(self.interactions, "item", self.n_users)

    def text_columns(self) -> list[str]:
        return [c for c, t in self.items.schema.items() if c != "item_id" and t == pl.String]


def build_dataset(items: pl.DataFrame, interactions: pl.DataFrame, name: str,
                  event_weights: EventWeights = DEFAULT_WEIGHTS) -> Dataset:
    """Index users and items and sort interactions by (user, time), keeping file order on ties.

    Users are indexed in order of first appearance; items in catalogue order, with any item that
    appears only in interactions appended (so items without text are kept, with null text).
    """
    missing = (
        interactions.select("item_id").unique().join(items.select("item_id"), on="item_id", how="anti")
    )
    if missing.height:
        missing = interactions.select("item_id").unique(maintain_order=True).join(
            missing, on="item_id", how="semi")
        items = pl.concat([items, missing], how="diagonal_relaxed")
    item_index = pl.DataFrame(
        {"item_id": items["item_id"], "item": np.arange(items.height, dtype=np.int32)}
    )
    users = interactions.select("user_id").unique(maintain_order=True)
    user_index = users.with_columns(user=pl.int_range(users.height, dtype=pl.Int32))
    frame = (
        interactions.with_row_index("_row")
        .join(user_index, on="user_id", how="left")
        .join(item_index, on="item_id", how="left")
        .sort(["user", "timestamp", "_row"], nulls_last=False, maintain_order=True)
        .drop("_row")
    )
    return Dataset(items=items, interactions=frame, name=name, event_weights=event_weights)


def _split_by_user(frame: pl.DataFrame, column: str, n_users: int) -> list[np.ndarray]:
    users = frame["user"].to_numpy()
    values = frame[column].to_numpy()
    bounds = np.searchsorted(users, np.arange(n_users + 1))
    return [values[bounds[u] : bounds[u + 1]] for u in range(n_users)]


def interaction_matrix(
    histories: list[np.ndarray], n_items: int, values: list[np.ndarray] | None = None
) -> sp.csr_matrix:
    """Users x items CSR matrix: values summed over repeated (user, item) pairs, or 1 without values."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate(histories) if histories else np.zeros(0, dtype=np.int64)
    data = (
        np.concatenate(values).astype(np.float32)
        if values is not None
        else np.ones(len(cols), dtype=np.float32)
    )
    m = sp.coo_matrix((data, (rows, cols)), shape=(len(histories), n_items)).tocsr()
    m.sum_duplicates()
    if values is None:
        m.data[:] = 1.0
    return m


def fingerprint(ds: Dataset) -> str:
    """Content hash of catalogue ids and interactions: equal data, equal fingerprint."""
    h = hashlib.sha256()
    h.update(ds.items["item_id"].hash(seed=0).to_numpy().tobytes())
    h.update(ds.interactions.select("user_id", "item_id", "timestamp").hash_rows(seed=0)
             .to_numpy().tobytes())
    return h.hexdigest()[:16]
