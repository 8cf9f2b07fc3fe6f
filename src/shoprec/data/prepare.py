"""`shoprec prepare`: load, clean and write a prepared folder (generic format in Parquet).

A prepared folder is itself a generic-format folder (`items.parquet`, `interactions.parquet`),
so every command accepts it as a source; `manifest.json` records counts and a fingerprint.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from shoprec.data.clean import CleanOptions
from shoprec.data.dataset import Dataset, fingerprint
from shoprec.data.sources import load_dataset


def summary(ds: Dataset) -> dict[str, Any]:
    ts = ds.interactions["timestamp"]
    text_cols = ds.text_columns()
    with_text = (
        ds.items.select(pl.any_horizontal([pl.col(c).fill_null("").str.len_chars() > 0
                                           for c in text_cols]).sum()).item()
        if text_cols else 0
    )
    day = lambda t: dt.datetime.fromtimestamp(int(t), dt.UTC).date().isoformat()
    return {
        "users": ds.n_users,
        "items": ds.n_items,
        "interactions": ds.interactions.height,
        "items_with_text": int(with_text),
        "density": round(ds.interactions.height / max(1, ds.n_users * ds.n_items), 6),
        "mean_history": round(ds.interactions.height / max(1, ds.n_users), 2),
        "first_time": day(ts.min()) if ts.null_count() == 0 else None,
        "last_time": day(ts.max()) if ts.null_count() == 0 else None,
    }


def prepare_dataset(source: str, out: Path | None, options: CleanOptions) -> dict[str, Any]:
    ds = load_dataset(source, options)
    out = Path(out) if out else Path("artifacts") / "prepared" / ds.name
    out.mkdir(parents=True, exist_ok=True)
    ds.items.write_parquet(out / "items.parquet")
    ds.interactions.drop("user", "item").write_parquet(out / "interactions.parquet")
    manifest = {"name": ds.name, "path": str(out), "source": str(source),
                "cleaning": options.__dict__, **summary(ds), "fingerprint": fingerprint(ds)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
