"""The query encoder for online search: same space as the item encoder, one thread, recent
queries kept, and a slow path that still answers when ONNX cannot."""

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.text import build_item_text
from shoprec.text import query as query_module
from shoprec.text.onnx_encoder import OnnxEncoder
from shoprec.text.query import QueryEncoder, query_encoder


@pytest.fixture(scope="module")
def fast(text_encoder, tmp_path_factory: pytest.TempPathFactory) -> QueryEncoder:
    return query_encoder(text_encoder, onnx_dir=tmp_path_factory.mktemp("onnx"))


@pytest.mark.slow
def test_queries_land_in_the_item_encoders_space(fast: QueryEncoder, text_encoder,
                                                 beauty_items_300: pl.DataFrame) -> None:
    assert isinstance(fast.encoder, OnnxEncoder)
    assert fast.encoder.threads == 1 and fast.encoder.precision == "fp32"
    assert fast.dim == text_encoder.dim
    titles = [" ".join(t.split()[:4]) for t in build_item_text(beauty_items_300)[:40]]
    ours = np.stack([fast.encode_query(t) for t in titles])
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float((ours * text_encoder.encode(titles)).sum(1).min()) > 0.9999


@pytest.mark.slow
def test_recent_queries_are_kept_and_shared_read_only(fast: QueryEncoder) -> None:
    hits = fast.cache_info()[0]
    a = fast.encode_query("red nail polish")
    b = fast.encode_query("  red nail polish ")
    assert b is a and fast.cache_info()[0] == hits + 1
    with pytest.raises(ValueError):
        a[0] = 1.0  # a cached vector cannot be changed by one request for the others
    batch = fast.encode(["red nail polish"])  # the Encoder protocol: a writable copy
    assert batch.shape == (1, fast.dim) and batch.flags.writeable
    np.testing.assert_array_equal(batch[0], a)
    two = fast.encode(["red nail polish", "vanilla body lotion"])
    assert two.shape == (2, fast.dim)


class FakeEncoder:
    """A NumPy-only encoder (as the multilingual USE is): used as it is."""

    identity, dim = "fake", 3

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        return np.tile(np.array([[1.0, 0.0, 0.0]], np.float32), (len(texts), 1))


def test_other_encoders_are_used_as_they_are_and_warmed() -> None:
    fake = FakeEncoder()
    encoder = query_encoder(fake)
    assert encoder.encoder is fake and fake.calls == 1  # the warm-up query
    encoder.encode_query("x")
    encoder.encode_query("x")
    assert fake.calls == 2


def test_a_failing_onnx_path_falls_back_to_the_item_encoder(
        text_encoder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(path: Path, precision: str, onnx_dir: Path | None) -> None:
        raise RuntimeError("no onnxruntime here")

    monkeypatch.setattr(query_module, "single_thread_onnx", broken)
    with caplog.at_level(logging.WARNING):
        encoder = query_encoder(text_encoder, warm=False)
    assert encoder.encoder is text_encoder and "no onnxruntime here" in caplog.text
