"""The one-shopper fast paths score exactly as the batch paths, and SASRec's cached item table
follows every change of the weights (fit, load, new items, optimiser steps, writes)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import History
from shoprec.models.ease import EASE
from shoprec.models.hybrid import Hybrid
from shoprec.models.itemknn import ItemKNN
from shoprec.models.sasrec import SASRec
from shoprec.models.sasrec_items import NEW_ITEM_NEIGHBOURS, add_text_items

SMALL = {"dim": 32, "layers": 1, "heads": 1, "max_len": 20, "dropout": 0.1, "batch_size": 64,
         "progress": False}


def histories(n_items: int, seed: int = 0) -> list[History]:
    """Random histories with repeats, of lengths 0 to 60, with and without values."""
    rng = np.random.default_rng(seed)
    out = [History(rng.integers(0, n_items, size=rng.integers(0, 60))) for _ in range(30)]
    out += [History(h.items, rng.random(len(h)).astype(np.float32) + 0.5) for h in out[:20]]
    return out


@pytest.mark.parametrize("kind", [ItemKNN, EASE])
def test_one_shopper_scores_equal_the_batch_scores_bit_for_bit(kind: type, beauty_slice: Dataset
                                                               ) -> None:
    model = kind().fit(leave_one_out(beauty_slice).train)
    hs = histories(beauty_slice.n_items)
    batch = np.concatenate([model.score(hs[:30]), model.score(hs[30:])])  # same value mode
    single = np.concatenate([model.score([h]) for h in hs])
    assert single.dtype == np.float32 and single.shape == batch.shape
    np.testing.assert_array_equal(single, batch)
    assert np.any(single[1:] != 0)
    with pytest.raises(ValueError, match="outside"):
        model.score([History(np.array([beauty_slice.n_items]))])


def reference(model: SASRec, hs: list[History]) -> np.ndarray:
    """Scores with the item table rebuilt from the weights, nothing cached."""
    net = model.net_
    with torch.no_grad():
        table = net.items.table()
        rows = torch.from_numpy(model._tokens(hs, net.n_items))
        return (net.last_hidden(rows, table) @ table.T).numpy()


def fresh_model(n_items: int, text_dim: int = 24, seed: int = 0) -> SASRec:
    torch.manual_seed(seed)
    model = SASRec(item_repr="id+text", **SMALL)
    model.net_ = model._build(n_items, torch.randn(n_items, text_dim))
    model.net_.eval()
    return model


def test_sasrec_cached_table_equals_a_rebuilt_one_and_follows_weight_changes() -> None:
    model = fresh_model(200)
    hs = [h for h in histories(200, seed=1) if len(h)][:12]
    for h in hs[:5]:  # one shopper (the online path) and a batch give the same as a rebuild
        np.testing.assert_allclose(model.score([h]), reference(model, [h]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.score(hs), reference(model, hs), rtol=1e-6, atol=1e-6)
    with torch.inference_mode():  # built once, then reused while the weights stay
        assert model.net_.items.serving_tables()[0] is model.net_.items.serving_tables()[0]

    before = model.score(hs[:1])
    optimiser = torch.optim.SGD(model.net_.parameters(), lr=1.0)  # an optimiser step
    model.net_.train()
    loss = model.net_.items.table().pow(2).sum()
    loss.backward()
    optimiser.step()
    assert not np.allclose(model.score(hs[:1]), before)
    np.testing.assert_allclose(model.score(hs[:1]), reference(model, hs[:1]), rtol=1e-6, atol=1e-6)

    other = fresh_model(200, seed=7).net_.state_dict()  # load_state_dict
    model.net_.load_state_dict(other)
    np.testing.assert_allclose(model.score(hs), reference(model, hs), rtol=1e-6, atol=1e-6)

    with torch.no_grad():  # a write through .data, announced
        model.net_.items.text_proj.weight.data.mul_(3.0)
    model.net_.items.invalidate()
    np.testing.assert_allclose(model.score(hs), reference(model, hs), rtol=1e-6, atol=1e-6)


def test_training_mode_never_gets_the_cached_table() -> None:
    model = fresh_model(50)
    model.score([History(np.array([1, 2]))])  # fills the cache
    model.net_.train()
    table, _ = model.net_.items.serving_tables()
    assert table.requires_grad and table.grad_fn is not None  # built fresh, in the graph


def test_new_items_are_scored_through_the_cache() -> None:
    model = fresh_model(100)
    h = History(np.array([3, 5, 8]))
    old = model.score([h])
    new_text = np.random.default_rng(2).normal(size=(4, 24)).astype(np.float32)
    add_text_items(model.net_, new_text, NEW_ITEM_NEIGHBOURS)
    scores = model.score([h])
    assert scores.shape == (1, 104)
    np.testing.assert_allclose(scores, reference(model, [h]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(scores[:, :100], old, rtol=1e-6, atol=1e-6)  # old items unchanged
    assert np.all(np.isfinite(scores[:, 100:])) and np.any(scores[:, 100:] != 0)
    assert model.score([History(np.array([101]))]).shape == (1, 104)  # and usable in histories


def test_refit_and_reload_rebuild_the_cache(beauty_300: Dataset, embedding_cache_dir: Path,
                                            tmp_path: Path) -> None:
    split = leave_one_out(beauty_300)
    model = SASRec(item_repr="id+text", max_epochs=1, text_cache=str(embedding_cache_dir), **SMALL)
    hs = split.test.histories[:20]
    first = model.fit(split.train, split.valid).score(hs)
    model.config = type(model.config)(**{**vars(model.config), "seed": 3})
    second = model.fit(split.train, split.valid).score(hs)  # the same object, fitted again
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, reference(model, hs), rtol=1e-6, atol=1e-6)
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(SASRec.load(tmp_path / "m").score(hs), second)


def test_hybrid_scores_each_component_once_per_call(beauty_slice: Dataset) -> None:
    split = leave_one_out(beauty_slice)
    calls: dict[str, int] = {}

    class Counted(ItemKNN):
        def score(self, hs: list[History]) -> np.ndarray:
            calls[self.label] = calls.get(self.label, 0) + 1
            return super().score(hs)

    parts = {}
    for label, shrink in (("a", 10.0), ("b", 100.0)):
        parts[label] = Counted(shrink=shrink).fit(split.train)
        parts[label].label = label
    hybrid = Hybrid.from_fitted(parts, split.valid)
    hybrid.weights_ = {"a": 0.5, "b": 0.5}
    calls.clear()
    hybrid.score([split.test.histories[0]])
    assert calls == {"a": 1, "b": 1}
