"""The brief's worked example of user-based CF, with the true cosine values (not the brief's 0.8)."""

from math import sqrt

import numpy as np
import pytest

from shoprec.data.types import History, TrainData
from shoprec.models.userknn import UserKNN

# ratings of three shoppers over three items (the brief's example)
A, B, C = [5.0, 3.0, 2.0], [4.0, 5.0, 1.0], [2.0, 4.0, 5.0]


def rated(values: list[float]) -> History:
    return History(np.arange(len(values)), np.asarray(values, dtype=np.float32))


@pytest.fixture
def example() -> TrainData:
    return TrainData([rated(A), rated(B), rated(C)], n_items=3)


def test_true_cosine_similarities(example: TrainData) -> None:
    sims = UserKNN(neighbours=3).fit(example).similarities([rated(A)]).toarray()[0]
    assert sims[1] == pytest.approx(37 / (sqrt(38) * sqrt(42)), rel=1e-6)  # the brief prints 0.8
    assert sims[1] == pytest.approx(0.9262, abs=1e-4)
    assert sims[2] == pytest.approx(32 / (sqrt(38) * sqrt(45)), rel=1e-6)
    assert sims[0] == pytest.approx(1.0, rel=1e-6)  # A against its own training row


def test_weighted_average_predicts_a_missing_rating(example: TrainData) -> None:
    """Shopper D rated items 0 and 1 like A (5, 3) but not item 2: predict item 2 by hand."""
    d = History(np.array([0, 1]), np.array([5.0, 3.0], dtype=np.float32))
    s_a = (5 * 5 + 3 * 3) / (sqrt(34) * sqrt(38))  # cosine over D's row [5, 3, 0]
    s_b = (5 * 4 + 3 * 5) / (sqrt(34) * sqrt(42))
    s_c = (5 * 2 + 3 * 4) / (sqrt(34) * sqrt(45))
    all_three = (s_a * 2 + s_b * 1 + s_c * 5) / (s_a + s_b + s_c)
    top_two = (s_a * 2 + s_b * 1) / (s_a + s_b)  # C is the least similar and drops out

    pred3 = UserKNN(neighbours=3, aggregate="average").fit(example).score([d])[0]
    pred2 = UserKNN(neighbours=2, aggregate="average").fit(example).score([d])[0]
    assert pred3[2] == pytest.approx(all_three, rel=1e-5)
    assert pred3[2] == pytest.approx(2.3126, abs=1e-3)
    assert pred2[2] == pytest.approx(top_two, rel=1e-5)
    # for items every neighbour rated, the average runs over all of them
    assert pred3[0] == pytest.approx((s_a * 5 + s_b * 4 + s_c * 2) / (s_a + s_b + s_c), rel=1e-5)


def test_sum_aggregate_is_the_numerator(example: TrainData) -> None:
    d = History(np.array([0, 1]), np.array([5.0, 3.0], dtype=np.float32))
    s_a = 34 / (sqrt(34) * sqrt(38))
    s_b = 35 / (sqrt(34) * sqrt(42))
    scores = UserKNN(neighbours=2, aggregate="sum").fit(example).score([d])[0]
    assert scores[2] == pytest.approx(s_a * 2 + s_b * 1, rel=1e-5)


def test_average_leaves_items_no_neighbour_rated_unpredicted() -> None:
    train = TrainData([History(np.array([0, 1])), History(np.array([1, 2]))], n_items=4)
    scores = UserKNN(neighbours=5, aggregate="average").fit(train).score([History(np.array([0]))])
    assert scores[0, 1] == pytest.approx(1.0)
    assert scores[0, 3] == -np.inf  # nobody rated item 3: no prediction, ranked last
    assert scores[0, 2] == -np.inf  # only the dissimilar shopper (cosine 0) rated item 2


def test_rejects_bad_parameters_and_items(example: TrainData) -> None:
    with pytest.raises(ValueError, match="aggregate"):
        UserKNN(aggregate="median").fit(example)
    with pytest.raises(ValueError, match="item index 7"):
        UserKNN().fit(example).score([History(np.array([7]))])


def test_forgetting_a_shopper_equals_never_having_seen_them(example: TrainData) -> None:
    """Deletion drops B's row: scores equal a model fitted without B (and differ from before)."""
    query = [History(np.array([0]), np.array([5.0], dtype=np.float32))]
    model = UserKNN(neighbours=2).fit(example)
    before = model.score(query)
    without_b = TrainData([rated(A), rated(C)], n_items=3)
    model.forget_users(without_b, [1], np.arange(3))
    np.testing.assert_allclose(model.score(query), UserKNN(neighbours=2).fit(without_b).score(query))
    assert not np.allclose(model.score(query), before)
    assert model.ratings_.shape == (2, 3)
