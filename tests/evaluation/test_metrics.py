"""Full-ranking metrics on hand-checkable cases and on real Beauty scorers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shoprec.data.splits import leave_one_out
from shoprec.data.types import EvalSet, History
from shoprec.evaluation.metrics import evaluate, ranking_metrics, target_ranks


class Fixed:
    """Scores from a given function of the history (test double for the protocol)."""

    name = "fixed"

    def __init__(self, fn, n_items: int) -> None:
        self.fn, self.n_items = fn, n_items

    def score(self, histories):
        return np.stack([self.fn(h) for h in histories]).astype(np.float32)


def _evalset(targets, histories=None) -> EvalSet:
    hist = histories or [History(np.array([], dtype=np.int64)) for _ in targets]
    return EvalSet(np.arange(len(targets)), hist, [np.asarray(t) for t in targets])


def test_constant_scorer_cannot_look_good() -> None:
    ev = _evalset([[3], [7], [1]])
    m = evaluate(Fixed(lambda h: np.zeros(10), 10), ev, 10)
    assert m["recall@5"] == 0.0 and m["ndcg@20"] <= 1 / math.log2(11)


def test_known_ranks_give_known_metrics() -> None:
    scores = np.arange(10, dtype=np.float32)[::-1].copy()  # item 0 best
    ev = _evalset([[0], [2], [9]])
    m = evaluate(Fixed(lambda h: scores, 10), ev, 10)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["ndcg@5"] == pytest.approx((1 + 1 / math.log2(4)) / 3)
    assert m["mrr@5"] == pytest.approx((1 + 1 / 3) / 3)
    assert m["precision@5"] == pytest.approx(2 / 15)
    assert m["recall@10"] == pytest.approx(1.0)


def test_history_items_are_removed_from_the_ranking() -> None:
    scores = np.arange(10, dtype=np.float32)[::-1].copy()
    ev = _evalset([[3]], [History(np.array([0, 1, 2]))])
    m = evaluate(Fixed(lambda h: scores, 10), ev, 10)
    assert m["mrr@5"] == 1.0


def test_several_targets_do_not_push_each_other_down() -> None:
    ranks = target_ranks(np.array([[5.0, 4.0, 3.0, 0.0]]), [np.array([0, 1])])
    assert ranks[0].tolist() == [0, 0]
    m = ranking_metrics([np.array([0, 3])], ks=(2,))
    assert m["recall@2"] == 0.5 and m["precision@2"] == 0.5


def test_wrong_score_shape_is_reported() -> None:
    with pytest.raises(ValueError, match="expected"):
        evaluate(Fixed(lambda h: np.zeros(3), 10), _evalset([[1]]), 10)


def test_oracle_on_real_beauty_is_perfect_and_popular_is_weak(beauty) -> None:
    from shoprec.models.popular import Popular

    split = leave_one_out(beauty)
    test = EvalSet(split.test.users[:2000], split.test.histories[:2000], split.test.targets[:2000])
    lookup = {id(h): t for h, t in zip(test.histories, test.targets)}

    def oracle(h):
        s = np.zeros(beauty.n_items)
        s[lookup[id(h)]] = 1.0
        return s

    assert evaluate(Fixed(oracle, beauty.n_items), test, beauty.n_items)["ndcg@10"] == 1.0
    pop = evaluate(Popular().fit(split.train), test, beauty.n_items)
    assert 0.0 < pop["recall@10"] < 0.05


def test_vectorised_single_target_path_equals_the_general_one() -> None:
    rng = np.random.default_rng(0)
    ranks = [np.array([r]) for r in rng.integers(0, 40, 500)]
    fast = ranking_metrics(ranks)
    slow = ranking_metrics(ranks + [np.array([3, 50])])  # one multi-target row forces the loop
    slow_only = ranking_metrics([np.array([3, 50])])
    for key, value in fast.items():
        assert (value * 500 + slow_only[key]) / 501 == pytest.approx(slow[key])
