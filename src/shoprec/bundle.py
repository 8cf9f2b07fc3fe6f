"""A trained system as one folder of plain files, written atomically.

    manifest.json        versions, data fingerprint, model name and parameters, metrics, time
    items.parquet        the catalogue (row i = item index i)
    interactions.parquet the histories the model was trained on (to recommend to known shoppers)
    model/               the model's own files (model.json + arrays, see shoprec.models.files)

Other stages may add files (item vectors, profiles); `Bundle.path` is where they live.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from shoprec import __version__
from shoprec.data.dataset import Dataset, build_dataset, fingerprint
from shoprec.data.errors import DataError
from shoprec.data.events import EventWeights
from shoprec.models.base import ReadsItemText, Recommender, get_params
from shoprec.models.registry import get_spec
from shoprec.text.language import EncoderChoice, catalogue_encoder


@dataclass
class Bundle:
    path: Path
    manifest: dict[str, Any]
    dataset: Dataset
    model: Recommender


def replace_folder(out: Path, fill: Callable[[Path], None]) -> Path:
    """Fill a sibling temporary folder, then swap it in for `out`, so readers never see half of
    it."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    fill(tmp)
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
    return out


def write_bundle(
    out: Path, ds: Dataset, model: Recommender, metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the whole bundle atomically (`replace_folder`)."""

    def fill(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        ds.items.write_parquet(tmp / "items.parquet")
        ds.interactions.drop("user", "item").write_parquet(tmp / "interactions.parquet")
        model.save(tmp / "model")
        manifest = {
            "shoprec_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dataset": ds.name,
            "fingerprint": fingerprint(ds),
            "users": ds.n_users,
            "items": ds.n_items,
            "interactions": ds.interactions.height,
            "model": model.name,
            "params": get_params(model),
            "event_weights": ds.event_weights.to_json(),
            "encoder": bundle_encoder(ds, model).to_json(),
            "metrics": metrics or {},
            **(extra or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))

    return replace_folder(out, fill)


def bundle_encoder(ds: Dataset, model: Recommender) -> EncoderChoice:
    """The encoder that reads this bundle's item texts and search queries: the model's own when
    it reads texts, else the one chosen for the catalogue's language."""
    choice = catalogue_encoder(ds.items)
    name = model.encoder_name if isinstance(model, ReadsItemText) else None
    if name and name != choice.name:
        return EncoderChoice(name, choice.language, f"the model's encoder ({model.name})")
    return choice


def encoder_of(bundle: Bundle) -> str:
    """The encoder name a bundle's manifest records (older bundles: chosen from the catalogue)."""
    recorded = (bundle.manifest.get("encoder") or {}).get("name")
    return recorded or catalogue_encoder(bundle.dataset.items).name


def load_bundle(path: Path) -> Bundle:
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise DataError(f"{path}: not a bundle (no manifest.json); create one with `shoprec train`")
    manifest = json.loads((path / "manifest.json").read_text())
    items = pl.read_parquet(path / "items.parquet")
    interactions = pl.read_parquet(path / "interactions.parquet")
    ds = build_dataset(items, interactions, name=manifest.get("dataset", path.name),
                       event_weights=EventWeights(manifest.get("event_weights") or {}))
    model = get_spec(manifest["model"]).cls().load(path / "model")
    return Bundle(path=path, manifest=manifest, dataset=ds, model=model)
