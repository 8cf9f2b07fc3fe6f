import numpy as np
import pytest

from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.privacy.mechanisms import (
    bounded_items,
    bounded_pairs,
    item_counts,
    laplace_scale,
    noisy_cooccurrence,
    noisy_item_counts,
    pair_counts,
)
from shoprec.privacy.models import DPCooccurrence, DPPopular


@pytest.fixture(scope="module")
def histories(beauty_slice):
    return full_train(beauty_slice).histories


def test_clipping_keeps_the_most_recent_distinct_items() -> None:
    h = History(np.array([4, 1, 2, 1, 3, 3]))
    assert bounded_items(h, 3).tolist() == [3, 1, 2]
    assert bounded_pairs(h, 2, window=1).tolist() == [[1, 3], [2, 1]]
    assert len(bounded_pairs(h, 100, window=2)) == len(set(map(tuple, bounded_pairs(h, 100, 2))))


def test_one_shopper_changes_the_clipped_counts_by_at_most_the_sensitivity(beauty_slice, histories
                                                                           ) -> None:
    n = beauty_slice.n_items
    heavy = sorted(range(len(histories)), key=lambda u: -len(histories[u]))[:5]
    assert len(histories[heavy[0]]) > 30  # real shoppers with long histories, clipping matters
    full_items = item_counts(histories, n, max_items=10)
    full_pairs = pair_counts(histories, n, max_pairs=7, window=3)
    for u in heavy:
        rest = histories[:u] + histories[u + 1:]
        assert np.abs(full_items - item_counts(rest, n, 10)).sum() == 10
        diff = full_pairs - pair_counts(rest, n, 7, 3)
        assert abs(diff).sum() == 7 and diff.max() == 1


def test_noise_has_the_calibrated_laplace_scale(beauty_slice, histories) -> None:
    n = beauty_slice.n_items
    clipped = item_counts(histories, n, 10)
    for epsilon in (1.0, 8.0):
        noise = noisy_item_counts(histories, n, epsilon, max_items=10, seed=3) - clipped
        # mean |Laplace(b)| = b; n is several thousand draws
        assert np.abs(noise).mean() == pytest.approx(10 / epsilon, rel=0.05)
    assert np.array_equal(noisy_item_counts(histories, n, None, 10), clipped)


def test_epsilon_must_be_positive() -> None:
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="epsilon must be a positive finite number"):
            laplace_scale(1.0, bad)


def test_noisy_cooccurrence_is_dense_noise_cut_to_top_entries(beauty_slice, histories) -> None:
    n = beauty_slice.n_items
    exact = noisy_cooccurrence(histories, n, None, max_pairs=5, top_per_item=20)
    counts = pair_counts(histories, n, 5, 3)
    assert exact.diagonal().sum() == 0
    assert np.diff(exact.indptr).max() <= 20
    assert exact.sum() <= counts.sum() and exact.max() == counts.max()
    noisy = noisy_cooccurrence(histories, n, 1.0, max_pairs=5, top_per_item=20, seed=0)
    assert (np.diff(noisy.indptr) == 20).all()  # every row, also rows nobody touched
    assert noisy.diagonal().sum() == 0


def test_a_popular_domain_restricts_the_release_and_the_recommendations(beauty_slice, histories
                                                                       ) -> None:
    n = beauty_slice.n_items
    domain = np.sort(np.argsort(-item_counts(histories, n, 10))[:200])
    noisy = noisy_cooccurrence(histories, n, 1.0, max_pairs=5, top_per_item=20, domain=domain)
    rows, cols = noisy.nonzero()
    assert np.isin(rows, domain).all() and np.isin(cols, domain).all()
    assert (np.diff(noisy.indptr)[domain] == 20).all()
    model = DPCooccurrence(epsilon=1.0, domain_size=200).fit(full_train(beauty_slice))
    scores = model.score(histories[:5])
    outside = np.setdiff1d(np.arange(n), model.domain_)
    assert len(model.domain_) == 200 and np.isneginf(scores[:, outside]).all()


def test_private_models_save_only_the_noisy_release(beauty_slice, tmp_path) -> None:
    data = full_train(beauty_slice)
    for model in (DPPopular(epsilon=1.0), DPCooccurrence(epsilon=1.0, top_per_item=10),
                  DPCooccurrence(epsilon=1.0, domain_size=100)):
        model.fit(data)
        model.save(tmp_path / f"{model.name}-{id(model)}")
        again = type(model).load(tmp_path / f"{model.name}-{id(model)}")
        h = data.histories[:3]
        np.testing.assert_array_equal(model.score(h), again.score(h))
    stored = np.load(next(tmp_path.glob("dp-popular-*")) / "noisy_counts.npy")
    assert not np.array_equal(stored, item_counts(data.histories, data.n_items, 10))
