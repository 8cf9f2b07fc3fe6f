"""SASRec on real data: it learns and beats popularity, reloads exactly, reads the right part of
a history."""

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import EvalSet, History, TrainData
from shoprec.evaluation.metrics import evaluate
from shoprec.evaluation.protocol import run_evaluation
from shoprec.models.base import AddsItems, adds_items, get_params
from shoprec.models.popular import Popular
from shoprec.models.registry import get_spec
from shoprec.models.sasrec import SASRec, uses_sampled_softmax
from shoprec.models.sasrec_items import text_init
from shoprec.models.sasrec_net import SequenceNet, sampled_sequence_loss, sequence_loss
from shoprec.models.training_loop import learn_from_valid, token_windows

SMALL = {"dim": 32, "layers": 1, "heads": 1, "max_len": 20, "dropout": 0.1, "batch_size": 64,
         "progress": False}


@pytest.fixture(scope="module")
def id_model(beauty_slice: Dataset) -> SASRec:
    split = leave_one_out(beauty_slice)
    return SASRec(item_repr="id", max_epochs=4, patience=10, **SMALL).fit(split.train, split.valid)


def test_loss_falls_and_the_best_epoch_is_kept(id_model: SASRec, beauty_slice: Dataset) -> None:
    losses = [h["loss"] for h in id_model.history_]
    assert len(losses) == 4
    assert all(a > b for a, b in pairwise(losses)), losses  # every epoch lowers it
    assert losses[-1] < losses[0] - 0.3  # starts near log(n_items), must learn something
    valid = [h["valid_ndcg@10"] for h in id_model.history_]
    assert id_model.valid_ndcg_ == max(valid) == valid[id_model.best_epoch_ - 1]
    # the weights kept are that best epoch's: scoring validation again gives its NDCG exactly
    split = leave_one_out(beauty_slice)
    again = evaluate(id_model, split.valid, beauty_slice.n_items)["ndcg@10"]
    assert again == pytest.approx(id_model.valid_ndcg_, abs=1e-6)


def test_beats_popularity_on_held_out_items(movielens: Dataset) -> None:
    """On MovieLens 100K (order matters there), a few epochs of a small id-only SASRec rank each
    shopper's held-out last item clearly better than the most-popular baseline."""
    split = leave_one_out(movielens)
    model = SASRec(item_repr="id", id_init="random", lr=5e-3, max_epochs=5, patience=10,
                   **{**SMALL, "batch_size": 128}).fit(split.train, split.valid)
    losses = [h["loss"] for h in model.history_]
    assert all(a > b for a, b in pairwise(losses)) and losses[-1] < losses[0] - 0.5, losses
    ours = evaluate(model, split.test, movielens.n_items)
    popular = evaluate(Popular().fit(split.train), split.test, movielens.n_items)
    for metric in ("recall@10", "ndcg@10"):
        assert ours[metric] > 1.15 * popular[metric], (metric, ours[metric], popular[metric])


def test_save_load_gives_identical_scores(id_model: SASRec, beauty_slice: Dataset,
                                          tmp_path: Path) -> None:
    histories = leave_one_out(beauty_slice).test.histories[:50]
    id_model.save(tmp_path / "m")
    again = SASRec.load(tmp_path / "m")
    np.testing.assert_array_equal(id_model.score(histories), again.score(histories))
    assert again.best_epoch_ == id_model.best_epoch_


