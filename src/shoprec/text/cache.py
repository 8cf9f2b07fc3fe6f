"""On-disk embedding cache keyed by encoder identity and text hash, and `item_vectors`.

Re-running on an unchanged catalogue encodes nothing; one changed item re-encodes one item.
Each encoder identity has its own folder of shards (`keys-*.npy` with 16-byte text digests beside
`vectors-*.npy`). New vectors go into a new shard written to a temporary name and renamed, so
concurrent processes never see half a shard and never overwrite each other's work; many small
shards are merged into one when they pile up.

Encoding a large batch of missing texts takes the folder's encoding lock (flock) and looks again
once it holds it: `shoprec serve --workers N` on a cold cache starts every worker's search
warm-up over the same catalogue, and on a 2-core machine two MiniLM passes over Beauty's 12,101
titles side by side take twice as long as one; the others wait and then read what the first
wrote. Small batches (one new item) do not wait behind a whole catalogue: repeating them is cheap.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from shoprec.text.encoder_tools import default_cache_dir
from shoprec.text.encoders import Encoder, get_encoder
from shoprec.text.item_text import ItemTextTemplate, build_item_text

MAX_SHARDS = 16
#: Fewest missing texts whose encoding waits for (and holds) the folder's encoding lock.
LOCK_AT = 64


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """The vectors one encoder has produced so far, by text digest."""

    def __init__(self, root: Path, identity: str, dim: int) -> None:
        self.folder = Path(root) / _safe(identity)
        self.dim = dim
        self.encoded_last = 0  # how many texts the last `vectors` call had to encode

    def _load(self) -> dict[bytes, np.ndarray]:
        table: dict[bytes, np.ndarray] = {}
        for keys_file in sorted(self.folder.glob("keys-*.npy")):
            vec_file = keys_file.with_name(keys_file.name.replace("keys-", "vectors-", 1))
            if not vec_file.is_file():
                continue  # a shard still being written by another process
            try:
                keys = np.load(keys_file)
                vectors = np.load(vec_file, mmap_mode="r")
            except (FileNotFoundError, ValueError):
                continue  # merged away by another process meanwhile; its rows are in the merge
            if keys.ndim != 2 or vectors.shape != (len(keys), self.dim):
                continue  # written by an encoder of another size under the same name: ignore
            for k, v in zip(keys, vectors):
                table[k.tobytes()] = v
        return table

    def vectors(self, texts: list[str], encoder: Encoder, batch_size: int = 64,
                show_progress: bool = False) -> np.ndarray:
        """Vectors of `texts`, encoding only those not cached and storing them."""
        keys = [text_key(t) for t in texts]
        table = self._load()
        missing = list(dict.fromkeys(k for k in keys if k not in table))
        if len(missing) >= LOCK_AT:
            with self.encoding_lock():  # another process may have encoded them meanwhile
                table = self._load()
                missing = list(dict.fromkeys(k for k in keys if k not in table))
                self._encode(keys, texts, missing, table, encoder, batch_size, show_progress)
        else:
            self._encode(keys, texts, missing, table, encoder, batch_size, show_progress)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, k in enumerate(keys):
            out[row] = table[k]
        return out

    @contextmanager
    def encoding_lock(self) -> Iterator[None]:
        """Held (across processes, with flock) by whoever encodes a large batch into this folder;
        released by the kernel should the holder die."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".encoding.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _encode(self, keys: list[bytes], texts: list[str], missing: list[bytes],
                table: dict[bytes, np.ndarray], encoder: Encoder, batch_size: int,
                show_progress: bool) -> None:
        """Encode the `missing` digests' texts into `table` and a new shard."""
        self.encoded_last = len(missing)
        if not missing:
            return
        first_text: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            first_text.setdefault(k, t)
        fresh = encoder.encode([first_text[k] for k in missing], batch_size=batch_size,
                               show_progress=show_progress)
        self._write_shard(missing, fresh)
        table.update(zip(missing, fresh))

    def _write_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shards = list(self.folder.glob("keys-*.npy"))
        if len(shards) >= MAX_SHARDS:
            table = self._load()
            table.update(zip(keys, vectors))
            keys, vectors = list(table), np.stack(list(table.values()))
        name = uuid.uuid4().hex
        # (n, 16) uint8, not "S16": numpy's bytes type drops trailing zero bytes of a digest
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
        _atomic_save(self.folder / f"vectors-{name}.npy", np.asarray(vectors, np.float32))
        _atomic_save(self.folder / f"keys-{name}.npy", key_array)
        if len(shards) >= MAX_SHARDS:
            for old in shards:
                old.with_name(old.name.replace("keys-", "vectors-", 1)).unlink(missing_ok=True)
                old.unlink(missing_ok=True)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def _safe(identity: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in identity)


def item_vectors(
    items: pl.DataFrame, encoder: Encoder | None = None, cache_dir: Path | None = None,
    template: ItemTextTemplate | None = None, show_progress: bool = False,
) -> np.ndarray:
    """(n_items, dim) float32: unit rows for items with text, all-zero rows for items with none.

    A zero row scores 0 against every query, so an item with no text is neither close to nor far
    from anything, instead of looking like every other text-less item.
    """
    encoder = encoder or get_encoder()
    texts = build_item_text(items, template)
    cache = EmbeddingCache(cache_dir or default_cache_dir(), encoder.identity, encoder.dim)
    vectors = cache.vectors(texts, encoder, show_progress=show_progress)
    empty = np.fromiter((not t for t in texts), dtype=bool, count=len(texts))
    vectors[empty] = 0.0
    return vectors
