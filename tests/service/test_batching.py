"""Dynamic batching: concurrent requests' shoppers scored in one model call, each request getting
exactly its own row; failures and experiment variants kept apart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from shoprec.bundle import load_bundle
from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.service.batching import ScoreBatcher


class CountingModel:
    """A real fitted model whose `score` calls are recorded (batch sizes)."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, []

    def score(self, histories):
        self.calls.append(len(histories))
        return self.model.score(histories)


def serving_of(model) -> SimpleNamespace:
    return SimpleNamespace(bundle=SimpleNamespace(model=model))


@pytest.fixture(scope="module")
def fitted(slice_bundle: Path):
    bundle = load_bundle(slice_bundle)
    return bundle.model, full_train(bundle.dataset).histories[:40]


def test_concurrent_shoppers_share_model_calls_and_get_their_own_rows(fitted) -> None:
    model, histories = fitted
    counting, sizes = CountingModel(model), []
    batcher = ScoreBatcher(max_batch=16, on_batch=sizes.append)
    serving = serving_of(counting)

    async def main() -> list[np.ndarray]:
        return await asyncio.gather(*(batcher.score(serving, h) for h in histories))

    rows = asyncio.run(main())
    assert counting.calls == [16, 16, 8] and sizes == [16, 16, 8]
    for h, row in zip(histories, rows):
        np.testing.assert_allclose(row, model.score([h])[0], rtol=1e-6, atol=1e-6)


def test_a_lone_request_is_scored_at_once(fitted) -> None:
    model, histories = fitted
    counting = CountingModel(model)
    batcher = ScoreBatcher()

    async def one() -> np.ndarray:
        return await asyncio.wait_for(batcher.score(serving_of(counting), histories[0]), 1.0)

    np.testing.assert_array_equal(asyncio.run(one()), model.score([histories[0]])[0])
    assert counting.calls == [1]


def test_variants_are_scored_apart_and_a_failure_reaches_only_its_requests(fitted) -> None:
    model, histories = fitted

    class Broken:
        def score(self, _histories):
            raise RuntimeError("model file damaged")

    good = CountingModel(model)
    good_serving, bad = serving_of(good), serving_of(Broken())
    batcher = ScoreBatcher()

    async def mixed() -> list:
        return await asyncio.gather(*(batcher.score(good_serving if n % 2 else bad, h)
                                      for n, h in enumerate(histories[:6])),
                                    return_exceptions=True)

    out = asyncio.run(mixed())
    assert [isinstance(r, RuntimeError) for r in out] == [True, False] * 3
    assert good.calls == [3]
    for n in (1, 3, 5):
        np.testing.assert_allclose(out[n], model.score([histories[n]])[0], rtol=1e-6, atol=1e-6)


def test_a_history_the_model_refuses_fails_only_its_own_request(fitted) -> None:
    model, histories = fitted
    outside = History(np.array([model.score(histories[:1]).shape[1] + 5]))  # no such item
    batcher = ScoreBatcher()
    serving = serving_of(model)

    async def main() -> list:
        return await asyncio.gather(*(batcher.score(serving, h)
                                      for h in [histories[0], outside, histories[1]]),
                                    return_exceptions=True)

    first, bad, second = asyncio.run(main())
    assert isinstance(bad, Exception) and "outside" in str(bad)
    np.testing.assert_allclose(first, model.score([histories[0]])[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(second, model.score([histories[1]])[0], rtol=1e-6, atol=1e-6)
