"""Encoder throughput: sentence-transformers on PyTorch vs ONNX Runtime (fp32 and int8), same threads.

Data: Amazon Beauty 2014 5-core, all 12,101 item texts (titles) built by shoprec.text.build_item_text.
Each backend encodes every title once after a short warm-up, in interleaved slices (every backend
on slice 1, then on slice 2, ...) so that load from other processes falls on all of them alike;
items/s = titles / wall seconds, items/cpu-s = titles / process CPU seconds.
Agreement: mean (and minimum) cosine between each ONNX vector and PyTorch's for the same title.
The PyTorch and chosen ONNX vectors are then stored in the embedding cache, so later runs of the
content models reuse them.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python benchmarks/encoders.py
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.data.sources import load_dataset
from shoprec.text import build_item_text, get_encoder
from shoprec.text.cache import EmbeddingCache, default_cache_dir, text_key


def interleaved(encoders: dict, texts: list[str], batch_sizes: dict, rounds: int,
                ) -> tuple[dict, dict, dict]:
    """Encode the titles in `rounds` slices, every backend on each slice in turn, so load from
    other processes on a shared machine falls on all backends alike. Returns vectors, wall
    seconds and process CPU seconds per backend."""
    for name, encoder in encoders.items():
        encoder.encode(texts[:64], batch_size=batch_sizes[name])  # warm-up: lazy init, allocator
    vectors = {n: np.zeros((len(texts), e.dim), np.float32) for n, e in encoders.items()}
    wall = dict.fromkeys(encoders, 0.0)
    cpu = dict.fromkeys(encoders, 0.0)
    bounds = np.linspace(0, len(texts), rounds + 1).astype(int)
    for r, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        for name, encoder in encoders.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            vectors[name][lo:hi] = encoder.encode(texts[lo:hi], batch_size=batch_sizes[name])
            wall[name] += time.perf_counter() - wall_start
            cpu[name] += time.process_time() - cpu_start
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {hi / wall[n]:.0f} items/s" for n in encoders), flush=True)
    return vectors, wall, cpu


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
    parser.add_argument("--rounds", type=int, default=12, help="interleaved slices")
    parser.add_argument("--limit", type=int, default=None, help="encode only the first N titles")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/encoders.json"))
    args = parser.parse_args()

    ds = load_dataset("amazon-beauty")
    texts = build_item_text(ds.items)[: args.limit]
    tokens = get_encoder("minilm", threads=args.threads).model.tokenizer(texts)["input_ids"]
    mean_tokens = float(np.mean([len(t) for t in tokens]))
    batch_sizes = {"torch": 64, "onnx-fp32": 32, "onnx": 32}
    encoders = {b: get_encoder("minilm", threads=args.threads, backend=b) for b in batch_sizes}
    vectors, wall, cpu = interleaved(encoders, texts, batch_sizes, args.rounds)
    rows = []
    for backend, encoder in encoders.items():
        store(encoder, texts, vectors[backend])
        rows.append({"backend": backend, "identity": encoder.identity,
                     "batch_size": batch_sizes[backend], "seconds": round(wall[backend], 2),
                     "items_per_s": round(len(texts) / wall[backend], 1),
                     "cpu_seconds": round(cpu[backend], 2),
                     "items_per_cpu_s": round(len(texts) / cpu[backend], 1)})
    for row in rows:
        cos = (vectors[row["backend"]] * vectors["torch"]).sum(1)
        row["mean_cosine_vs_torch"] = round(float(cos.mean()), 5)
        row["min_cosine_vs_torch"] = round(float(cos.min()), 5)
        row["speedup_vs_torch"] = round(row["items_per_s"] / rows[0]["items_per_s"], 2)
        row["cpu_speedup_vs_torch"] = round(row["items_per_cpu_s"] / rows[0]["items_per_cpu_s"], 2)

    result = {
        "data": "amazon-beauty 2014 5-core item titles (shoprec.text.build_item_text)",
        "texts": len(texts), "mean_tokens": round(mean_tokens, 1), "threads": args.threads,
        "machine": machine(),
        "command": "SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/encoders.py"
                   f" --threads {args.threads} --rounds {args.rounds}"
                   + (f" --limit {args.limit}" if args.limit else ""),
        "note": "shared 2-core machine with other jobs running: backends were timed on the same "
                "slices in turn (interleaved rounds) so load falls on all alike; items per CPU "
                "second is the work each backend needs, independent of waiting for a core",
        "rows": rows,
    }
    write_result(args.out, result)
    table = Table(title=f"MiniLM-L6 on {len(texts)} Beauty titles, {args.threads} threads "
                        f"(mean {mean_tokens:.1f} tokens)")
    for col in ("backend", "items/s", "x torch", "items/cpu-s", "x torch (cpu)", "mean cos",
                "min cos"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["backend"], f"{r['items_per_s']:.0f}", f"{r['speedup_vs_torch']:.2f}",
                      f"{r['items_per_cpu_s']:.0f}", f"{r['cpu_speedup_vs_torch']:.2f}",
                      f"{r['mean_cosine_vs_torch']:.4f}", f"{r['min_cosine_vs_torch']:.4f}")
    Console().print(table)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
