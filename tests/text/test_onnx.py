from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.text import build_item_text
from shoprec.text.encoders import resolve_model_path
from shoprec.text.onnx_encoder import OnnxEncoder


@pytest.mark.slow
def test_onnx_agrees_with_torch_on_real_titles(text_encoder, beauty_items_300: pl.DataFrame,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    export_dir: Path = tmp_path_factory.mktemp("onnx")
    texts = build_item_text(beauty_items_300)[:120]
    reference = text_encoder.encode(texts)
    int8 = OnnxEncoder(resolve_model_path("minilm"), threads=2, precision="int8",
                       cache_dir=export_dir)
    fp32 = OnnxEncoder(resolve_model_path("minilm"), threads=2, precision="fp32",
                       cache_dir=export_dir)
    assert int8.identity != fp32.identity != text_encoder.identity  # never share cached vectors
    v8, v32 = int8.encode(texts), fp32.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(v8, axis=1), 1.0, atol=1e-5)
    assert float((v32 * reference).sum(1).min()) > 0.9999
    assert float((v8 * reference).sum(1).mean()) >= 0.99
    # exported once: a second encoder reuses the files
    files = sorted(p.name for p in export_dir.rglob("*.onnx"))
    assert files == ["model.int8-perchannel.onnx", "model.onnx"]
