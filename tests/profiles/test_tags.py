from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.profiles import tags as tags_module
from shoprec.profiles.tags import (
    item_tags,
    tags_from_columns,
    title_words,
    topics_cached,
    topics_from_vectors,
)


def test_movielens_genres_are_tags_and_rows_sum_to_one(movielens) -> None:
    tags = tags_from_columns(movielens.items)
    toy_story = movielens.item_map.index("1")  # Toy Story (1995): Animation|Children's|Comedy
    assert sorted(tags.of_item(toy_story)) == ["Animation", "Children's", "Comedy"]
    sums = np.asarray(tags.matrix.sum(axis=1)).ravel()
    assert np.allclose(sums[sums > 0], 1.0)
    assert set(tags.kinds) == {"category"}


def test_category_paths_give_their_deepest_level_and_common_roots_are_dropped() -> None:
    # no data set in shared/data has category paths or brands: a tiny catalogue in that format
    items = pl.DataFrame({
        "item_id": ["a", "b", "c", "d"],
        "category": ["Beauty > Makeup > Eyes", "Beauty > Hair Care", "Beauty > Makeup > Eyes",
                     "Beauty > Skin Care"],
        "brand": ["OPI", "Revlon", "", None],
    })
    tags = tags_from_columns(items)
    assert sorted(tags.of_item(0)) == ["Eyes", "brand: OPI"]
    assert "Beauty" not in tags.names
    assert tags.kind_of()["brand: Revlon"] == "brand"


def test_beauty_has_no_tag_columns_so_topics_come_from_vectors(
        beauty_items_300: pl.DataFrame, beauty_300_vectors: np.ndarray) -> None:
    assert tags_from_columns(beauty_items_300).n_tags == 0
    tags = topics_from_vectors(beauty_items_300, beauty_300_vectors, n_topics=6)
    titles = beauty_items_300["title"].to_list()
    for word in ("nail", "eau", "hair"):  # nail polish, perfume (eau de toilette), hair care
        members = [n for n, t in enumerate(titles) if word in title_words(t)]
        assert len(members) >= 10
        topic_of = [tags.of_item(n)[0] for n in members]
        main = max(set(topic_of), key=topic_of.count)
        assert topic_of.count(main) >= 0.8 * len(members), (word, topic_of)
        assert word in main.split(" / "), (word, main)  # the topic is named by its words
    assert len(set(tags.names)) == 6 and set(tags.kinds) == {"topic"}


def test_items_without_text_get_no_topic(beauty_items_300: pl.DataFrame,
                                         beauty_300_vectors: np.ndarray) -> None:
    vectors = beauty_300_vectors.copy()
    vectors[7] = 0.0  # what item_vectors returns for an item with no text
    tags = topics_from_vectors(beauty_items_300, vectors, n_topics=4)
    assert tags.of_item(7) == []
    assert all(len(tags.of_item(n)) == 1 for n in range(8, 30))


def test_topics_are_computed_once_per_catalogue(
        beauty_items_300: pl.DataFrame, beauty_300_vectors: np.ndarray, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = topics_cached(tmp_path, beauty_items_300, beauty_300_vectors, n_topics=5)
    assert (tmp_path / "topics.json").is_file()

    def no_clustering(*args, **kwargs):
        raise AssertionError("clustered again although the catalogue did not change")

    monkeypatch.setattr(tags_module, "spherical_kmeans", no_clustering)
    again = item_tags(beauty_items_300, beauty_300_vectors, tmp_path, n_topics=5)
    assert again.names == first.names
    assert (again.matrix != first.matrix).nnz == 0
    changed = beauty_items_300.with_columns(pl.col("title").str.to_uppercase())
    with pytest.raises(AssertionError, match="clustered again"):
        topics_cached(tmp_path, changed, beauty_300_vectors, n_topics=5)


def test_vectors_must_match_the_catalogue(beauty_items_300: pl.DataFrame,
                                          beauty_300_vectors: np.ndarray) -> None:
    with pytest.raises(ValueError, match="299 vectors for 300 items"):
        topics_from_vectors(beauty_items_300, beauty_300_vectors[:-1])
