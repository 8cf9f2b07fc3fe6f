"""Cleaning before indexing: duplicate removal, dropping ignorable events, iterative k-core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from shoprec.data.errors import DataError

Dedupe = Literal["none", "exact", "user-item"]


@dataclass(frozen=True)
class CleanOptions:
    """`dedupe`: "exact" drops identical rows, "user-item" keeps a shopper's first touch of an
    item, "none" keeps repeats (repeat purchases matter for consumables). `min_user`/`min_item`:
    iterative k-core thresholds (1 = off)."""

    dedupe: Dedupe = "exact"
    min_user: int = 1
    min_item: int = 1
    drop_dismissed: bool = True


def clean(interactions: pl.DataFrame, options: CleanOptions, source: str) -> pl.DataFrame:
    frame = interactions
    if options.drop_dismissed:
        frame = frame.filter(pl.col("event") != "dismiss")
    if options.dedupe == "exact":
        frame = frame.unique(maintain_order=True)
    elif options.dedupe == "user-item":
        frame = frame.unique(["user_id", "item_id"], keep="first", maintain_order=True)
    elif options.dedupe != "none":
        raise DataError(f"dedupe={options.dedupe!r}; expected none, exact or user-item")
    frame = k_core(frame, options.min_user, options.min_item)
    if frame.height == 0:
        raise DataError(f"{source}: no interactions left after cleaning ({options})")
    return frame


def k_core(frame: pl.DataFrame, min_user: int, min_item: int) -> pl.DataFrame:
    """Repeatedly drop users with < min_user and items with < min_item interactions."""
    while True:
        before = frame.height
        if min_user > 1:
            frame = frame.filter(pl.len().over("user_id") >= min_user)
        if min_item > 1:
            frame = frame.filter(pl.len().over("item_id") >= min_item)
        if frame.height == before:
            return frame
