from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import History, TrainData
from shoprec.text import build_item_text, get_encoder
from shoprec.text.finetune import (
    FinetuneConfig,
    StepSchedule,
    batches,
    consecutive_pairs,
    finetune_encoder,
)


def test_pairs_are_consecutive_distinct_items_with_text() -> None:
    items = pl.DataFrame({"item_id": list("abcd"), "title": ["A", "B", None, "D"]})
    data = TrainData([History(np.array([0, 1, 1, 2, 3])), History(np.array([0, 1, 3]))], 4, items)
    pairs = consecutive_pairs(data, build_item_text(items))
    assert pairs.tolist() == [[0, 1], [1, 3]]  # (1,1) repeats, (1,2),(2,3) lack text; deduplicated


def test_batches_never_repeat_an_item() -> None:
    pairs = np.array([[0, 1], [1, 2], [2, 3], [4, 5], [6, 7], [8, 9], [3, 4]])
    batch = next(batches(pairs, 3, np.random.default_rng(0)))
    assert len(set(batch.ravel().tolist())) == 6


def test_schedule_fits_the_time_budget() -> None:
    schedule = StepSchedule(horizon=1000, warmup_fraction=0.1)
    schedule.fit_budget(steps_done=10, seconds_per_step=2.0, seconds_left=180.0)
    assert schedule.horizon == 100  # 10 done + 90 that fit in 3 minutes
    assert schedule(9) == 1.0 * (1 - 9 / 100)  # warm-up over, decaying toward the new end
    assert schedule(99) < 0.05
    schedule.fit_budget(steps_done=20, seconds_per_step=0.1, seconds_left=10_000.0)
    assert schedule.horizon == 1000  # speed recovered: never beyond one pass


@pytest.mark.slow
def test_short_finetune_writes_a_usable_encoder(beauty_300: Dataset, tmp_path: Path) -> None:
    ds = beauty_300
    config = FinetuneConfig(max_steps=3, batch_size=8, train_layers=1, learning_rate=1e-4,
                            device="cpu")
    result = finetune_encoder(leave_one_out(ds).train, tmp_path / "enc", config,
                              show_progress=False)
    assert result.steps == 3 and result.pairs_available > 8
    assert (tmp_path / "enc" / "shoprec_finetune.json").is_file()
    tuned = get_encoder(str(tmp_path / "enc"))
    base = get_encoder("minilm", threads=2)
    assert tuned.identity != base.identity and tuned.dim == 384
    text = ["OPI Nail Lacquer, Big Apple Red"]
    v, w = tuned.encode(text), base.encode(text)
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, atol=1e-5)
    assert 0.9 < float(v[0] @ w[0]) < 0.99999  # changed, but not destroyed
    # a model using the tuned encoder carries it in its own folder (bundles are self-contained)
    from shoprec.models.content import ContentModel

    model = ContentModel(encoder=str(tmp_path / "enc"), cache_dir=str(tmp_path / "cache"))
    model.fit(leave_one_out(ds).train).save(tmp_path / "model")
    loaded = ContentModel.load(tmp_path / "model")
    assert (tmp_path / "model" / "encoder" / "model.safetensors").is_file()
    assert loaded.get_encoder().identity == tuned.identity
    np.testing.assert_allclose(loaded.vectors_, model.vectors_)
