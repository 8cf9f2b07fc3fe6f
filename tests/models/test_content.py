from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import full_train
from shoprec.data.types import History, TrainData
from shoprec.models.content import ContentModel
from shoprec.models.ranking import top_k
from shoprec.models.registry import get_spec


@pytest.fixture(scope="module")
def content(beauty_300: Dataset, embedding_cache_dir: Path) -> ContentModel:
    return ContentModel(cache_dir=str(embedding_cache_dir)).fit(full_train(beauty_300))


def nail_items(ds: Dataset) -> np.ndarray:
    titles = ds.items["title"].fill_null("").str.to_lowercase()
    return np.flatnonzero(titles.str.contains("nail").to_numpy())


def test_registered_and_scores_every_item(content: ContentModel, beauty_300: Dataset) -> None:
    assert get_spec("content").cls() is ContentModel
    scores = content.score([History(np.array([0, 1])), History(np.array([], dtype=np.int64))])
    assert scores.shape == (2, beauty_300.n_items) and scores.dtype == np.float32
    assert np.all(scores[1] == 0)  # no history, no opinion
    assert np.all(scores[0] <= 1.0 + 1e-5)


def test_nail_history_gets_nail_recommendations(content: ContentModel, beauty_300: Dataset) -> None:
    nails = nail_items(beauty_300)
    assert len(nails) >= 15
    history = History(nails[:3])
    idx, _ = top_k(content.score([history]), 5, [history])
    titles = [beauty_300.items["title"][int(i)].lower() for i in idx[0]]
    assert sum("nail" in t or "lacquer" in t for t in titles) >= 4, titles


def test_recency_weights_the_latest_item_most(content: ContentModel) -> None:
    p = content.profiles([History(np.array([10, 20]))])[0]
    assert p @ content.vectors_[20] > p @ content.vectors_[10]


def test_new_item_is_recommended_without_retraining(beauty_300: Dataset,
                                                    embedding_cache_dir: Path) -> None:
    model = ContentModel(cache_dir=str(embedding_cache_dir)).fit(full_train(beauty_300))
    nails = nail_items(beauty_300)
    history = History(nails[:3])
    new = pl.DataFrame({"item_id": ["new-1"],
                        "title": ["OPI Nail Lacquer Polish, Cherry Red Creme, 0.5 Fluid Ounce"]})
    (new_index,) = model.add_items_from_text(new)
    assert new_index == beauty_300.n_items
    idx, _ = top_k(model.score([history]), 10, [history])
    assert new_index in idx[0]


def test_save_load_round_trip(content: ContentModel, tmp_path: Path) -> None:
    content.save(tmp_path / "m")
    again = ContentModel.load(tmp_path / "m")
    h = [History(np.array([3, 4, 5]))]
    np.testing.assert_allclose(again.score(h), content.score(h), atol=1e-6)
    assert again.config == content.config


def test_without_a_catalogue_is_a_clear_error() -> None:
    data = TrainData(histories=[History(np.array([0, 1]))], n_items=2)
    with pytest.raises(ValueError, match="catalogue"):
        ContentModel().fit(data)
