"""McAuley's raw Amazon review files, as a user downloads them (2014 and 2018 releases).

Reviews: one JSON object per line (`reviewerID`, `asin`, `overall`, `unixReviewTime`).
Metadata: 2014 files hold Python dict literals, 2018 files strict JSON; both give `title`,
`description`, categories, `brand` and `price`, which become the catalogue's text columns.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from shoprec.data.dataset import INTERACTION_SCHEMA
from shoprec.data.errors import DataError


def find_raw_amazon(path: Path) -> tuple[Path, Path | None] | None:
    """(reviews file, metadata file or None) when `path` is or holds raw Amazon files."""
    if path.is_file():
        if path.name.startswith("meta_"):
            return None
        if path.name.endswith((".json", ".json.gz")):
            meta = _meta_beside(path)
            return path, meta
        return None
    if not path.is_dir():
        return None
    metas = sorted(p for p in path.iterdir() if p.name.startswith("meta_") and ".json" in p.name)
    reviews = sorted(p for p in path.iterdir()
                     if p.name.endswith((".json", ".json.gz")) and not p.name.startswith("meta_"))
    if not reviews or not (metas or any(p.name.startswith("reviews_") for p in reviews)):
        return None
    if len(reviews) > 1:
        raise DataError(f"{path}: several review files ({', '.join(p.name for p in reviews)}); keep one")
    return reviews[0], (metas[0] if metas else None)


def _meta_beside(reviews: Path) -> Path | None:
    metas = sorted(reviews.parent.glob("meta_*.json*"))
    return metas[0] if len(metas) == 1 else None


def _records(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                try:
                    yield ast.literal_eval(line)
                except (ValueError, SyntaxError) as exc:
                    raise DataError(f"{path}:{n}: neither JSON nor a Python dict literal") from exc


def read_raw_amazon(reviews: Path, meta: Path | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = []
    for rec in _records(reviews):
        try:
            rows.append((str(rec["reviewerID"]), str(rec["asin"]), int(rec["unixReviewTime"]),
                         float(rec["overall"]) if rec.get("overall") is not None else None))
        except KeyError as exc:
            raise DataError(f"{reviews}: a review lacks field {exc.args[0]!r}") from exc
    if not rows:
        raise DataError(f"{reviews}: no reviews")
    inter = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp", "value"], orient="row")
    inter = inter.with_columns(pl.lit("rating").alias("event")).select(list(INTERACTION_SCHEMA))
    inter = inter.cast(INTERACTION_SCHEMA)  # type: ignore[arg-type]
    items = pl.DataFrame([_item(r) for r in _records(meta)]) if meta else None
    if items is None or items.height == 0:
        items = inter.select("item_id").unique(maintain_order=True)
    return items.unique("item_id", keep="first", maintain_order=True), inter


def _item(rec: dict) -> dict:
    cats = rec.get("categories") or rec.get("category") or []
    if cats and isinstance(cats[0], list):  # 2014: list of category paths
        cats = cats[0]
    desc = rec.get("description") or ""
    if isinstance(desc, list):
        desc = " ".join(str(d) for d in desc)
    price = rec.get("price")
    if isinstance(price, str):
        price = price.replace("$", "").replace(",", "").strip()
        price = float(price) if price.replace(".", "", 1).isdigit() else None
    return {
        "item_id": str(rec.get("asin")),
        "title": str(rec.get("title") or ""),
        "brand": str(rec.get("brand") or ""),
        "category": " > ".join(str(c) for c in cats),
        "description": str(desc)[:2000],
        "price": float(price) if price is not None else None,
    }
