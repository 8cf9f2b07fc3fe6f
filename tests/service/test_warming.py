"""A server answers before its search index is built (issue 24: `make demo`'s first page within
60 s of a first-ever run, when encoding Beauty's catalogue for search takes ~90 s).

The test holds the embedding cache's encoding lock, as another process encoding the same
catalogue would, so the server's warm-up (the real MiniLM encoder, real Beauty titles, an empty
cache) cannot finish until the test lets it: meanwhile the page and recommendations answer 200
and /search a bounded 503 with Retry-After; once released, /search answers 200. Under
`--workers 2` both workers listen while the lock is held and the catalogue is encoded once.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from shoprec.data.dataset import Dataset
from shoprec.text import EmbeddingCache, default_cache_dir
from tests.service.conftest import eventually, every_worker, serving_copy, write_slice_bundle

QUERY = "/search?q=red+nail+polish&k=5"


@pytest.fixture(scope="module")
def knn_300(beauty_300: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An item-kNN bundle (its search encodes the catalogue) over 300 real Beauty items."""
    return write_slice_bundle(beauty_300, tmp_path_factory.mktemp("warming") / "knn-300")


@pytest.fixture()
def cold_cache(tmp_path: Path) -> Path:
    """An empty embedding cache; the query encoder's ONNX export is read from the usual place
    (exporting it again would only slow the test down)."""
    root = tmp_path / "cache"
    root.mkdir()
    onnx = default_cache_dir().parent / "onnx"
    if onnx.is_dir():
        (root / "onnx").symlink_to(onnx)
    return root


def test_serves_while_the_search_index_is_built(knn_300: Path, cold_cache: Path, text_encoder,
                                                server_mode: str, tmp_path: Path) -> None:
    cache = EmbeddingCache(cold_cache / "embeddings", text_encoder.identity, text_encoder.dim)
    env = {"SHOPREC_CACHE_DIR": str(cold_cache)}
    with ExitStack() as lock:
        lock.enter_context(cache.encoding_lock())  # the warm-up waits here until lock.close()
        with serving_copy(knn_300, tmp_path, server_mode, env, search_warmup=True,
                          search_wait_s=0.3) as live:  # every worker listens meanwhile
            shopper = live.ctx.serving.bundle.dataset.user_map.ids[0]
            assert {r.json()["search_index"] for r in every_worker(live, "/health")} == {
                "building"}
            assert live.client.get("/").status_code == 200
            recs = live.client.get(f"/recommendations/{shopper}", params={"k": 5})
            assert recs.status_code == 200 and recs.json()["items"], recs.text
            for r in every_worker(live, QUERY):
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                assert r.json() == {"error": "the search index is being built; try again in 5 s"}
            t = time.perf_counter()
            chat = live.client.post("/chat", json={"message": "a gift for my sister"})
            assert chat.status_code == 503 and chat.headers["Retry-After"] == "5", chat.text
            assert time.perf_counter() - t < 3  # a bounded wait (0.3 s here), not the encoding

            lock.close()  # the warm-up encodes the catalogue now
            eventually(lambda: {r.json()["search_index"] for r in every_worker(live, "/health")}
                       == {"ready"}, "every worker's search index", timeout=90)
            for r in every_worker(live, QUERY):
                assert r.status_code == 200 and len(r.json()["items"]) == 5, r.text
            assert live.client.post("/chat", json={"message": "red nail polish"}
                                    ).status_code == 200
    assert len(list(cache.folder.glob("keys-*.npy"))) == 1  # one process encoded the catalogue
