"""Approximate (FAISS HNSW) vs exact (NumPy) nearest-neighbour search at 100k item vectors.

Two sets of 100,000 unit vectors of dimension 384 (MiniLM's):
  real+perturbed: Beauty's 12,101 real MiniLM title vectors plus 87,899 made by adding Gaussian
                  noise to randomly drawn real ones (a larger catalogue with the same structure);
                  queries are 1,000 further perturbed real vectors.
  real+random:    11,101 real title vectors plus 88,899 i.i.d. random directions (distractors);
                  queries are the 1,000 held-out real title vectors.
  random:         i.i.d. Gaussian directions (the hardest case for any ANN: no structure, every
                  neighbour almost equally far); queries are 1,000 more of them.
recall@10 = share of the exact top-10 that HNSW returns. Latency: one query at a time on one
thread (the online case), median and 95th percentile; exact search on the same thread count.

    SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/ann.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import machine, write_result
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from shoprec.data.sources import load_dataset
from shoprec.index import ExactIndex, HnswIndex
from shoprec.text import get_encoder, item_vectors

SETS = ["real+perturbed", "real+random", "random"]


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def real_vectors() -> np.ndarray:
    real = item_vectors(load_dataset("amazon-beauty").items, get_encoder("minilm"))
    return real[np.linalg.norm(real, axis=1) > 0]


def real_plus_random(n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    real = real_vectors()
    real = real[rng.permutation(len(real))]
    held_out, kept = real[:queries], real[queries:]
    random = unit(rng.normal(size=(n - len(kept), real.shape[1])))
    return np.concatenate([kept, random]), held_out


def real_plus_perturbed(n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    real = real_vectors()
    noise = 0.6 / np.sqrt(real.shape[1])  # per-coordinate noise; cosine to the source ~0.85

    def perturbed(count: int) -> np.ndarray:
        src = real[rng.integers(len(real), size=count)]
        return unit(src + noise * rng.normal(size=src.shape))

    return np.concatenate([real, perturbed(n - len(real))]), perturbed(queries)


def latency_ms(search, queries: np.ndarray, repeats: int = 300) -> tuple[float, float]:
    times = []
    for q in queries[:repeats]:
        start = time.perf_counter()
        search(q[None, :])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def measure(name: str, vectors: np.ndarray, queries: np.ndarray, efs: list[int]) -> list[dict]:
    exact = ExactIndex(vectors)
    with threadpool_limits(1):
        truth, _ = exact.search(queries, 10)
        exact_p50, exact_p95 = latency_ms(lambda q: exact.search(q, 10), queries)
    start = time.perf_counter()
    hnsw = HnswIndex(vectors, threads=2)
    build_s = time.perf_counter() - start
    hnsw.threads = 1
    rows = [{"data": name, "index": "exact (numpy)", "ef_search": None, "recall@10": 1.0,
             "p50_ms": round(exact_p50, 3), "p95_ms": round(exact_p95, 3), "build_s": 0.0}]
    for ef in efs:
        hnsw.ef_search = ef
        found, _ = hnsw.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
        p50, p95 = latency_ms(lambda q: hnsw.search(q, 10), queries)
        rows.append({"data": name, "index": "hnsw (faiss, M=32)", "ef_search": ef,
                     "recall@10": round(float(recall), 4), "p50_ms": round(p50, 3),
                     "p95_ms": round(p95, 3), "build_s": round(build_s, 1)})
    hnsw.ef_search, hnsw.threads = efs[1], 2
    p50_two, _ = latency_ms(lambda q: hnsw.search(q, 10), queries)
    rows.append({"data": name, "index": "hnsw, 2 OpenMP threads", "ef_search": efs[1],
                 "recall@10": rows[2]["recall@10"], "p50_ms": round(p50_two, 3), "p95_ms": None,
                 "build_s": None})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ann.json"))
    args = parser.parse_args()
    efs = [32, 96, 256, 512]
    rows = []
    if args.out.is_file():  # keep the sets not measured in this run
        rows = [r for r in json.loads(args.out.read_text())["rows"] if r["data"] not in args.sets]
    for name in args.sets:
        rng = np.random.default_rng(0)
        if name == "random":
            random = unit(rng.normal(size=(args.n + args.queries, 384)))
            vectors, queries = random[: args.n], random[args.n:]
        else:
            make = real_plus_perturbed if name == "real+perturbed" else real_plus_random
            vectors, queries = make(args.n, args.queries, rng)
        rows += measure(name, vectors, queries, efs)
    result = {"n": args.n, "dim": 384, "queries": args.queries, "rows": rows,
              "machine": machine(),
              "command": "SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python "
                         "benchmarks/ann.py"}
    write_result(args.out, result)
    table = Table(title=f"top-10 search over {args.n:,} vectors, one query at a time, 1 thread")
    for col in ("data", "index", "ef_search", "recall@10", "p50 ms", "p95 ms", "build s"):
        table.add_column(col, justify="left" if col in ("data", "index") else "right")
    for r in rows:
        table.add_row(r["data"], r["index"], str(r["ef_search"] or "-"), f"{r['recall@10']:.3f}",
                      f"{r['p50_ms']:.2f}", "-" if r["p95_ms"] is None else f"{r['p95_ms']:.2f}",
                      "-" if r["build_s"] is None else f"{r['build_s']:.1f}")
    Console().print(table)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