def test_run_settings_are_not_saved_and_older_folders_holding_them_still_load(
        id_model: SASRec, beauty_slice: Dataset, tmp_path: Path) -> None:
    """threads, progress and the time budgets say how one fit ran, not what was learnt: the
    config (what model.json and a bundle's manifest record) leaves them out. A folder written
    before that split (they in its config, the class under its old module path) loads the same."""
    assert id_model.run.progress is False and id_model.run.max_minutes == 20.0
    saved = get_params(id_model)
    assert not set(saved) & {"threads", "progress", "max_minutes", "max_cpu_minutes"}
    assert saved["lr"] == 1e-3 and saved["max_epochs"] == 4 and saved["dim"] == 32
    id_model.save(tmp_path / "m")
    header = json.loads((tmp_path / "m" / "model.json").read_text())
    assert header["config"] == saved
    header["class"] = "shoprec.models.sequential:SASRec"
    header["config"] |= {"threads": 2, "progress": True, "max_minutes": 20.0,
                         "max_cpu_minutes": None}
    (tmp_path / "m" / "model.json").write_text(json.dumps(header))
    old = SASRec.load(tmp_path / "m")
    assert get_params(old) == saved
    histories = leave_one_out(beauty_slice).test.histories[:20]
    np.testing.assert_array_equal(id_model.score(histories), old.score(histories))
    # a manifest's parameters from before the split build the same model, its run settings kept
    rebuilt = get_spec("sasrec").build(**header["config"])
    assert get_params(rebuilt) == saved and rebuilt.run.threads == 2


def test_long_history_uses_its_most_recent_items(id_model: SASRec) -> None:
    rng = np.random.default_rng(1)
    long = rng.integers(0, id_model.net_.n_items, size=id_model.config.max_len + 15)
    recent = long[-id_model.config.max_len:]
    other_start = np.concatenate([rng.integers(0, id_model.net_.n_items, 15), recent])
    s = id_model.score([History(long), History(recent), History(other_start)])
    np.testing.assert_allclose(s[0], s[1], atol=1e-5)
    np.testing.assert_allclose(s[0], s[2], atol=1e-5)
    changed = long.copy()
    changed[-1] = (changed[-1] + 1) % id_model.net_.n_items
    assert not np.allclose(id_model.score([History(changed)])[0], s[0])


def test_padding_does_not_change_scores(id_model: SASRec) -> None:
    """A short history scores the same alone and beside a long one (more left padding)."""
    short, long = History(np.array([5, 9, 2])), History(np.arange(30) % id_model.net_.n_items)
    alone = id_model.score([short])[0]
    together = id_model.score([short, long])
    np.testing.assert_allclose(together[0], alone, atol=1e-5)
    tokens = id_model._tokens([short], id_model.net_.n_items)[0]
    assert (tokens[:-3] == 0).all() and tokens[-3:].tolist() == [6, 10, 3]


def test_causal_training_windows_cover_every_target_once() -> None:
    items = np.arange(12)
    rows = token_windows([items, np.array([3])], width=5)  # a 1-item history has no target
    targets = np.concatenate([r[1:][r[:-1] > 0] - 1 for r in rows])
    assert sorted(targets.tolist()) == list(range(1, 12))
    assert (rows[:, -1] > 0).all()  # left-padded: the latest item is always last


def test_text_aware_and_masked_train_and_embed_new_items(beauty_300: Dataset,
                                                         embedding_cache_dir: Path) -> None:
    split = leave_one_out(beauty_300)
    model = SASRec(item_repr="text", objective="masked", max_epochs=2,
                   text_cache=str(embedding_cache_dir), **SMALL).fit(split.train, split.valid)
    assert model.net_.items.ids is None
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    n = beauty_300.n_items
    assert adds_items(model)
    added = model.add_items_from_text(beauty_300.items[:2])  # two "new" items with known texts
    assert added.tolist() == [n, n + 1]
    scores = model.score(split.test.histories[:5])
    assert scores.shape == (5, n + 2) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores[:, n:], scores[:, :2], atol=1e-5)  # same text, same score


def test_id_plus_text_has_both_parts(beauty_300: Dataset, embedding_cache_dir: Path) -> None:
    split = leave_one_out(beauty_300)
    model = SASRec(item_repr="id+text", max_epochs=2, text_cache=str(embedding_cache_dir),
                   **SMALL).fit(split.train)  # no validation set: holds out each last item
    assert model.history_[1]["loss"] < model.history_[0]["loss"]
    items = model.net_.items
    with torch.no_grad():
        table, text = items.table(), items.text_proj(items.text_vectors)
        ids = items.ids.weight.detach()
    assert table.shape == (beauty_300.n_items, 32)
    torch.testing.assert_close(table, ids + text)  # each item's vector is its id part + text part
    # neither part is negligible, and the text part differs between items that read differently
    size = float(table.norm())
    assert float(ids.norm()) > 0.1 * size and float(text.norm()) > 0.1 * size
    assert torch.linalg.matrix_rank(text) > 16


