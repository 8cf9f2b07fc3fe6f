"""The prepared Amazon Beauty 2014 5-core folder (S3-Rec/P5 ids) of the shared data.

Uses `derived/beauty_items.tsv` (titles) and `derived/beauty_interactions.tsv.gz`, whose rows are
in the order of `Beauty.txt`: sorting by time with ties in file order reproduces exactly the
sequences the published leave-one-out results use.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.dataset import INTERACTION_SCHEMA
from shoprec.data.errors import DataError


def is_prepared_beauty(folder: Path) -> bool:
    return (folder / "derived" / "beauty_interactions.tsv.gz").is_file()


def read_prepared_beauty(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    folder = Path(folder)
    if not is_prepared_beauty(folder):
        raise DataError(f"{folder}: no derived/beauty_interactions.tsv.gz (prepared Beauty folder)")
    items = pl.read_csv(folder / "derived" / "beauty_items.tsv", separator="\t", infer_schema=False,
                        quote_char=None)
    items = items.with_columns(pl.col("title").fill_null("")).select("item_id", "title", "asin")
    inter = pl.read_csv(folder / "derived" / "beauty_interactions.tsv.gz", separator="\t",
                        infer_schema=False)
    inter = inter.select(
        pl.col("user_id"),
        pl.col("item_id"),
        pl.col("timestamp").cast(pl.Int64),
        pl.lit("review").alias("event"),
        pl.lit(None, dtype=pl.Float32).alias("value"),
    ).cast(INTERACTION_SCHEMA)  # type: ignore[arg-type]
    return items, inter
