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


# ---- a Chinese catalogue (real Amazon.cn products): category levels and jieba keywords ----

def _cn_index(amazon_cn, category_level: str) -> list[int]:
    categories = amazon_cn.items["category"].to_list()
    return [n for n, c in enumerate(categories) if category_level in c.split(" > ")]


def test_chinese_catalogue_tags_every_category_level_and_shared_title_words(amazon_cn) -> None:
    items = amazon_cn.items
    tags = tags_from_columns(items)
    kinds = tags.kind_of()
    mouse = amazon_cn.item_map.index("3982")  # 外设产品 > 鼠标 > 电脑/办公, "…无线鼠标…光学…"
    mouse_tags = set(tags.of_item(mouse))
    assert {"外设产品", "鼠标", "电脑/办公"} <= mouse_tags  # every level, not only the last
    assert kinds["鼠标"] == "category" and kinds["无线"] == "keyword" and "无线" in mouse_tags
    # a word on one item only (眩光, in this mouse's title alone) is no tag
    assert "眩光" not in tags.names and "眩光" in title_words(items["title"][mouse])
    # the root 图书音像 sits on more than half of the catalogue: dropped like "Beauty"
    books = _cn_index(amazon_cn, "图书音像")
    assert len(books) > 0.5 * items.height and "图书音像" not in tags.names
    assert all(" " not in name for name in tags.names)  # words, not whole titles


def test_chinese_titles_are_segmented_with_jieba() -> None:
    words = title_words("Kingston 金士顿 DataTraveler 101 G2 32GB 优盘")
    assert {"金士顿", "优盘", "kingston", "datatraveler"} <= words
    assert not words & {"32gb", "101", "g2"}
    assert title_words("Nail polish, red") == {"nail", "polish", "red"}  # English as before


def test_a_shopper_of_mice_and_memory_cards_gets_those_tags_on_top(amazon_cn) -> None:
    from shoprec.data.types import History
    from shoprec.profiles.profile import ProfileBuilder

    mice, cards = _cn_index(amazon_cn, "鼠标"), _cn_index(amazon_cn, "存储卡")
    assert len(mice) >= 2 and len(cards) >= 2
    bought = np.array(mice + cards)
    history = History(bought, np.full(len(bought), 5.0),
                      np.arange(len(bought), dtype=np.int64) * 86400 + 1_400_000_000)
    builder = ProfileBuilder().fit(amazon_cn)
    profile = builder.build(history)
    mass = profile.tag_mass

    def rank(tag: str) -> int:  # tags weighing strictly more (鼠标 ties with 外设产品, 引擎, ...)
        return sum(1 for m in mass.values() if m > mass[tag] + 1e-9)

    assert rank("鼠标") <= 3 and rank("存储卡") <= 3  # among the 4 strongest (电脑/办公 is first)
    own = {t for i in bought for t in builder.tags_.of_item(int(i))}
    assert {name for name, _ in profile.tags(5)} <= own
    assert not {"文学艺术", "少儿", "小说"} & set(profile.tag_mass)  # nothing from the bookshelf
