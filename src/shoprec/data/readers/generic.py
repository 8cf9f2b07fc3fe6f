"""The generic format any shop can export: a folder with interactions and optionally items.

    interactions.{csv,tsv,parquet,jsonl}: user_id, item_id [, timestamp, event, value]
    items.{csv,tsv,parquet,jsonl}:        item_id [, any text or numeric columns]

Ids are strings. Without timestamps a shopper's rows are taken to be in time order; with them,
ties keep file order. Timestamps may be integers (Unix seconds) or ISO dates.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.dataset import INTERACTION_SCHEMA
from shoprec.data.errors import DataError
from shoprec.data.events import EVENT_TYPES
from shoprec.data.readers.tables import find_table, read_table


def read_generic(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, interactions) frames from a generic-format folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; expected a folder with interactions.csv|tsv|parquet|jsonl")
    path = find_table(folder, "interactions")
    if path is None:
        others = sorted(p.name for p in folder.glob("interactions.*"))
        if others:
            raise DataError(f"{folder / others[0]}: unknown file type; expected interactions"
                            ".csv, .tsv, .parquet or .jsonl")
        raise DataError(f"{folder}: no interactions.csv|tsv|parquet|jsonl file")
    interactions = normalise_interactions(read_table(path), str(path))
    items_path = find_table(folder, "items")
    items = normalise_items(read_table(items_path), str(items_path)) if items_path else None
    if items is None:  # the catalogue is whatever the (cleaned) interactions touch
        items = pl.DataFrame({"item_id": []}, schema={"item_id": pl.String})
    return items, interactions


def normalise_interactions(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Check required columns and coerce to `INTERACTION_SCHEMA`; errors name the source."""
    for col in ("user_id", "item_id"):
        if col not in frame.columns:
            raise DataError(f"{source}: missing column {col!r} (columns: {', '.join(frame.columns)})")
    frame = frame.with_columns(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String))
    empty = frame.filter(
        pl.col("user_id").is_null() | pl.col("item_id").is_null()
        | (pl.col("user_id").str.strip_chars() == "") | (pl.col("item_id").str.strip_chars() == "")
    )
    if empty.height:
        raise DataError(f"{source}: {empty.height} rows have an empty user_id or item_id")
    cols = [pl.col("user_id"), pl.col("item_id"), _timestamp(frame, source)]
    if "event" in frame.columns:
        cols.append(pl.col("event").cast(pl.String).str.to_lowercase().fill_null("interaction"))
    else:
        cols.append(pl.lit("interaction").alias("event"))
    if "value" in frame.columns:
        value = pl.col("value").cast(pl.Float32, strict=False)
        bad = frame.filter(pl.col("value").is_not_null() & value.is_null())
        if bad.height:
            raise DataError(f"{source}: column 'value' has non-numbers, e.g. {bad['value'][0]!r}")
        cols.append(value)
    else:
        cols.append(pl.lit(None, dtype=pl.Float32).alias("value"))
    out = frame.select(cols)
    unknown = set(out["event"].unique().to_list()) - set(EVENT_TYPES)
    if unknown:
        raise DataError(f"{source}: unknown event types {sorted(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return out.cast(INTERACTION_SCHEMA)  # type: ignore[arg-type]


def _timestamp(frame: pl.DataFrame, source: str) -> pl.Expr:
    if "timestamp" not in frame.columns:
        return pl.lit(None, dtype=pl.Int64).alias("timestamp")
    col = frame["timestamp"]
    if col.dtype.is_numeric():
        return pl.col("timestamp").cast(pl.Int64).alias("timestamp")
    as_int = col.cast(pl.Int64, strict=False)
    if as_int.null_count() == col.null_count():
        return pl.col("timestamp").cast(pl.Int64).alias("timestamp")
    as_date = col.str.to_datetime(strict=False, time_zone="UTC")
    if as_date.null_count() != col.null_count():
        bad = col.filter(as_date.is_null() & col.is_not_null())[0]
        raise DataError(f"{source}: timestamp {bad!r} is neither Unix seconds nor an ISO date")
    return pl.lit(as_date.dt.epoch("s")).alias("timestamp")


def normalise_items(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """item_id first as a string, unique; other columns kept as they are."""
    if "item_id" not in frame.columns:
        raise DataError(f"{source}: missing column 'item_id' (columns: {', '.join(frame.columns)})")
    frame = frame.with_columns(pl.col("item_id").cast(pl.String)).filter(pl.col("item_id").is_not_null())
    frame = frame.unique("item_id", keep="first", maintain_order=True)
    if "price" in frame.columns:
        frame = frame.with_columns(
            pl.col("price").cast(pl.String).str.replace_all(r"[^0-9.]", "").cast(pl.Float64, strict=False)
        )
    return frame.select(["item_id", *[c for c in frame.columns if c != "item_id"]])
