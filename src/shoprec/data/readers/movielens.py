"""GroupLens MovieLens 100K: explicit 1-5 ratings with titles, release dates and genres."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.dataset import INTERACTION_SCHEMA

GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]


def is_movielens_100k(folder: Path) -> bool:
    return (folder / "u.data").is_file() and (folder / "u.item").is_file()


def read_movielens_100k(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    inter = pl.read_csv(folder / "u.data", separator="\t", has_header=False,
                        new_columns=["user_id", "item_id", "value", "timestamp"], infer_schema=False)
    inter = inter.select(
        "user_id", "item_id", pl.col("timestamp").cast(pl.Int64), pl.lit("rating").alias("event"),
        pl.col("value").cast(pl.Float32),
    ).cast(INTERACTION_SCHEMA)  # type: ignore[arg-type]
    rows = []
    for line in (folder / "u.item").read_text(encoding="latin-1").splitlines():
        f = line.split("|")
        if len(f) < 24:
            continue
        genres = [g for g, flag in zip(GENRES, f[5:24]) if flag == "1"]
        rows.append({"item_id": f[0], "title": f[1], "category": ", ".join(genres),
                     "release_date": f[2]})
    return pl.DataFrame(rows), inter
