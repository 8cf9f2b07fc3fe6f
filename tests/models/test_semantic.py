from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.models.content import ContentModel
from shoprec.models.ranking import top_k
from shoprec.models.semantic import SemanticModel


@pytest.fixture(scope="module")
def semantic(beauty_300: Dataset, embedding_cache_dir: Path) -> SemanticModel:
    return SemanticModel(cache_dir=str(embedding_cache_dir)).fit(full_train(beauty_300))


def test_query_is_the_latest_distinct_texts_newest_first(semantic: SemanticModel) -> None:
    t = semantic.texts_
    query = semantic.query_text(History(np.array([7, 8, 9, 9, 10])))
    assert query == "; ".join([t[10], t[9], t[8]])


def test_score_blends_query_and_content(semantic: SemanticModel,
                                        embedding_cache_dir: Path) -> None:
    h = [History(np.array([1, 2, 3]))]
    content = ContentModel(cache_dir=str(embedding_cache_dir))
    content.vectors_ = semantic.vectors_
    query = semantic.query_vectors(h) @ semantic.vectors_.T
    weight = semantic.config.weight
    expected = weight * query + (1 - weight) * content.score(h)
    np.testing.assert_allclose(semantic.score(h), expected, atol=1e-5)
    assert not np.allclose(query, content.score(h))


def test_batch_through_cache_equals_direct_encoding(semantic: SemanticModel) -> None:
    # one-item histories: each query is an item text, so the cache filled by `fit` answers them
    histories = [History(np.array([i])) for i in range(70)]  # >= CACHE_BATCH
    cached = semantic.query_vectors(histories)
    direct = semantic.query_vectors(histories[:3])
    np.testing.assert_allclose(cached[:3], direct, atol=1e-4)


def test_new_item_recommendable_and_save_load(semantic: SemanticModel, beauty_300: Dataset,
                                              tmp_path: Path) -> None:
    semantic.save(tmp_path / "m")
    model = SemanticModel.load(tmp_path / "m")
    titles = beauty_300.items["title"].fill_null("").str.to_lowercase()
    history = History(np.flatnonzero(titles.str.contains("brush").to_numpy())[:3])
    new = pl.DataFrame({"item_id": ["n1"], "title": ["Professional Makeup Brush Set, 12 Brushes"]})
    (new_index,) = model.add_items_from_text(new)
    assert model.texts_[new_index].startswith("Professional Makeup Brush Set")
    idx, _ = top_k(model.score([history]), 10, [history])
    assert new_index in idx[0]
