"""A real Beauty sub-catalogue small enough to encode in a test: the first 300 catalogue items
(OPI nail lacquers, BB creams, brushes, ...) and every shopper with 3 or more interactions among
them, with their language-model vectors from the session's private embedding cache."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset, build_dataset


@pytest.fixture(scope="session")
def beauty_300(beauty: Dataset, beauty_items_300: pl.DataFrame) -> Dataset:
    inter = beauty.interactions.filter(pl.col("item_id").is_in(beauty_items_300["item_id"].implode()))
    keep = inter.group_by("user_id").len().filter(pl.col("len") >= 3).select("user_id")
    inter = inter.join(keep, on="user_id", how="semi").drop("user", "item")
    return build_dataset(beauty_items_300, inter, name="beauty-300")


@pytest.fixture(scope="session")
def beauty_300_vectors(beauty_items_300: pl.DataFrame, text_encoder, embedding_cache_dir
                       ) -> np.ndarray:
    from shoprec.text import item_vectors

    return item_vectors(beauty_items_300, text_encoder, embedding_cache_dir)
