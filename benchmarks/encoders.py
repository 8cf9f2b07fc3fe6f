"""Encoder throughput: sentence-transformers on PyTorch vs ONNX Runtime (fp32 and int8), same threads.

Data: Amazon Beauty 2014 5-core, all 12,101 item texts (titles) built by shoprec.text.build_item_text.
Each backend encodes every title once after a short warm-up; items/s = titles / wall seconds.
Agreement: mean (and minimum) cosine between each ONNX vector and PyTorch's for the same title.
The PyTorch and chosen ONNX vectors are then stored in the embedding cache, so later runs of the
content models reuse them.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/encoders.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from shoprec.data.sources import load_dataset
from shoprec.text import build_item_text, get_encoder
from shoprec.text.cache import EmbeddingCache, default_cache_dir, text_key


def timed(encoder, texts: list[str], batch_size: int) -> tuple[np.ndarray, float]:
    encoder.encode(texts[:64], batch_size=batch_size)  # warm-up: lazy init, allocator
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress=True)
    return vectors, time.perf_counter() - start


def store(encoder, texts: list[str], vectors: np.ndarray) -> None:
    """Put already computed vectors into the cache (what `item_vectors` would have encoded)."""
    cache = EmbeddingCache(default_cache_dir(), encoder.identity, encoder.dim)
    table = cache._load()
    new = {text_key(t): v for t, v in zip(texts, vectors) if text_key(t) not in table}
    if new:
        cache._write_shard(list(new), np.stack(list(new.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="encode only the first N titles")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/encoders.json"))
    args = parser.parse_args()

    ds = load_dataset("amazon-beauty")
    texts = build_item_text(ds.items)[: args.limit]
    tokens = get_encoder("minilm", threads=args.threads).model.tokenizer(texts)["input_ids"]
    mean_tokens = float(np.mean([len(t) for t in tokens]))
    rows, vectors = [], {}
    for backend, batch_size in (("torch", 64), ("onnx-fp32", 32), ("onnx", 32)):
        encoder = get_encoder("minilm", threads=args.threads, backend=backend)
        vectors[backend], seconds = timed(encoder, texts, batch_size)
        store(encoder, texts, vectors[backend])
        rows.append({"backend": backend, "identity": encoder.identity, "batch_size": batch_size,
                     "seconds": round(seconds, 2), "items_per_s": round(len(texts) / seconds, 1)})
    for row in rows:
        cos = (vectors[row["backend"]] * vectors["torch"]).sum(1)
        row["mean_cosine_vs_torch"] = round(float(cos.mean()), 5)
        row["min_cosine_vs_torch"] = round(float(cos.min()), 5)
        row["speedup_vs_torch"] = round(row["items_per_s"] / rows[0]["items_per_s"], 2)

    result = {
        "data": "amazon-beauty 2014 5-core item titles (shoprec.text.build_item_text)",
        "texts": len(texts), "mean_tokens": round(mean_tokens, 1), "threads": args.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
        "command": "SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/encoders.py",
        "note": "shared 2-core machine: other jobs ran at the same time; compare ratios in one run",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    table = Table(title=f"MiniLM-L6 on {len(texts)} Beauty titles, {args.threads} threads "
                        f"(mean {mean_tokens:.1f} tokens)")
    for col in ("backend", "items/s", "x torch", "mean cos", "min cos"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["backend"], f"{r['items_per_s']:.0f}", f"{r['speedup_vs_torch']:.2f}",
                      f"{r['mean_cosine_vs_torch']:.4f}", f"{r['min_cosine_vs_torch']:.4f}")
    Console().print(table)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
