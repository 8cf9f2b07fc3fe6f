"""Top-k for every shopper in bounded memory: the same lists as scoring densely."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.splits import full_train
from shoprec.models import batch_topk
from shoprec.models.batch_topk import csr_row_top_k, top_k_all
from shoprec.models.ease import EASE
from shoprec.models.itemknn import ItemKNN
from shoprec.models.ranking import top_k


def _same_up_to_ties(scores, idx_a, val_a, idx_b, val_b) -> None:
    """Same top scores, and each chosen item really has its score (tied items may swap)."""
    np.testing.assert_allclose(val_a, val_b, rtol=1e-6)
    np.testing.assert_allclose(np.take_along_axis(scores, idx_a, axis=1), val_a, rtol=1e-6)
    assert len({tuple(r) for r in idx_a.tolist()}) > 1 and (idx_a >= 0).all()


def test_sparse_top_k_equals_dense_scoring(beauty_slice) -> None:
    train = full_train(beauty_slice)
    model = ItemKNN(neighbours=100).fit(train)
    hist = train.histories[:500]
    idx, val = top_k_all(model, hist, 10, batch_rows=128)
    ref_idx, ref_val = top_k(model.score(hist), 10, histories=hist)
    full = np.isfinite(val).all(1)  # shoppers with at least 10 reachable items
    assert full.mean() > 0.9
    scores = model.score(hist)
    _same_up_to_ties(scores[full], idx[full], val[full], ref_idx[full], ref_val[full])
    for row, h in zip(idx, hist):
        assert not set(row.tolist()) & set(h.items.tolist())  # history excluded


def test_dense_path_in_batches_equals_one_batch(beauty_slice) -> None:
    train = full_train(beauty_slice)
    model = EASE().fit(train)
    hist = train.histories[:300]
    idx, val = top_k_all(model, hist, 10, batch_rows=64)
    ref_idx, ref_val = top_k(model.score(hist), 10, histories=hist)
    _same_up_to_ties(model.score(hist), idx, val, ref_idx, ref_val)


def test_dense_path_refuses_above_its_limit(beauty_slice, monkeypatch) -> None:
    train = full_train(beauty_slice)
    model = EASE().fit(train)
    monkeypatch.setattr(batch_topk, "MAX_DENSE_SCORES", 1000)
    with pytest.raises(ValueError, match="MAX_DENSE_SCORES.*itemknn"):
        top_k_all(model, train.histories[:10], 10)


def test_csr_row_top_k_pads_short_rows() -> None:
    import scipy.sparse as sp

    m = sp.csr_matrix(np.array([[0, 3, 1, 0], [0, 0, 0, 0], [2, 2, 5, 0]], dtype=np.float32))
    idx, val = csr_row_top_k(m, 3)
    assert idx.tolist() == [[1, 2, -1], [-1, -1, -1], [2, 0, 1]]
    assert val[0, 2] == -np.inf and val[2].tolist() == [5, 2, 2]


def test_itemknn_blocks_give_the_one_block_result(beauty_slice, monkeypatch) -> None:
    from shoprec.models import itemknn

    train = full_train(beauty_slice)
    whole = ItemKNN(neighbours=50).fit(train).similarity_
    monkeypatch.setattr(itemknn, "BLOCK_PRODUCTS", 5000)  # hundreds of blocks
    blocks = ItemKNN(neighbours=50).fit(train).similarity_
    assert (whole != blocks).nnz == 0
