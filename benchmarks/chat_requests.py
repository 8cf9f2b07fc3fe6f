"""Requests the assistant did not write, from real text, with relevance from the catalogues'
own labels (used by `benchmarks/chat_reading.py`).

* `office_descriptions`: a sentence of an Office item's description (the first of request
  length, 30-200 characters), from the evaluation half of the items (the reader calibrates on
  the other half, `shoprec.engine.calibration.in_calibration_half`). Relevant: the other items
  of that item's category path. A brand is "said" when the sentence names the item's brand.
* `office_titles` / `beauty_titles`: an item's title without its brand, its category words and
  its model numbers (`calibration.title_request`), from the evaluation half. Office: relevant
  are the other items of its category path. Beauty has no category field, so the one label is
  the item itself: relevant is that item (a shopper describing a product they know). A third
  of these requests end with a price limit written from a template ("under 20 dollars"), the
  only price wording here, since no catalogue lists prices: it measures reading, not filtering.
* `zh_reviews`: real Chinese shopping reviews (`chinese_online_shopping_10_cats`) of the three
  categories the Amazon.cn shop also holds: 书籍 -> 图书音像, 手机 -> 手机, 计算机 -> 电脑/办公
  (the shop's computer and office department: mice, memory, USB drives). Relevant: the items of
  that level. The shop holds nothing like the other seven (平板 tablets, 水果 fruit, 洗发水
  shampoo, 衣服 clothes, 酒店 hotels, 蒙牛 dairy, 热水器 water heaters): their reviews form
  `zh_reviews_elsewhere`, where any category or brand read is wrong. Reviews of 8-80 characters.

Every request says which items a right constraint keeps (`keeps`): the source item where there
is one, else the relevant items. A category or brand read is right when it keeps one of them.
`dev=True` writes the same sets from the reader's calibration half (reviews: the other half by
the same hash), for design choices; the reported figures never come from it.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from shoprec.engine.calibration import (
    description_request,
    in_calibration_half,
    title_request,
)
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.title_words import name_words
from shoprec.store import ItemRecord

SEED = 20261202
PER_SET = 300
ZH_MAPPED = {"书籍": "图书音像", "手机": "手机", "计算机": "电脑/办公"}
ZH_ELSEWHERE = ("平板", "水果", "洗发水", "衣服", "酒店", "蒙牛", "热水器")
ZH_PER_CATEGORY, ZH_PER_ELSEWHERE = 60, 20
PRICES = (10, 15, 20, 25, 30, 50)
PRICE_EN = ("under {n} dollars", "less than ${n}", "below {n} bucks")


@dataclass(frozen=True)
class Request:
    text: str
    relevant: frozenset[str]  # right answers (empty: none in this shop)
    keeps: frozenset[str]  # a right constraint keeps at least one of these
    source: str | None = None  # the item the request was written from (not a right answer,
    #                            except where it is the only label: beauty_titles)
    brand_said: bool = False  # the request names the source item's brand
    category_said: bool = True  # the request means a category of this shop
    price: tuple[float | None, float | None] | None = None  # the price limit it states
    extra: dict = field(default_factory=dict)


def _records(catalogue: Catalogue, seed: int, dev: bool) -> list[ItemRecord]:
    """The items requests are written from: the evaluation half, or with `dev` the reader's
    calibration half (for design choices, never for the reported figures)."""
    pool = sorted((r for i in catalogue.ids() if (r := catalogue.get(i)) is not None
                   and r.title and in_calibration_half(r.item_id) == dev), key=lambda r: r.item_id)
    random.Random(seed).shuffle(pool)
    return pool


def _by_path(catalogue: Catalogue) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for i in catalogue.ids():
        r = catalogue.get(i)
        if r is not None and r.category:
            out.setdefault(r.category.strip(), set()).add(i)
    return out


def _says_brand(text: str, brand: str | None) -> bool:
    words = name_words(brand or "")
    return bool(words) and all(w in set(name_words(text)) for w in words)


def office_descriptions(catalogue: Catalogue, n: int = PER_SET, dev: bool = False
                        ) -> list[Request]:
    paths, out = _by_path(catalogue), []
    for r in _records(catalogue, SEED, dev):
        sentence = description_request(r)
        others = paths.get((r.category or "").strip(), set()) - {r.item_id}
        if sentence and others:
            out.append(Request(sentence, frozenset(others), frozenset({r.item_id}), r.item_id,
                               brand_said=_says_brand(sentence, r.brand)))
        if len(out) == n:
            break
    return out


def _with_price(text: str, rng: random.Random) -> tuple[str, tuple[float | None, float | None]]:
    limit = rng.choice(PRICES)
    return f"{text}, {rng.choice(PRICE_EN).format(n=limit)}", (None, float(limit))


def titles(catalogue: Catalogue, known_item: bool, n: int = PER_SET, dev: bool = False
           ) -> list[Request]:
    """Rephrased titles; `known_item`: the source item is the relevant one (no categories)."""
    paths, out, rng = _by_path(catalogue), [], random.Random(SEED + 1)
    for r in _records(catalogue, SEED + 1, dev):
        text = title_request(r)
        if len(text.split()) < 2:
            continue
        others = paths.get((r.category or "").strip(), set()) - {r.item_id}
        if not known_item and not others:
            continue
        price = None
        if len(out) % 3 == 2:
            text, price = _with_price(text, rng)
        relevant = frozenset({r.item_id}) if known_item else frozenset(others)
        out.append(Request(text, relevant, frozenset({r.item_id}), r.item_id,
                           category_said=not known_item, price=price))
        if len(out) == n:
            break
    return out


def read_reviews(folder: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(folder / "online_shopping_10_cats.zip") as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        with z.open(name) as f:
            return list(csv.DictReader(io.TextIOWrapper(f, "utf-8")))


def zh_reviews(catalogue: Catalogue, folder: Path, dev: bool = False
               ) -> tuple[list[Request], list[Request]]:
    """(reviews of categories the shop holds, reviews of categories it does not); `dev`: from
    the other half of the reviews (by the same hash as the items)."""
    rows = read_reviews(folder)
    rng = random.Random(SEED + 2)
    by_cat: dict[str, list[str]] = {}
    for row in rows:
        text = re.sub(r"\s+", " ", row["review"].replace("\ufeff", "")).strip()
        if 8 <= len(text) <= 80 and in_calibration_half(text) == dev:
            by_cat.setdefault(row["cat"], []).append(text)
    mapped, elsewhere = [], []
    for cat, level in ZH_MAPPED.items():
        items = frozenset(catalogue.in_category(level))
        for text in rng.sample(by_cat[cat], ZH_PER_CATEGORY):
            mapped.append(Request(text, items, items, extra={"review_category": cat}))
    for cat in ZH_ELSEWHERE:
        for text in rng.sample(by_cat[cat], ZH_PER_ELSEWHERE):
            elsewhere.append(Request(text, frozenset(), frozenset(), category_said=False,
                                     extra={"review_category": cat}))
    return mapped, elsewhere
