"""Real sources: the prepared Beauty folder, McAuley's raw Amazon files, MovieLens 100K."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.sources import data_dir, load_dataset
from shoprec.data.splits import leave_one_out, temporal


def test_beauty_counts_and_sequences_match_the_published_file(beauty) -> None:
    assert (beauty.n_users, beauty.n_items, beauty.interactions.height) == (22363, 12101, 198502)
    lines = (data_dir() / "amazon_beauty_2014_5core" / "Beauty.txt").read_text().splitlines()
    hist = beauty.histories()
    for line in lines[:300] + lines[-50:]:
        user, *items = line.split()
        u = beauty.user_map.index(user)
        assert [beauty.item_map.ids[i] for i in hist[u]] == items


def test_beauty_leave_one_out_sizes(beauty) -> None:
    split = leave_one_out(beauty)
    assert len(split.valid) == len(split.test) == 22363
    assert sum(len(h) for h in split.train.histories) == 198502 - 2 * 22363


def test_temporal_split_never_sees_the_future(beauty) -> None:
    split = temporal(beauty)
    last_train = max(h.timestamps.max() for h in split.train.histories if len(h))
    assert len(split.valid) > 0 and len(split.test) > 0
    # every target of the test window lies in it: strictly after all training times
    ts = beauty.interactions.select("user", "item", "timestamp")
    u = int(split.test.users[0])
    tgt = set(split.test.targets[0].tolist())
    rows = ts.filter((pl.col("user") == u) & pl.col("item").is_in(list(tgt)))
    assert rows["timestamp"].min() > last_train


def test_movielens_100k(movielens) -> None:
    assert (movielens.n_users, movielens.n_items, movielens.interactions.height) == (943, 1682, 100000)
    assert movielens.interactions["value"].min() == 1.0
    toy = movielens.items.filter(pl.col("item_id") == "1")
    assert toy["title"][0] == "Toy Story (1995)" and "Animation" in toy["category"][0]


def _raw_rows(beauty, users: int = 40) -> list[dict]:
    rows = beauty.interactions.filter(pl.col("user") < users).join(
        beauty.items.select("item_id", "asin"), on="item_id")
    return [{"reviewerID": f"R{r['user_id']}", "asin": r["asin"], "overall": 5.0,
             "unixReviewTime": r["timestamp"], "reviewText": "..."} for r in rows.iter_rows(named=True)]


@pytest.mark.parametrize("release", [2014, 2018])
def test_raw_amazon_files(tmp_path: Path, beauty, release: int) -> None:
    """Files in the layout a user downloads, written from real Beauty rows and titles."""
    reviews = _raw_rows(beauty)
    name = "reviews_Beauty_5.json.gz" if release == 2014 else "Beauty_5.json.gz"
    with gzip.open(tmp_path / name, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in reviews)
    asins = {r["asin"] for r in reviews}
    meta = beauty.items.filter(pl.col("asin").is_in(list(asins)))
    with gzip.open(tmp_path / "meta_Beauty.json.gz", "wt") as fh:
        for row in meta.iter_rows(named=True):
            if release == 2014:  # Python dict literals, categories as a list of paths
                rec = {"asin": row["asin"], "title": row["title"], "price": 9.99,
                       "categories": [["Beauty", "Makeup"]]}
                fh.write(repr(rec) + "\n")
            else:
                rec = {"asin": row["asin"], "title": row["title"], "price": "$9.99",
                       "category": ["Beauty", "Makeup"], "brand": "OPI", "description": ["x"]}
                fh.write(json.dumps(rec) + "\n")
    ds = load_dataset(tmp_path)
    assert ds.interactions.height == len(reviews)
    assert ds.interactions["event"].unique().to_list() == ["rating"]
    item = ds.items.row(0, named=True)
    assert item["category"] == "Beauty > Makeup" and item["price"] == pytest.approx(9.99)
    assert item["title"] == beauty.items.filter(pl.col("asin") == item["item_id"])["title"][0]


def test_prepare_writes_a_folder_every_command_can_read(tmp_path: Path, beauty) -> None:
    from shoprec.data.clean import CleanOptions
    from shoprec.data.dataset import fingerprint
    from shoprec.data.prepare import prepare_dataset

    manifest = prepare_dataset("amazon-beauty", tmp_path / "prep", CleanOptions())
    assert manifest["users"] == 22363 and manifest["fingerprint"] == fingerprint(beauty)
    again = load_dataset(tmp_path / "prep")
    assert fingerprint(again) == fingerprint(beauty)
    assert np.array_equal(again.histories()[5], beauty.histories()[5])
