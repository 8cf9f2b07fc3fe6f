"""After a shopper is deleted, a bundle retrained from the remaining data holds no trace of them
and every other shopper's data is exactly as before."""

import json

import polars as pl
from polars.testing import assert_frame_equal

from shoprec.bundle import write_bundle
from shoprec.data.dataset import build_dataset
from shoprec.data.splits import full_train
from shoprec.models.itemknn import ItemKNN
from shoprec.privacy.traces import find_user_traces


def test_retrained_bundle_has_no_trace_of_a_deleted_shopper(beauty_slice, tmp_path) -> None:
    user, neighbour = beauty_slice.user_map.ids[17], beauty_slice.user_map.ids[18]
    model = ItemKNN().fit(full_train(beauty_slice))
    before = write_bundle(tmp_path / "before", beauty_slice, model)
    # the check finds a shopper who is there: the deleted one and a neighbour alike
    assert find_user_traces(before, user) == ["interactions.parquet: user_id"]
    assert find_user_traces(before, neighbour) == ["interactions.parquet: user_id"]
    stored = pl.read_parquet(before / "interactions.parquet")
    mine = stored.filter(pl.col("user_id") == user).height
    assert mine > 0

    kept = beauty_slice.interactions.filter(pl.col("user_id") != user).drop("user", "item")
    after_ds = build_dataset(beauty_slice.items, kept, name=beauty_slice.name)
    after = write_bundle(tmp_path / "after", after_ds, ItemKNN().fit(full_train(after_ds)))
    assert find_user_traces(after, user) == []
    # everyone else is untouched: still found, with exactly the rows they had, in the same order
    assert find_user_traces(after, neighbour) == ["interactions.parquet: user_id"]
    left = pl.read_parquet(after / "interactions.parquet")
    assert left.height == stored.height - mine
    assert_frame_equal(left, stored.filter(pl.col("user_id") != user))
    assert after_ds.user_map.ids == [u for u in beauty_slice.user_map.ids if u != user]
    manifest = json.loads((after / "manifest.json").read_text())
    assert manifest["users"] == beauty_slice.n_users - 1
    assert manifest["interactions"] == beauty_slice.interactions.height - mine


def test_traces_in_json_and_other_files_are_found(tmp_path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "cache.json").write_text(json.dumps({"A1YJEY40YUW4SE": {"n": 1}}))
    (tmp_path / "notes.txt").write_text("exported for A1YJEY40YUW4SE")
    (tmp_path / "other.json").write_text(json.dumps(["A1YJEY40YUW4SEX"]))
    assert find_user_traces(tmp_path, "A1YJEY40YUW4SE") == ["notes.txt", "profiles/cache.json"]
    (tmp_path / "counts.json").write_text(json.dumps({"42": 3, "items": ["42"]}))
    assert find_user_traces(tmp_path, "42") == []  # short ids: only user fields are checked
    (tmp_path / "export.json").write_text(json.dumps({"shopper": {"user_id": "42"}}))
    assert find_user_traces(tmp_path, "42") == ["export.json"]
