"""Every registered collaborative-filtering model on real Beauty slices.

`beauty_slice` (the first 2,000 shoppers over 8,017 items) is so sparse that most items have one
or two shoppers and no model beats popularity there, so the quality check uses a denser real
slice: all Beauty shoppers restricted to the 500 most reviewed items.
"""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import History, Split
from shoprec.evaluation.metrics import evaluate
from shoprec.models.base import Recommender
from shoprec.models.registry import get_spec
from tests.support.slices import most_reviewed

CF_MODELS = ["userknn", "itemknn", "ease", "als", "bpr"]


@pytest.fixture(scope="module")
def split(beauty_slice: Dataset) -> Split:
    return leave_one_out(beauty_slice)


@pytest.fixture(scope="module")
def beauty_top500(beauty: Dataset) -> Dataset:
    """Beauty shoppers' interactions with the 500 most reviewed items (shoppers with 3 or more)."""
    return most_reviewed(beauty, 500)


def default_model(name: str) -> Recommender:
    """The model with its default parameters (the first value of every grid entry)."""
    spec = get_spec(name)
    return spec.build(**spec.candidates()[0])


@pytest.fixture(scope="module", params=CF_MODELS)
def fitted(request: pytest.FixtureRequest, split: Split) -> Recommender:
    return default_model(request.param).fit(split.train)


def test_registered_class_has_the_registry_name(fitted: Recommender) -> None:
    assert get_spec(fitted.name).cls() is type(fitted)
    assert isinstance(fitted, Recommender)


def test_every_model_beats_popular_on_validation(beauty_top500: Dataset) -> None:
    dense = leave_one_out(beauty_top500)
    ndcg = {name: evaluate(default_model(name).fit(dense.train), dense.valid,
                           beauty_top500.n_items)["ndcg@10"] for name in ["popular", *CF_MODELS]}
    for name in CF_MODELS:
        assert ndcg[name] > 2 * ndcg["popular"], ndcg


def test_save_load_gives_identical_scores(fitted: Recommender, split: Split, tmp_path: Path) -> None:
    histories = split.test.histories[:50]
    fitted.save(tmp_path / "model")
    loaded = type(fitted).load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))


def test_one_interaction_and_unseen_histories(
    fitted: Recommender, split: Split, beauty_slice: Dataset
) -> None:
    counts = np.asarray(split.train.matrix.sum(axis=0)).ravel()
    busy = np.argsort(-counts)[:40]
    single = History(busy[:1])
    # items of many different shoppers, in an order no training shopper has
    unseen = History(busy[::-1][:7].copy(), timestamps=np.arange(7))
    empty = History(np.zeros(0, dtype=np.int64))
    scores = fitted.score([single, unseen, empty])
    assert scores.shape == (3, beauty_slice.n_items)
    for row in scores[:2]:
        finite = row[np.isfinite(row)]
        assert len(finite) > 10 and not np.isnan(row).any()
        assert finite.max() > finite.min()  # a real preference, not a constant
    assert not np.isnan(scores[2]).any()
    # a one-item history recommends items shoppers bought together with it
    together = split.train.matrix[split.train.matrix[:, busy[0]].nonzero()[0]].sum(axis=0)
    co_bought = set(np.flatnonzero(np.asarray(together).ravel())) - {int(busy[0])}
    masked = scores[0].copy()
    masked[busy[0]] = -np.inf
    top = np.argsort(-masked, kind="stable")[:10]
    assert len(co_bought.intersection(top.tolist())) >= 5, fitted.name


def test_item_outside_catalogue_is_a_clear_error(fitted: Recommender, beauty_slice: Dataset) -> None:
    with pytest.raises(ValueError, match=f"item index {beauty_slice.n_items}"):
        fitted.score([History(np.array([0, beauty_slice.n_items]))])


@pytest.mark.parametrize("neighbours", [5, 300])
def test_itemknn_forgetting_equals_a_refit_without_the_shoppers(beauty_slice: Dataset,
                                                               neighbours: int) -> None:
    """Forgetting shoppers one after another (the in-place update that deletion uses) leaves the
    same similarities, entry for entry, as fitting on the shoppers who remain; with few
    neighbours, pruned entries must come back where a forgotten shopper's items lost weight."""
    from shoprec.data.splits import full_train
    from shoprec.models.itemknn import ItemKNN

    inter = beauty_slice.interactions.drop("user", "item")
    model = ItemKNN(neighbours=neighbours).fit(full_train(beauty_slice))
    before = model.similarity_.copy()
    gone: list[str] = []
    for user in [beauty_slice.user_map.ids[n] for n in (0, 7, 300, 1999)]:
        current = build_dataset(beauty_slice.items, inter.filter(~pl.col("user_id").is_in(gone)), "x")
        row = current.user_map.index(user)
        items = current.interactions.filter(pl.col("user") == row)["item"].to_numpy()
        gone.append(user)
        remaining = build_dataset(beauty_slice.items, inter.filter(~pl.col("user_id").is_in(gone)), "x")
        model.forget_users(full_train(remaining), [row], items)
        fresh = ItemKNN(neighbours=neighbours).fit(full_train(remaining)).similarity_
        assert model.similarity_.nnz == fresh.nnz
        assert abs(model.similarity_ - fresh).max() < 1e-6
    assert abs(model.similarity_ - before).max() > 1e-3  # the control: something did change
