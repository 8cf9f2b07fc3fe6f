"""Real data slices that tests share."""

from __future__ import annotations

import polars as pl

from shoprec.data.dataset import Dataset, build_dataset


def most_reviewed(ds: Dataset, n_items: int, min_history: int = 3) -> Dataset:
    """`ds`'s shoppers restricted to its `n_items` most reviewed items (ties: lower id first),
    keeping shoppers with `min_history` or more of them: a dense real slice on which the
    collaborative models have signal to learn."""
    counts = ds.interactions.group_by("item_id").len()
    top = counts.sort(["len", "item_id"], descending=[True, False]).head(n_items)
    inter = ds.interactions.join(top.select("item_id"), on="item_id", how="semi")
    inter = inter.filter(pl.len().over("user_id") >= min_history).drop("user", "item")
    items = ds.items.join(inter.select("item_id").unique(), on="item_id", how="semi")
    return build_dataset(items, inter, name=f"{ds.name}-top{n_items}")
