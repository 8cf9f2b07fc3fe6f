"""The catalogue encoded with Ray Data: texts streamed in batches through a pool of actors, each
of which loads the encoder once (loading MiniLM costs seconds, a batch tens of milliseconds).

`RayEncoder` keeps the `Encoder` protocol, so it slots into `item_vectors` and the embedding
cache unchanged: texts already in the cache are read locally and only the misses travel to the
cluster. Its identity is the local encoder's, so a cache filled on the cluster serves a single
process and the other way round.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from shoprec.distributed.cluster import connect


class _EncodeActor:
    """One per Ray actor: the encoder loaded in __init__, reused for every batch it is sent."""

    def __init__(self, name: str | None, backend: str, threads: int) -> None:
        from shoprec.text import get_encoder

        self.encoder = get_encoder(name, threads=threads, backend=backend)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in batch["text"]], batch_size=64)
        return {"row": batch["row"], "vector": np.asarray(vectors, dtype=np.float32)}


class RayEncoder:
    """Encoder protocol over a Ray cluster: `encode` runs Ray Data's map_batches on an actor
    pool of `workers` actors (one CPU and `threads` encoder threads each)."""

    def __init__(self, name: str | None = None, backend: str = "onnx", workers: int = 2,
                 threads: int = 1, batch_size: int = 256, address: str | None = None) -> None:
        from shoprec.text import get_encoder

        local = get_encoder(name, threads=1, backend=backend)  # identity and width only
        self.identity, self.dim = local.identity, local.dim
        self.name, self.backend, self.workers, self.threads = name, backend, workers, threads
        self.batch_size, self.address = batch_size, address

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        import pyarrow as pa

        ray = connect(self.address, num_cpus=self.workers)
        # read straight from an Arrow table: no reading task competes with the actors for CPUs
        # and one block per batch, so every actor of the pool gets work from the start
        ds = ray.data.from_arrow([
            pa.table({"row": np.arange(lo, min(lo + self.batch_size, len(texts)), dtype=np.int64),
                      "text": pa.array(texts[lo:lo + self.batch_size], type=pa.string())})
            for lo in range(0, len(texts), self.batch_size)])
        encoded = ds.map_batches(
            _EncodeActor, fn_constructor_kwargs={"name": self.name, "backend": self.backend,
                                                 "threads": self.threads},
            batch_size=self.batch_size, concurrency=self.workers, num_cpus=1,
            batch_format="numpy")
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            out[batch["row"]] = batch["vector"]
        return out


def encode_catalogue(items: pl.DataFrame, name: str | None = None, backend: str = "onnx",
                     workers: int = 2, cache_dir: Path | None = None,
                     address: str | None = None, batch_size: int = 256) -> np.ndarray:
    """`item_vectors(items)` with the encoding done on the cluster (cache hits read here)."""
    from shoprec.text import item_vectors

    encoder = RayEncoder(name, backend=backend, workers=workers, address=address,
                         batch_size=batch_size)
    return item_vectors(items, encoder=encoder, cache_dir=cache_dir)
