"""The same sentence-transformers model through ONNX Runtime: the fast CPU path.

On first use the transformer plus its pooling and normalisation is exported with `torch.onnx`
into the cache (one file per model identity), and optionally quantised to int8 weights
(dynamic quantisation, per-channel scales). After that only onnxruntime and tokenizers run: no torch, no
`optimum` (which pins an older transformers and breaks sentence-transformers 6).

ONNX Runtime's worker threads busy-spin by default; beside other processes on a small machine
that costs several times its throughput, so spinning is switched off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from shoprec.text.encoder_tools import default_cache_dir, model_identity, progress_chunks


class OnnxEncoder:
    """Mean- (or CLS-) pooled, L2-normalised sentence vectors from an exported model folder."""

    def __init__(self, path: Path, threads: int = 2, precision: str = "int8",
                 cache_dir: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if precision not in ("fp32", "int8"):
            raise ValueError(f"ONNX precision {precision!r}: expected 'fp32' or 'int8'")
        self.path = Path(path)
        self.threads = threads
        self.precision = precision
        base = model_identity(self.path)
        self.identity = f"{base}-onnx-{precision}" + ("-perchannel" if precision == "int8" else "")
        folder = (cache_dir or default_onnx_dir()) / base
        onnx_file = export_onnx(self.path, folder, quantize=precision == "int8")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_file), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_seq_length(self.path))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)

    def encode(self, texts: list[str], batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        """Texts are batched by length (as sentence-transformers does) so little is padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        label = f"onnx-{self.precision}"
        for start, chunk in progress_chunks(ordered, batch_size, show_progress, label):
            encodings = self.tokenizer.encode_batch(chunk)
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            feed = {k: v for k, v in feed.items() if k in self.input_names}
            out[order[start:start + len(chunk)]] = self.session.run(None, feed)[0]
        return out


def default_onnx_dir() -> Path:
    return default_cache_dir().parent / "onnx"


def max_seq_length(path: Path) -> int:
    config = path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def pooling_mode(path: Path) -> str:
    config = path / "1_Pooling" / "config.json"
    if not config.is_file():
        return "mean"
    settings = json.loads(config.read_text())
    if settings.get("pooling_mode_cls_token"):
        return "cls"
    if settings.get("pooling_mode_mean_tokens", True):
        return "mean"
    raise ValueError(f"{config}: only mean or CLS pooling can run on ONNX; use backend='torch'")


def export_onnx(path: Path, folder: Path, quantize: bool) -> Path:
    """model.onnx (and model.int8.onnx) in `folder`, exported once; written then renamed."""
    fp32 = folder / "model.onnx"
    int8 = folder / "model.int8-perchannel.onnx"
    if not fp32.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".model.{os.getpid()}.onnx"
        _torch_export(path, tmp)
        os.replace(tmp, fp32)
    if not quantize:
        return fp32
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = folder / f".model.int8.{os.getpid()}.onnx"
        # per-channel weight scales: per-tensor int8 drifts to a mean cosine of ~0.96 against
        # PyTorch on product titles, per-channel stays above 0.99 (benchmarks/encoders.py)
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, int8)
    return int8


def _torch_export(path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        """Transformer + pooling + normalisation, so the graph returns sentence vectors."""

        def __init__(self, model: torch.nn.Module, mode: str) -> None:
            super().__init__()
            self.model, self.mode = model, mode

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            if self.mode == "cls":
                pooled = hidden[:, 0]
            else:
                weight = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    wrapped = Pooled(model, pooling_mode(path))
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {"batch": 0, "tokens": 1}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {n: {v: k for k, v in axes.items()} for n in names}
    dynamic["embedding"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(wrapped, (ids, ids, torch.zeros_like(ids)), str(out),
                          input_names=names, output_names=["embedding"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
