"""A real uvicorn server on loopback, over a bundle trained on a real Beauty slice."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from shoprec.bundle import write_bundle
from shoprec.data.dataset import Dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import MODELS, get_spec
from shoprec.service.app import create_app
from shoprec.service.settings import ServiceSettings

API_KEY = "test-key-123"
#: A history-based model when one is registered, else the popularity baseline.
MODEL = "itemknn" if "itemknn" in MODELS else "popular"


@dataclass
class LiveServer:
    url: str
    app: object
    client: httpx.Client

    @property
    def ctx(self):
        return self.app.state.ctx


def token_of(live: LiveServer, user_id: str) -> dict[str, str]:
    """The header that lets a shopper read their own data and send their events (as the shop's
    page sends it), issued over HTTP as the shop's back end asks for it."""
    r = live.client.post(f"/users/{user_id}/token", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200, r.text
    return {"X-Shopper-Token": r.json()["token"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_slice_bundle(ds: Dataset, out: Path, model: str = MODEL) -> Path:
    spec = get_spec(model)
    params = spec.candidates()[0] if spec.grid else {}
    return write_bundle(out, ds, spec.build(**params).fit(full_train(ds)))


@pytest.fixture(scope="session")
def slice_bundle(beauty_slice: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_slice_bundle(beauty_slice, tmp_path_factory.mktemp("bundles") / "beauty-slice")


def start_server(bundle: Path, settings: ServiceSettings) -> tuple[uvicorn.Server, threading.Thread, LiveServer]:
    app = create_app(bundle, settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           **settings.uvicorn_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    return server, thread, LiveServer(url, app, httpx.Client(base_url=url, timeout=30))


@pytest.fixture(scope="module")
def live(module_database_url, slice_bundle: Path, tmp_path_factory) -> Iterator[LiveServer]:
    """One server per test module and store backend; tests use their own shopper ids."""
    import shutil

    url, schema = module_database_url
    bundle = tmp_path_factory.mktemp("serving") / "bundle"
    shutil.copytree(slice_bundle, bundle)
    settings = ServiceSettings(database_url=url, database_schema=schema, api_key=API_KEY,
                               max_batch_events=200, seed_store=True)
    server, thread, live = start_server(bundle, settings)
    yield live
    live.client.close()
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def content_bundle(beauty_300: Dataset, embedding_cache_dir,
                   tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text-aware (`content`) bundle over 300 real Beauty items and their shoppers."""
    from shoprec.models.content import ContentModel

    ds = beauty_300
    model = ContentModel(cache_dir=str(embedding_cache_dir), threads=2).fit(full_train(ds))
    return write_bundle(tmp_path_factory.mktemp("content") / "bundle", ds, model)


@pytest.fixture(scope="session")
def cn_bundle(amazon_cn: Dataset, embedding_cache_dir,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `content` bundle over the Chinese shop (96 Amazon.cn products) with the defaults: its
    titles are read by the multilingual encoder, chosen from the catalogue's script."""
    from shoprec.models.content import ContentModel

    os.environ.pop("SHOPREC_ENCODER", None)
    model = ContentModel(cache_dir=str(embedding_cache_dir), threads=1).fit(full_train(amazon_cn))
    assert model.encoder_name == "use-multilingual"
    return write_bundle(tmp_path_factory.mktemp("content-cn") / "bundle", amazon_cn, model)


@contextmanager
def serving_copy(bundle: Path, folder: Path, **settings_overrides: object) -> Iterator[LiveServer]:
    """A server over a private copy of `bundle` with a private SQLite store (or the store and
    other settings given)."""
    import shutil

    shutil.copytree(bundle, folder / "bundle")
    settings = ServiceSettings(**{"database_url": f"sqlite:///{folder / 'store.sqlite'}",
                                  "api_key": API_KEY, "seed_store": True} | settings_overrides)
    server, thread, live = start_server(folder / "bundle", settings)
    try:
        yield live
    finally:
        live.client.close()
        server.should_exit = True
        thread.join(timeout=10)
