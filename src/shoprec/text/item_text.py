"""Turn a catalogue row into the one sentence a language model reads for that item.

The template names catalogue columns, not a data set, so any shop's fields work: columns the
catalogue lacks are skipped, long fields are cut at a word boundary, and a numeric price becomes a
band relative to the catalogue's own prices (a model reads "budget" better than "12.99").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl


@dataclass(frozen=True)
class ItemTextTemplate:
    """Which columns make an item's text, how each is labelled, and how long each may be.

    `fields` are tried in order; each entry is a tuple of alternative column names (the first one
    present in the catalogue is used). A label of "" writes the value alone.
    """

    fields: tuple[tuple[str, ...], ...] = (
        ("title", "name"),
        ("brand",),
        ("category", "categories", "genre", "cat"),
        ("price",),
        ("description", "desc", "review"),
    )
    labels: dict[str, str] = field(default_factory=lambda: {
        "brand": "Brand", "category": "Category", "categories": "Category", "genre": "Genre",
        "cat": "Category", "price": "Price",
    })
    max_field_chars: dict[str, int] = field(default_factory=lambda: {
        "description": 300, "desc": 300, "review": 300,
    })
    default_field_chars: int = 160
    max_chars: int = 600
    separator: str = ". "
    #: names of the price bands, cheapest first; the catalogue's price quantiles split them evenly
    price_bands: tuple[str, ...] = ("budget", "mid-range", "premium")


def build_item_text(items: pl.DataFrame, template: ItemTextTemplate | None = None) -> list[str]:
    """One text per catalogue row (same order). Items with no text at all get "" (never the id,
    which carries no meaning for a language model and would make unrelated items look alike)."""
    template = template or ItemTextTemplate()
    parts: list[list[str]] = [[] for _ in range(items.height)]
    for alternatives in template.fields:
        column = next((c for c in alternatives if c in items.columns), None)
        if column is None:
            continue
        if column == "price":
            values = _price_bands(items[column], template.price_bands)
        else:
            values = _strings(items[column])
        limit = template.max_field_chars.get(column, template.default_field_chars)
        label = template.labels.get(column, "")
        for row, value in enumerate(values):
            if value:
                value = truncate(value, limit)
                parts[row].append(f"{label}: {value}" if label else value)
    return [truncate(template.separator.join(p), template.max_chars) for p in parts]


def _strings(column: pl.Series) -> list[str]:
    if column.dtype == pl.List(pl.String):
        column = column.list.join(", ")
    return [" ".join(str(v).split()) if v is not None else "" for v in column.to_list()]


def _price_bands(column: pl.Series, bands: tuple[str, ...]) -> list[str]:
    """Band each price by the catalogue's own quantiles; missing or unparsable prices give ""."""
    prices = column.cast(pl.Float64, strict=False).to_numpy().astype(np.float64)
    known = prices[np.isfinite(prices) & (prices > 0)]
    if known.size == 0 or not bands:
        return [""] * len(prices)
    edges = np.quantile(known, np.linspace(0, 1, len(bands) + 1)[1:-1])
    out = []
    for p in prices:
        if not np.isfinite(p) or p <= 0:
            out.append("")
        else:
            out.append(bands[int(np.searchsorted(edges, p, side="right"))])
    return out


def truncate(text: str, max_chars: int) -> str:
    """Cut at the last space before `max_chars` (hard cut when there is none)."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,.;:") + "…"
