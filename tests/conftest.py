"""Shared fixtures: real data slices from SHOPREC_DATA_DIR (set by `make test`) or the cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.sources import NAMED, data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _require(name: str) -> Path:
    """The folder of data set `name`; a missing one fails the test (an honest suite never skips
    real-data tests silently)."""
    from shoprec.data.published import how_to_get, missing_files

    path = data_dir() / NAMED[name]
    missing = missing_files(name, data_dir())
    if missing:
        partly = f" (missing: {', '.join(missing)})" if path.exists() else ""
        pytest.fail(how_to_get(name, path) + partly, pytrace=False)
    return path


@pytest.fixture(scope="session")
def beauty() -> Dataset:
    """The full Amazon Beauty 2014 5-core data set (loads in about a second)."""
    from shoprec.data.sources import load_dataset

    _require("amazon-beauty")
    return load_dataset("amazon-beauty")


@pytest.fixture(scope="session")
def beauty_slice(beauty: Dataset) -> Dataset:
    """The first 2,000 Beauty shoppers with their full histories (a small real slice)."""
    import polars as pl

    from shoprec.data.dataset import build_dataset

    inter = beauty.interactions.filter(pl.col("user") < 2000).drop("user", "item")
    items = beauty.items.join(inter.select("item_id").unique(), on="item_id", how="semi")
    return build_dataset(items, inter, name="beauty-slice")


@pytest.fixture(scope="session")
def movielens() -> Dataset:
    from shoprec.data.sources import load_dataset

    _require("movielens-100k")
    return load_dataset("movielens-100k")


@pytest.fixture(scope="session")
def amazon_cn() -> Dataset:
    """The Amazon.cn sample: 96 products with Chinese titles and category paths (a Chinese
    shop), 8,923 shoppers, 44,852 ratings."""
    from shoprec.data.sources import load_dataset

    _require("amazon-cn")
    return load_dataset("amazon-cn")


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """A fresh, empty store on `backend`: (url, schema or None).

    PostgreSQL is real (SHOPREC_TEST_DATABASE_URL, default the local server that
    scripts/test-services.sh starts); each use gets its own schema, dropped afterwards, so
    test runs never see each other's rows.
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'store.sqlite'}", None
        return
    import uuid

    import sqlalchemy as sa

    url = os.environ.get("SHOPREC_TEST_DATABASE_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"shoprec_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {url} does not answer ({exc.orig}); "
                    "run `bash scripts/test-services.sh` (make test does) or set "
                    "SHOPREC_TEST_DATABASE_URL")
    try:
        yield url, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """An empty store per test, on SQLite and on PostgreSQL."""
    with _database(request.param, tmp_path) as db:
        yield db


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_backend(request: pytest.FixtureRequest) -> str:
    """The store backend of one test module's fixtures: SQLite, then PostgreSQL."""
    return request.param


@pytest.fixture(scope="module")
def module_database_url(module_store_backend: str, tmp_path_factory: pytest.TempPathFactory
                        ) -> Iterator[tuple[str, str | None]]:
    """An empty store shared by one test module, on SQLite and on PostgreSQL."""
    with _database(module_store_backend, tmp_path_factory.mktemp("db")) as db:
        yield db


@pytest.fixture(scope="session")
def text_encoder():
    """The default MiniLM encoder, loaded once from the installed package (no download)."""
    from shoprec.text import get_encoder

    return get_encoder("minilm", threads=2)


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedding cache private to this test session (tests never touch the user's cache)."""
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="session")
def beauty_items_300(beauty: Dataset):
    """The first 300 real Beauty catalogue rows (OPI nail polish, BB creams, brushes, ...)."""
    return beauty.items.head(300)


@pytest.fixture(scope="session")
def beauty_300(beauty: Dataset, beauty_items_300):
    """Real Beauty shoppers restricted to the first 300 catalogue items (text encodes quickly)."""
    from shoprec.data.dataset import build_dataset

    inter = beauty.interactions.join(beauty_items_300.select("item_id"), on="item_id", how="semi")
    return build_dataset(beauty_items_300, inter.drop("user", "item"), name="beauty-300")


@pytest.fixture(scope="session")
def beauty_top500(beauty: Dataset) -> Dataset:
    """Beauty's 500 most reviewed items and the shoppers with 3+ of them (6,113 shoppers,
    38,400 interactions): dense enough for a small transformer to learn what follows what."""
    from tests.support.slices import most_reviewed

    return most_reviewed(beauty, 500)


@pytest.fixture(scope="session")
def chinese_bundle(amazon_cn: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An item-kNN bundle on the Chinese shop (its search and chat read the multilingual encoder,
    chosen from the catalogue's script)."""
    from shoprec.bundle import write_bundle
    from shoprec.data.splits import full_train
    from shoprec.models.itemknn import ItemKNN

    os.environ.pop("SHOPREC_ENCODER", None)
    model = ItemKNN().fit(full_train(amazon_cn))
    return write_bundle(tmp_path_factory.mktemp("chinese") / "bundle", amazon_cn, model)
