"""Resolve a data source (a known data set name or a path) and load it as a `Dataset`.

Named data sets live under `SHOPREC_DATA_DIR`, else in the cache `shoprec fetch-data` fills
(verified copies of their public sources, see `fetch.py`); any other argument is a path to a
generic-format folder, a prepared folder (written by `shoprec prepare`), a MovieLens 100K folder,
a prepared Amazon Beauty folder, or a folder with McAuley's raw Amazon review files.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from shoprec.data.clean import CleanOptions, clean
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.errors import DataError
from shoprec.data.published import cache_data_dir, how_to_get
from shoprec.data.readers.amazon import find_raw_amazon, read_raw_amazon
from shoprec.data.readers.beauty import is_prepared_beauty, read_prepared_beauty
from shoprec.data.readers.generic import read_generic
from shoprec.data.readers.movielens import is_movielens_100k, read_movielens_100k

#: Data set names and their folder under `data_dir()`.
NAMED: dict[str, str] = {
    "amazon-beauty": "amazon_beauty_2014_5core",
    "movielens-100k": "movielens_100k",
    "amazon-games": "amazon_games_2018/derived",
    "amazon-office": "amazon_office_2014/derived",
    "amazon-cn": "amazon_cn_sample/derived",
}


def data_dir() -> Path:
    """SHOPREC_DATA_DIR when set (a local copy always wins), else the fetch cache's data folder."""
    local = os.environ.get("SHOPREC_DATA_DIR")
    return Path(local).expanduser() if local else cache_data_dir()


def resolve(source: str | Path) -> Path:
    """Folder of a named data set or the given path; a clear error when neither exists."""
    if str(source) in NAMED:
        path = data_dir() / NAMED[str(source)]
        if not path.exists():
            raise DataError(how_to_get(str(source), path))
        return path
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{source}: no such file or folder, and not a known data set "
                        f"({', '.join(NAMED)})")
    return path


def read_source(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, interactions) of whatever format `path` holds."""
    if path.is_dir() and is_prepared_beauty(path):
        return read_prepared_beauty(path)
    if path.is_dir() and is_movielens_100k(path):
        return read_movielens_100k(path)
    raw = find_raw_amazon(path)
    if raw is not None:
        return read_raw_amazon(*raw)
    return read_generic(path)


def load_dataset(source: str | Path, options: CleanOptions | None = None) -> Dataset:
    path = resolve(source)
    items, interactions = read_source(path)
    options = options or CleanOptions()
    interactions = clean(interactions, options, str(path))
    if options.min_user > 1 or options.min_item > 1:  # k-core defines the item set too
        items = items.join(interactions.select("item_id").unique(), on="item_id", how="semi")
    name = str(source) if str(source) in NAMED else path.name
    return build_dataset(items, interactions, name=name)