def test_bad_inputs_give_clear_errors(id_model: SASRec, beauty_slice: Dataset) -> None:
    with pytest.raises(ValueError, match="outside 0"):
        id_model.score([History(np.array([0, id_model.net_.n_items]))])
    with pytest.raises(ValueError, match="objective"):
        SASRec(objective="bidirectional").fit(leave_one_out(beauty_slice).train)
    with pytest.raises(ValueError, match="training history 0 has an item index outside"):
        SASRec(item_repr="id").fit(TrainData([History(np.array([0, 7]))], n_items=5))
    with pytest.raises(ValueError, match="id_init"):
        SASRec(id_init="pretrained").fit(leave_one_out(beauty_slice).train)
    with pytest.raises(ValueError, match="stop_fraction"):
        SASRec(stop_fraction=0.0).fit(leave_one_out(beauty_slice).train)
    assert isinstance(id_model, AddsItems) and not adds_items(id_model)  # says it cannot
    with pytest.raises(ValueError, match="cannot embed new items"):
        id_model.add_items_from_text(beauty_slice.items[:1])


def test_registered_and_evaluated_with_validation(beauty_300: Dataset) -> None:
    """`evaluate` fits the registered model with the validation split for early stopping and
    reports the same figures as fitting and scoring it by hand on the same split."""
    assert get_spec("sasrec").cls() is SASRec
    params = {"item_repr": "id", "id_init": "random", "max_epochs": 2, **SMALL}
    result = run_evaluation(beauty_300, "sasrec", grid=[params])
    split = leave_one_out(beauty_300)
    by_hand = SASRec(**params).fit(split.train, split.valid)
    assert len(result.tried) == 1 and result.params == params
    assert result.tried[0]["ndcg@10"] == pytest.approx(by_hand.valid_ndcg_, abs=1e-6)
    expected = evaluate(by_hand, split.test, beauty_300.n_items)
    for metric in ("recall@10", "ndcg@10", "recall@20"):
        assert result.metrics[metric] == pytest.approx(expected[metric], abs=1e-9), metric


def test_learn_from_valid_trains_on_the_other_shoppers_validation_items() -> None:
    train = [np.array([1, 2]), np.array([3, 4, 5]), np.array([6]), np.array([7, 8])]
    valid = EvalSet(np.array([0, 1, 3]), [History(train[0]), History(train[1]), History(train[3])],
                    [np.array([9]), np.array([10]), np.array([11])])
    histories, stop = learn_from_valid(train, valid, 0.5, np.random.default_rng(3))
    kept = set(stop.users.tolist())
    assert 0 < len(kept) < 3  # some shoppers stay for early stopping, some are learned from
    for n, u in enumerate(valid.users.tolist()):
        expected = train[u] if u in kept else np.append(train[u], valid.targets[n])
        np.testing.assert_array_equal(histories[u], expected)
    np.testing.assert_array_equal(histories[2], train[2])  # no validation item: unchanged
    for n, u in enumerate(stop.users.tolist()):  # early-stopping targets are never trained on
        assert stop.targets[n][0] not in histories[u]


def test_text_init_starts_items_that_read_alike_close_together() -> None:
    rng = np.random.default_rng(0)
    text = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(50, 24))).float(), dim=1)
    text[1] = torch.nn.functional.normalize(text[0] + 0.05 * text[1], dim=0)  # 1 reads like 0
    ids = text_init(text, dim=8, std=0.02)
    cos = torch.nn.functional.cosine_similarity(ids[:1], ids, dim=1)
    assert ids.shape == (50, 8) and abs(float(ids.std()) - 0.02) < 1e-4
    assert cos[1] > 0.9 and cos[1] > cos[2:].max()
    assert text_init(text[:5], dim=8, std=0.02).shape == (5, 8)  # a catalogue smaller than the dimension


