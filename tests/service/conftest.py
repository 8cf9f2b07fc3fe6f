"""A real server on loopback, over a bundle trained on a real Beauty slice, in one of two modes:

- "in-process": uvicorn in a thread of the test process (`live.ctx` is the server's own context);
- "workers-2": `shoprec serve --workers 2` as deployed, a master and two worker processes
  (`live.ctx` is then a mirror: a context the test process opens over the same bundle folder and
  store, for reading ids and stored rows; it does not see the workers' memory).

Modules whose servers come from `live` or `server_mode` run in both modes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
MODES = ("in-process", "workers-2")
EXE = Path(sys.executable).with_name("shoprec")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the caller's SHOPREC_ settings (data dir kept), search warm-up
    off, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHOPREC_") or k == "SHOPREC_DATA_DIR"}
    return env | {"SHOPREC_SEARCH_WARMUP": "0", "PYTHONUNBUFFERED": "1"} | extra


@dataclass
class LiveServer:
    url: str
    app: object | None
    client: httpx.Client
    mode: str = "in-process"
    settings: ServiceSettings | None = None
    bundle_dir: Path | None = None
    _mirror: object | None = field(default=None, repr=False)

    @property
    def ctx(self):
        """The server's context in process; under `--workers 2` a mirror over the same bundle
        and store (opened on first use, and brought to what serves on disk at each use)."""
        if self.app is not None:
            return self.app.state.ctx
        if self._mirror is None:
            from shoprec.service.context import ServiceContext

            self._mirror = ServiceContext(self.bundle_dir, self.settings.model_copy(
                update={"seed_store": False, "search_warmup": False}))
        self._mirror.state.reload()
        return self._mirror

    @property
    def workers(self) -> int:
        return 1 if self.mode == "in-process" else int(self.mode.removeprefix("workers-"))

    def close(self) -> None:
        self.client.close()
        if self._mirror is not None:
            self._mirror.close()


def token_of(live: LiveServer, user_id: str) -> dict[str, str]:
    """The header that lets a shopper read their own data and send their events (as the shop's
    page sends it), issued over HTTP as the shop's back end asks for it."""
    r = live.client.post(f"/users/{user_id}/token", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200, r.text
    return {"X-Shopper-Token": r.json()["token"]}


def eventually(produce, what: str, timeout: float = 10.0):
    """`produce()`'s first truthy value within `timeout` seconds (a worker's batched writes and
    its reading of other processes' changes land within about a second)."""
    deadline = time.monotonic() + timeout
    while not (found := produce()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def every_worker(live: LiveServer, path: str, tries: int = 12,
                 headers: dict[str, str] | None = None) -> list[httpx.Response]:
    """GET `path` on fresh connections, so that under `--workers N` each worker answers some."""
    return [httpx.get(live.url + path, headers={"Connection": "close"} | (headers or {}),
                      timeout=30)
            for _ in range(tries if live.workers > 1 else 1)]


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
    return server, thread, LiveServer(url, app, httpx.Client(base_url=url, timeout=30),
                                      settings=settings, bundle_dir=Path(bundle))


def settings_env(settings: ServiceSettings) -> dict[str, str]:
    """The SHOPREC_ variables that give `shoprec serve` the settings a test set explicitly."""
    env = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is not None:
            env[f"SHOPREC_{name.upper()}"] = (str(value).lower() if isinstance(value, bool)
                                              else str(value))
    return env


@contextmanager
def prefork_server(bundle: Path, settings: ServiceSettings, workers: int = 2,
                   env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """`shoprec serve BUNDLE --workers N` in its own process group (with `env` added to its
    environment), until every worker answers; stopped with SIGTERM (which must end it within
    the shutdown grace) afterwards."""
    port = free_port()
    log = Path(bundle).with_name(f"serve-{port}.log")
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port),
                             "--workers", str(workers)],
                            env=clean_env(**settings_env(settings), **(env or {})),
                            stdout=subprocess.DEVNULL,
                            stderr=log.open("w"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    live = LiveServer(url, None, httpx.Client(base_url=url, timeout=30), mode=f"workers-{workers}",
                      settings=settings, bundle_dir=Path(bundle))
    try:
        deadline = time.monotonic() + 180
        while len(answering_pids(url)) < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"shoprec serve --workers {workers} did not come up: "
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield live
    finally:
        live.close()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"shoprec serve did not stop within 60 s of SIGTERM: "
                                 f"{log.read_text()[-3000:]}") from None


def answering_pids(url: str, tries: int = 12) -> set[int]:
    """The worker pids that answer /health on fresh connections (the kernel spreads them)."""
    pids = set()
    for _ in range(tries):
        try:
            r = httpx.get(f"{url}/health", headers={"Connection": "close"}, timeout=5)
            pids.add(r.json()["pid"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
    return pids


@contextmanager
def environment(env: dict[str, str] | None) -> Iterator[None]:
    """`env` set in this process's environment until the block ends (then restored)."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def running_server(bundle: Path, settings: ServiceSettings, mode: str = "in-process",
                   env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A server over `bundle` in `mode` (see the module's docstring), with `env` in its
    environment (in process: this process's, while it runs)."""
    if mode == "in-process":
        with environment(env):
            server, thread, live = start_server(bundle, settings)
            try:
                yield live
            finally:
                live.close()
                server.should_exit = True
                thread.join(timeout=10)
    else:
        with prefork_server(bundle, settings, int(mode.removeprefix("workers-")), env) as live:
            yield live


@pytest.fixture(scope="module", params=MODES)
def server_mode(request: pytest.FixtureRequest) -> str:
    """Every test whose server comes from here runs against both (see the module docstring)."""
    return request.param


@pytest.fixture(scope="module")
def live(module_store_backend: str, slice_bundle: Path, tmp_path_factory,
         server_mode: str) -> Iterator[LiveServer]:
    """One server per test module, store backend and mode, each on a store of its own; tests use
    their own shopper ids."""
    import shutil

    from tests.conftest import _database

    folder = tmp_path_factory.mktemp("serving")
    shutil.copytree(slice_bundle, folder / "bundle")
    with _database(module_store_backend, folder) as (url, schema):
        settings = ServiceSettings(database_url=url, database_schema=schema, api_key=API_KEY,
                                   max_batch_events=200, seed_store=True)
        with running_server(folder / "bundle", settings, server_mode) as live:
            yield live


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
def serving_copy(bundle: Path, folder: Path, mode: str = "in-process",
                 env: dict[str, str] | None = None,
                 **settings_overrides: object) -> Iterator[LiveServer]:
    """A server in `mode` over a private copy of `bundle` with a private SQLite store (or the
    store and other settings given), with `env` in its environment."""
    import shutil

    shutil.copytree(bundle, folder / "bundle")
    settings = ServiceSettings(**{"database_url": f"sqlite:///{folder / 'store.sqlite'}",
                                  "api_key": API_KEY, "seed_store": True} | settings_overrides)
    with running_server(folder / "bundle", settings, mode, env) as live:
        yield live
