"""EASE^R on real Beauty shoppers: the closed form, its refusal above the dense limit, its files."""

from pathlib import Path

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import Split
from shoprec.models.ease import EASE
from tests.support.slices import most_reviewed


@pytest.fixture(scope="module")
def dense_split(beauty: Dataset) -> Split:
    """Beauty shoppers over the 400 most reviewed items (shoppers with 3 or more)."""
    return leave_one_out(most_reviewed(beauty, 400))


def test_weights_are_steck_closed_form(dense_split: Split) -> None:
    model = EASE(l2=50.0).fit(dense_split.train)
    x = dense_split.train.matrix.toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 50.0 * np.eye(x.shape[1]))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(model.weights_, expected, atol=1e-5)
    assert np.all(np.diag(model.weights_) == 0)  # an item never explains itself
    scores = model.score(dense_split.test.histories[:5])
    assert scores.shape == (5, dense_split.train.n_items) and scores.dtype == np.float32


def test_refuses_a_catalogue_above_its_dense_limit(dense_split: Split) -> None:
    with pytest.raises(ValueError, match=r"max_items=100 .*Use itemknn or als"):
        EASE(max_items=100).fit(dense_split.train)
    with pytest.raises(ValueError, match="l2 > 0"):
        EASE(l2=0.0).fit(dense_split.train)


def test_save_load_gives_identical_scores(dense_split: Split, tmp_path: Path) -> None:
    model = EASE().fit(dense_split.train)
    model.save(tmp_path / "ease")
    again = EASE.load(tmp_path / "ease")
    hist = dense_split.test.histories[:20]
    np.testing.assert_array_equal(model.score(hist), again.score(hist))
    assert again.config == model.config


def test_forgetting_a_shopper_equals_a_refit_without_them(dense_split: Split) -> None:
    from shoprec.data.types import TrainData

    model = EASE(l2=50.0).fit(dense_split.train)
    row = 7
    removed = dense_split.train.histories[row].items
    remaining = TrainData([h for u, h in enumerate(dense_split.train.histories) if u != row],
                          dense_split.train.n_items, dense_split.train.items)
    model.forget_users(remaining, [row], removed)
    refit = EASE(l2=50.0).fit(remaining)
    np.testing.assert_allclose(model.weights_, refit.weights_, atol=1e-4)
    np.testing.assert_allclose(model.p_diag_, refit.p_diag_, rtol=1e-4)
