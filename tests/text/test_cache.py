from pathlib import Path

import numpy as np
import polars as pl

from shoprec.text import EmbeddingCache, build_item_text, item_vectors


class CountingEncoder:
    """Wraps the real encoder and records how many texts it was asked to encode."""

    def __init__(self, inner) -> None:
        self.inner, self.identity, self.dim, self.calls = inner, inner.identity, inner.dim, []

    def encode(self, texts, batch_size=64, show_progress=False):
        self.calls.append(len(texts))
        return self.inner.encode(texts, batch_size=batch_size)


def test_unchanged_catalogue_encodes_nothing_and_one_change_encodes_one(
        text_encoder, beauty_items_300: pl.DataFrame, tmp_path: Path) -> None:
    items = beauty_items_300.head(120)
    counting = CountingEncoder(text_encoder)
    first = item_vectors(items, counting, tmp_path)
    assert counting.calls == [len(set(build_item_text(items)))]
    again = item_vectors(items, counting, tmp_path)
    assert counting.calls[1:] == []  # a hit: nothing encoded
    np.testing.assert_array_equal(first, again)
    changed = items.with_columns(
        pl.when(pl.col("item_id") == items["item_id"][5]).then(pl.lit("Coral red lip gloss"))
        .otherwise(pl.col("title")).alias("title"))
    third = item_vectors(changed, counting, tmp_path)
    assert counting.calls[1:] == [1]
    np.testing.assert_array_equal(np.delete(third, 5, 0), np.delete(first, 5, 0))
    assert third[5] @ first[5] < 0.9


def test_rows_are_unit_or_zero_for_items_without_text(text_encoder, tmp_path: Path) -> None:
    items = pl.DataFrame({"item_id": ["1", "2", "3"], "title": ["Lavender soap", None, "Soap"]})
    v = item_vectors(items, text_encoder, tmp_path)
    assert v.dtype == np.float32 and v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), [1.0, 0.0, 1.0], atol=1e-5)


def test_cache_is_separate_per_encoder_identity(text_encoder, tmp_path: Path) -> None:
    texts = ["Argan oil hair mask", "Vitamin C serum"]
    EmbeddingCache(tmp_path, text_encoder.identity, 384).vectors(texts, text_encoder)
    other = CountingEncoder(text_encoder)
    other.identity = "another-model-000"
    EmbeddingCache(tmp_path, other.identity, 384).vectors(texts, other)
    assert other.calls == [2]
    assert len(list(tmp_path.iterdir())) == 2


def test_many_small_writes_are_merged_and_nothing_is_lost(text_encoder, tmp_path: Path) -> None:
    from shoprec.text.cache import MAX_SHARDS

    cache = EmbeddingCache(tmp_path, text_encoder.identity, 384)
    texts = [f"shade number {n}" for n in range(MAX_SHARDS + 2)]
    for text in texts:
        cache.vectors([text], text_encoder)
    assert len(list(cache.folder.glob("keys-*.npy"))) < MAX_SHARDS
    counting = CountingEncoder(text_encoder)
    again = cache.vectors(texts, counting)
    assert counting.calls == []
    np.testing.assert_allclose(again[0], text_encoder.encode(texts[:1])[0], atol=1e-5)
