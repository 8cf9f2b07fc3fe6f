"""In-process cost of one online request's model work: `score([one history])` per model of the
given bundles, and one search query's encode + index search (the query encoder vs the item
encoder's PyTorch path), as medians over repeated calls.

The service's figures (benchmarks/service.py) include HTTP, the store and the engine; these are
the parts this repository's models, text and index packages own, measured alone so a change in
them shows without the noise of a load test. Histories are random Beauty items (9, the mean
length); queries are the first 2-5 words of random catalogue titles.

    SHOPREC_DATA_DIR=../shared/data HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python benchmarks/online_latency.py BUNDLE [BUNDLE ...]

Writes benchmarks/results/online_latency.json; records the load average (a shared machine
inflates every figure).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import machine, write_result
from rich.console import Console
from rich.table import Table

from shoprec.bundle import load_bundle
from shoprec.data.types import History
from shoprec.index import build_index
from shoprec.text import get_encoder, item_vectors
from shoprec.text.query import query_encoder


def median_us(fn: Callable[[int], object], reps: int) -> float:
    """Median wall time of fn(n) over `reps` calls (after two unmeasured calls), microseconds."""
    fn(0)
    fn(1)
    times = []
    for n in range(reps):
        start = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1e6, 1)


def model_costs(path: Path, reps: int) -> dict[str, float]:
    bundle = load_bundle(path)
    rng = np.random.default_rng(0)
    n = bundle.dataset.n_items
    hs = [History(rng.integers(0, n, size=9).astype(np.int64), np.ones(9, np.float32))
          for _ in range(50)]
    models = {bundle.model.name: bundle.model, **getattr(bundle.model, "models_", {})}
    return {name: median_us(lambda i, m=m: m.score([hs[i % 50]]), reps)
            for name, m in models.items()}


def search_costs(path: Path, reps: int) -> dict[str, float]:
    bundle = load_bundle(path)
    titles = [t for t in bundle.dataset.items["title"].drop_nulls().to_list() if t.strip()]
    rng = random.Random(0)
    queries = [" ".join(t.split()[:rng.randint(2, 5)]) for t in rng.sample(titles, reps + 2)]
    encoder = get_encoder()
    vectors = item_vectors(bundle.dataset.items, encoder)
    index = build_index(vectors)
    start = time.perf_counter()
    fast = query_encoder(encoder)
    made_s = time.perf_counter() - start
    start = time.perf_counter()
    fast.encode_query("first query after warm-up")
    first_ms = (time.perf_counter() - start) * 1000
    return {
        "query_encoder_made_and_warmed_s": round(made_s, 2),
        "first_query_encode_us": round(first_ms * 1000, 1),
        "torch_encode_us": median_us(lambda i: encoder.encode([queries[i]]), min(reps, 100)),
        "onnx_encode_us": median_us(lambda i: fast.encoder.encode([queries[i]]), reps),
        "index_search_us": median_us(lambda i: index.search(vectors[i][None], 10), reps),
        "encode_and_search_us": median_us(
            lambda i: index.search(fast.encode_query(queries[i])[None], 10), reps),
        "cached_query_and_search_us": median_us(
            lambda i: index.search(fast.encode_query(queries[i % 20])[None], 10), reps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", type=Path, nargs="+")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/online_latency.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    scoring = {str(p): model_costs(p, args.reps) for p in args.bundles}
    search = search_costs(args.bundles[0], args.reps)
    result = {"benchmark": "online_latency", "scoring_us": scoring, "search": search,
              "machine": machine(load_before, omp_wait_policy=os.environ.get("OMP_WAIT_POLICY")),
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_result(args.out, result)
    table = Table(title=f"one request's model work, median us (load avg {load_before[0]:.1f})")
    table.add_column("what")
    table.add_column("us", justify="right")
    for path, costs in scoring.items():
        for name, us in costs.items():
            table.add_row(f"{name}.score([1 history]) ({Path(path).name})", f"{us:,.0f}")
    for name, value in search.items():
        table.add_row(name, f"{value:,}")
    Console().print(table)


if __name__ == "__main__":
    main()