def test_kept_weights_are_the_moving_average(beauty_slice: Dataset) -> None:
    """A one-step average is the last step's weights; a longer one keeps different weights."""
    split = leave_one_out(beauty_slice)
    kw = {**SMALL, "item_repr": "id", "id_init": "random", "max_epochs": 2, "patience": 10}
    runs = {n: SASRec(average_epochs=n, **kw).fit(split.train, split.valid) for n in (None, 1e-9, 2.0)}
    histories = split.test.histories[:50]
    last, one_step, averaged = (runs[n].score(histories) for n in (None, 1e-9, 2.0))
    np.testing.assert_allclose(last, one_step, atol=1e-5)
    assert not np.allclose(last, averaged, atol=1e-3)


def test_learning_rate_falls_after_an_epoch_without_gain(beauty_slice: Dataset,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    scores = iter([0.10, 0.05, 0.20, 0.15])
    monkeypatch.setattr("shoprec.models.sasrec.validation_ndcg", lambda score, valid: next(scores))
    split = leave_one_out(beauty_slice)
    model = SASRec(item_repr="id", max_epochs=4, patience=10, lr=1e-3, lr_decay=0.5,
                   **SMALL).fit(split.train, split.valid)
    assert [h["lr"] for h in model.history_] == [1e-3, 1e-3, 5e-4, 5e-4]
    assert model.best_epoch_ == 3


def _small_net(masked: bool = False) -> SequenceNet:
    torch.manual_seed(0)
    net = SequenceNet(n_items=300, dim=16, layers=1, heads=2, max_len=12, dropout=0.0,
                      causal=not masked, item_repr="id+text", text_vectors=torch.randn(300, 24))
    net.items.ids.weight.data.normal_(0, 0.3)
    return net


@pytest.mark.parametrize("masked", [False, True])
def test_sampled_loss_building_only_touched_items_equals_the_whole_table_path(masked: bool) -> None:
    """The sampled loss that projects only the batch's items and negatives gives the loss and
    gradients of the same negatives drawn against the whole item table."""
    net = _small_net(masked)
    rows = torch.randint(1, 301, (8, 12))
    rows[:3, :5] = 0  # left padding
    inputs, targets = (rows, rows.masked_fill(torch.rand(rows.shape) > 0.3, 0)) if masked \
        else (rows[:, :-1], rows[:, 1:])
    if masked:
        inputs = inputs.masked_fill(targets > 0, 301)  # the [mask] token
    grads = []
    for touched_only in (True, False):
        net.zero_grad()
        generator = torch.Generator().manual_seed(3)
        if touched_only:
            loss = sampled_sequence_loss(net, inputs, targets, 64, generator)
        else:
            table = net.items.table()
            loss = sequence_loss(net(inputs, table), targets, table, 64, generator)
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in net.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_sampled_loss_estimates_the_full_softmax_loss() -> None:
    """With the log-q correction, many uniform negatives give about the full-catalogue loss (an
    uncorrected sampled softmax would sit far below it)."""
    net = _small_net()
    rows = torch.randint(1, 301, (16, 12))
    with torch.no_grad():
        table = net.items.table()
        hidden = net(rows[:, :-1], table)
        full = float(sequence_loss(hidden, rows[:, 1:], table, None))
        sampled = np.mean([float(sequence_loss(hidden, rows[:, 1:], table, 3000,
                                               torch.Generator().manual_seed(s)))
                           for s in range(5)])
    assert sampled == pytest.approx(full, rel=0.02)


def test_auto_loss_samples_only_large_catalogues() -> None:
    config = SASRec().config
    assert not uses_sampled_softmax(config, 2_420) and not uses_sampled_softmax(config, 1_682)
    assert uses_sampled_softmax(config, 12_101) and uses_sampled_softmax(config, 16_859)
    assert not uses_sampled_softmax(SASRec(loss="full").config, 50_000)
    assert uses_sampled_softmax(SASRec(loss="sampled").config, 100)
