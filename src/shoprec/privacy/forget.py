"""Forgetting one shopper in a trained bundle at once, not at the next accepted retrain.

The bundle's interaction rows of the shopper are removed (its id leaves the user map with
them), the model forgets them where it keeps per-shopper state or can be refitted in seconds
(`forget_users`: item-kNN, user-kNN, popularity), and the bundle's files are rewritten
atomically. Models whose learned weights merely were shaped by the shopper (ALS, BPR, the
transformer) keep those weights until the next retrain: they hold no row, id or event of the
shopper, and the manifest says how many shoppers were forgotten since they were trained.

A service keeps older generations of its bundle for rollback (`shoprec.generations`);
`forget_in_bundles` removes the shopper from those too, so a rollback cannot bring them back.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from shoprec.bundle import Bundle, load_bundle, replace_folder
from shoprec.data.dataset import build_dataset, fingerprint
from shoprec.data.splits import full_train
from shoprec.data.types import TrainData
from shoprec.models.base import ForgetsShoppers


def forget_shopper(bundle: Bundle, user_id: str) -> tuple[Bundle, TrainData] | None:
    """The bundle without `user_id` (files on disk rewritten) and its training data (for what
    is recomputed from it next); None when the bundle never held them."""
    ds = bundle.dataset
    row = ds.user_map.get(user_id)
    if row is None:
        return None
    kept = ds.interactions.filter(pl.col("user_id") != user_id).drop("user", "item")
    new_ds = build_dataset(ds.items, kept, name=ds.name, event_weights=ds.event_weights)
    model = bundle.model
    train = full_train(new_ds)
    refitted = isinstance(model, ForgetsShoppers)
    if refitted:  # on a copy: requests in flight keep scoring with the model they started with
        removed_items = ds.interactions.filter(pl.col("user") == row)["item"].to_numpy()
        model = copy.copy(model).forget_users(train, [row], removed_items)
        replace_folder(bundle.path / "model", model.save)
    _write_atomically(bundle.path / "interactions.parquet",
                      lambda tmp: kept.write_parquet(tmp))
    manifest = dict(bundle.manifest)
    manifest.update(users=new_ds.n_users, interactions=new_ds.interactions.height,
                    fingerprint=fingerprint(new_ds),
                    forgotten_shoppers=int(manifest.get("forgotten_shoppers", 0)) + 1)
    if not refitted or model.keeps_removed_weights:
        manifest["weights_predate_deletions"] = True
    _write_atomically(bundle.path / "manifest.json",
                      lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))
    return replace(bundle, manifest=manifest, dataset=new_ds, model=model), train


def holds_shopper(path: Path, user_id: str) -> bool:
    """Whether the bundle folder's interactions name `user_id` (a scan, no model load)."""
    found = (pl.scan_parquet(path / "interactions.parquet").filter(pl.col("user_id") == user_id)
             .select(pl.len()).collect().item())
    return bool(found)


def forget_in_bundles(paths: list[Path], user_id: str) -> list[Path]:
    """Forget `user_id` in every bundle folder in `paths` that holds them (files rewritten);
    returns those folders."""
    changed = []
    for path in paths:
        if (path / "interactions.parquet").is_file() and holds_shopper(path, user_id):
            forget_shopper(load_bundle(path), user_id)
            changed.append(path)
    return changed


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)
