from pathlib import Path

import numpy as np
import pytest

from shoprec.index import ExactIndex, HnswIndex, build_index, load_index


def clustered_unit_vectors(n: int, dim: int = 32, clusters: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    v = centres[rng.integers(clusters, size=n)] + 0.4 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_exact_matches_brute_force_with_filter_and_padding() -> None:
    v = clustered_unit_vectors(500)
    q = v[:7]
    idx, val = ExactIndex(v).search(q, 5)
    brute = np.argsort(-(q @ v.T), axis=1)[:, :5]
    np.testing.assert_array_equal(idx, brute)
    assert (np.diff(val, axis=1) <= 0).all()
    allowed = np.zeros(500, bool)
    allowed[[3, 10, 400]] = True
    idx, val = ExactIndex(v).search(q, 5, allowed)
    assert set(idx[0, :3]) == {3, 10, 400} and (idx[:, 3:] == -1).all()
    assert np.isneginf(val[:, 3:]).all()


def test_hnsw_agrees_with_exact_and_honours_filters() -> None:
    v = clustered_unit_vectors(3000)
    q = clustered_unit_vectors(50, seed=1)
    exact, _ = ExactIndex(v).search(q, 10)
    approx, _ = HnswIndex(v).search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall >= 0.95
    allowed = np.arange(3000) % 5 == 0
    approx, _ = HnswIndex(v).search(q, 10, allowed)
    assert (approx[approx >= 0] % 5 == 0).all()


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_added_vector_is_found_at_once_and_survives_save(kind: str, tmp_path: Path) -> None:
    v = clustered_unit_vectors(400)
    index = build_index(v, threshold=0 if kind == "hnsw" else 10**9)
    assert index.kind == kind
    new = -v[:1]  # far from its own source, nearest to itself
    (new_id,) = index.add(new)
    assert new_id == 400 and len(index) == 401
    assert index.search(new, 1)[0][0, 0] == 400
    index.save(tmp_path / "ix")
    again = load_index(tmp_path / "ix")
    assert again.kind == kind and len(again) == 401
    assert again.search(new, 1)[0][0, 0] == 400


def test_dimension_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        ExactIndex(clustered_unit_vectors(10)).search(np.ones((1, 5)), 3)


def test_one_query_ranks_as_the_batch_does_with_and_without_a_filter() -> None:
    v = clustered_unit_vectors(2000, dim=48)
    q = clustered_unit_vectors(20, dim=48, seed=3)
    index = ExactIndex(v)
    allowed = np.arange(2000) % 3 != 0
    for mask in (None, allowed):
        batch_idx, batch_val = index.search(q, 15, mask)
        for row in range(len(q)):
            idx, val = index.search(q[row], 15, mask)
            np.testing.assert_array_equal(idx[0], batch_idx[row])
            np.testing.assert_allclose(val[0], batch_val[row], rtol=1e-5, atol=1e-6)
    idx, _ = index.search(q[0], 15, allowed)
    assert (idx[0] % 3 != 0).all()
