"""The generic format: what a shop exports, and every way such a file can be wrong."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.clean import CleanOptions
from shoprec.data.errors import DataError
from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out


def _beauty_rows(beauty, users: int = 50) -> pl.DataFrame:
    return beauty.interactions.filter(pl.col("user") < users).select(
        "user_id", "item_id", "timestamp")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl"])
def test_each_table_format_loads_the_same(tmp_path: Path, beauty, fmt: str) -> None:
    rows = _beauty_rows(beauty)
    items = beauty.items.join(rows.select("item_id").unique(), on="item_id", how="semi")
    writers = {"csv": lambda f, p: f.write_csv(p), "tsv": lambda f, p: f.write_csv(p, separator="\t"),
               "parquet": lambda f, p: f.write_parquet(p), "jsonl": lambda f, p: f.write_ndjson(p)}
    writers[fmt](rows, tmp_path / f"interactions.{fmt}")
    writers[fmt](items, tmp_path / f"items.{fmt}")
    ds = load_dataset(tmp_path)
    assert ds.n_users == 50
    assert ds.interactions.height == rows.height
    first = ds.interactions.filter(pl.col("user") == 0)["item_id"].to_list()
    assert first == rows.filter(pl.col("user_id") == rows["user_id"][0])["item_id"].to_list()
    assert ds.items.filter(pl.col("item_id") == first[0])["title"][0] != ""


def test_ids_with_commas_and_unicode_survive(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text(
        'user_id,item_id\n"shopper, 1",口红-红色\n"shopper, 1","lip,gloss"\nü,口红-红色\n',
        encoding="utf-8")
    (tmp_path / "items.csv").write_text(
        'item_id,title\n口红-红色,红色口红\n"lip,gloss","Gloss, pink"\n', encoding="utf-8")
    ds = load_dataset(tmp_path)
    assert ds.user_map.ids == ["shopper, 1", "ü"]
    assert set(ds.item_map.ids) == {"口红-红色", "lip,gloss"}
    assert ds.items.filter(pl.col("item_id") == "lip,gloss")["title"][0] == "Gloss, pink"


def test_numeric_looking_ids_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text("user_id,item_id\n007,0042\n7,42\n")
    ds = load_dataset(tmp_path)
    assert ds.user_map.ids == ["007", "7"] and ds.item_map.ids == ["0042", "42"]


def test_missing_column_names_the_file_and_column(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text("user,item_id\na,b\n")
    with pytest.raises(DataError, match=r"interactions.csv: missing column 'user_id'"):
        load_dataset(tmp_path)


def test_unknown_file_type(tmp_path: Path) -> None:
    (tmp_path / "interactions.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="unknown file type"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("content", ["", "user_id,item_id\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "interactions.csv").write_text(content)
    with pytest.raises(DataError, match="interactions.csv"):
        load_dataset(tmp_path)


def test_bad_timestamp_value_and_event(tmp_path: Path) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text("user_id,item_id,timestamp\na,b,yesterday\n")
    with pytest.raises(DataError, match="timestamp 'yesterday'"):
        load_dataset(tmp_path)
    path.write_text("user_id,item_id,value\na,b,five\n")
    with pytest.raises(DataError, match="'value' has non-numbers"):
        load_dataset(tmp_path)
    path.write_text("user_id,item_id,event\na,b,teleport\n")
    with pytest.raises(DataError, match="unknown event types \\['teleport'\\]"):
        load_dataset(tmp_path)


def test_iso_dates_and_ties_keep_file_order(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_id,timestamp\nu,c,2024-01-02\nu,a,2024-01-01\nu,b,2024-01-01\n")
    ds = load_dataset(tmp_path)
    assert ds.interactions["item_id"].to_list() == ["a", "b", "c"]


def test_without_timestamps_file_order_is_time_order(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text("user_id,item_id\nu,c\nv,x\nu,a\nu,b\n")
    ds = load_dataset(tmp_path)
    assert [list(h) for h in ds.histories()] == [[ds.item_map.index(i) for i in "cab"],
                                                 [ds.item_map.index("x")]]


def test_user_with_one_interaction_is_trained_not_evaluated(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_id\nlonely,a\nu,a\nu,b\nu,c\nu,d\n")
    split = leave_one_out(load_dataset(tmp_path))
    assert split.test.users.tolist() == [1]
    assert split.train.histories[0].items.tolist() == [0]
    assert split.train.histories[1].items.tolist() == [0, 1]


def test_items_without_text_are_kept(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv").write_text("user_id,item_id\nu,a\nu,b\n")
    (tmp_path / "items.csv").write_text("item_id,title\na,Apple\n")
    ds = load_dataset(tmp_path)
    assert ds.item_map.ids == ["a", "b"]
    assert ds.items["title"].to_list() == ["Apple", None]


def test_dedupe_and_iterative_k_core(tmp_path: Path) -> None:
    rows = ["user_id,item_id,timestamp", "u1,a,1", "u1,a,1", "u1,b,2", "u2,a,1", "u2,b,2",
            "u3,a,1", "u3,c,2"]
    (tmp_path / "interactions.csv").write_text("\n".join(rows) + "\n")
    assert load_dataset(tmp_path).interactions.height == 6
    assert load_dataset(tmp_path, CleanOptions(dedupe="none")).interactions.height == 7
    core = load_dataset(tmp_path, CleanOptions(min_user=2, min_item=2))
    # c has one interaction -> dropped; then u3 has one -> dropped; a now has 2, b 2: stable
    assert sorted(core.user_map.ids) == ["u1", "u2"] and sorted(core.item_map.ids) == ["a", "b"]
    with pytest.raises(DataError, match="no interactions left"):
        load_dataset(tmp_path, CleanOptions(min_user=10))


def test_gzipped_csv(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "interactions.csv.gz", "wt") as fh:
        fh.write("user_id,item_id\nu,a\n")
    assert load_dataset(tmp_path).interactions.height == 1


def test_unknown_source_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="not a known data set"):
        load_dataset("no-such-dataset")


def test_histories_are_index_arrays(beauty) -> None:
    h = beauty.histories()
    assert len(h) == beauty.n_users and all(isinstance(x, np.ndarray) for x in h[:3])
