"""The hybrid blend on real Beauty shoppers: never below its best component on validation,
per-shopper standardisation, files, and a fit from scratch."""

from pathlib import Path

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import Split
from shoprec.evaluation.metrics import evaluate
from shoprec.models.ease import EASE
from shoprec.models.hybrid import Hybrid, simplex_grid, standardise
from shoprec.models.itemknn import ItemKNN
from shoprec.models.popular import Popular
from tests.support.slices import most_reviewed


@pytest.fixture(scope="module")
def split(beauty: Dataset) -> Split:
    return leave_one_out(most_reviewed(beauty, 600))


@pytest.fixture(scope="module")
def parts(split: Split) -> dict:
    return {"itemknn": ItemKNN().fit(split.train), "ease": EASE().fit(split.train),
            "popular": Popular().fit(split.train)}


def test_simplex_grid_holds_every_single_component() -> None:
    grid = simplex_grid(3, 0.1)
    np.testing.assert_allclose(grid.sum(1), 1.0, atol=1e-6)
    for i in range(3):
        assert any(np.allclose(row, np.eye(3)[i]) for row in grid)
    assert len(grid) == 66


def test_standardise_makes_scales_comparable() -> None:
    rows = standardise(np.array([[1.0, 2.0, 3.0], [100.0, 200.0, 300.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(rows[0], rows[1], atol=1e-6)
    np.testing.assert_array_equal(rows[2], 0.0)


def test_blend_is_never_below_its_best_component_on_validation(split: Split, parts: dict) -> None:
    hybrid = Hybrid.from_fitted(parts, split.valid)
    n = split.train.n_items
    single = {name: evaluate(m, split.valid, n)["ndcg@10"] for name, m in parts.items()}
    blended = evaluate(hybrid, split.valid, n)["ndcg@10"]
    assert blended >= max(single.values()) - 1e-9, (blended, single)
    assert hybrid.validation_["ndcg@10"] == pytest.approx(blended, abs=1e-9)
    assert sum(hybrid.weights_.values()) == pytest.approx(1.0)
    for name, value in hybrid.validation_["components_ndcg@10"].items():
        assert value == pytest.approx(single[name], abs=1e-9)


def test_save_load_gives_identical_scores(split: Split, parts: dict, tmp_path: Path) -> None:
    hybrid = Hybrid.from_fitted(parts, split.valid)
    hybrid.save(tmp_path / "hybrid")
    again = Hybrid.load(tmp_path / "hybrid")
    hist = split.test.histories[:30]
    np.testing.assert_allclose(hybrid.score(hist), again.score(hist), rtol=1e-6, atol=1e-6)
    assert again.weights_ == hybrid.weights_


def test_fit_from_scratch_holds_out_the_last_item_then_refits(split: Split) -> None:
    hybrid = Hybrid(components=("itemknn", "ease")).fit(split.train)
    assert set(hybrid.weights_) == {"itemknn", "ease"}
    refit = ItemKNN().fit(split.train)  # the cheap components end fitted on all the data
    np.testing.assert_array_equal(hybrid.models_["itemknn"].similarity_.toarray(),
                                  refit.similarity_.toarray())
    test = evaluate(hybrid, split.test, split.train.n_items)["ndcg@10"]
    popular = evaluate(Popular().fit(split.train), split.test, split.train.n_items)["ndcg@10"]
    assert test > popular


def test_forgetting_reaches_every_component_that_can_forget(split: Split, parts: dict) -> None:
    from shoprec.data.types import TrainData

    hybrid = Hybrid.from_fitted(dict(parts), split.valid)
    before = {n: m for n, m in hybrid.models_.items()}
    row = 3
    remaining = TrainData([h for u, h in enumerate(split.train.histories) if u != row],
                          split.train.n_items, split.train.items)
    hybrid.forget_users(remaining, [row], split.train.histories[row].items)
    refit = EASE().fit(remaining)
    np.testing.assert_allclose(hybrid.models_["ease"].weights_, refit.weights_, atol=1e-4)
    assert hybrid.models_["ease"] is not before["ease"]  # a copy: requests in flight keep theirs
    assert not hybrid.keeps_removed_weights  # all three components forget exactly
