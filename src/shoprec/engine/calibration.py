"""Held-out requests written from a catalogue's own items, and a threshold chosen on them.

A category read from a request's meaning is a hard filter: a wrong one hides every right item.
So the reader commits to a category only above a cosine where, on requests it has not seen,
it is right at least `TARGET_PRECISION` of the time. Those requests come from the shop itself,
so the procedure runs on any catalogue: for the items of the calibration half (a fixed hash of
the item id, so the other half stays free for evaluation), the title with its brand, its
category words and its model numbers taken out ("VTECH CS6114 DECT 6.0 Cordless Phone" ->
"DECT Phone, White/Grey, Handset"), and a sentence of its description when it has one. The
right answer for each is known: any level of that item's own category path.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.engine.catalogue import category_levels
from shoprec.engine.title_words import brand_head, name_words
from shoprec.store import ItemRecord
from shoprec.text.language import text_language

#: share of accepted held-out requests whose category must be right
TARGET_PRECISION = 0.97
#: items of the calibration half sampled (each gives up to two requests)
MAX_ITEMS = 400
SEED = 20261201
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_LATIN = re.compile(r"[A-Za-z0-9][\w&'\-/.]*")


def in_calibration_half(item_id: str) -> bool:
    """True for the half of all item ids the reader calibrates on (a fixed hash: the same
    split on every run and machine; benchmarks write their requests from the other half)."""
    return hashlib.blake2b(item_id.encode("utf-8"), digest_size=2).digest()[0] % 2 == 0


@dataclass(frozen=True)
class HeldOut:
    """One request written from an item, and the item it was written from."""

    text: str
    item_id: str
    kind: str  # "title", "description", or "named" (a title that names a category level)
    named: str | None = None  # for "named": the key of the level it names


def title_request(record: ItemRecord) -> str:
    """The title as a shopper might describe the item: without its brand, the words of its
    category path and tokens with digits (model numbers, sizes)."""
    title = " ".join((record.title or "").split())
    drop = {w for level in category_levels(record.category) for w in name_words(level)}
    brand = record.brand or brand_head(record.title)
    if text_language(title) == "zh":
        for name in [*category_levels(record.category), brand or ""]:
            if name:
                title = title.replace(name, " ")
        return " ".join(w for w in title.split() if not re.search(r"\d", w))
    drop |= set(name_words(brand or ""))
    kept = [w for w in _LATIN.findall(title) if not re.search(r"\d", w)
            and not (set(name_words(w)) & drop)]
    return " ".join(kept)


def named_request(record: ItemRecord) -> str:
    """The title without its brand and model numbers, its category words kept."""
    title = " ".join((record.title or "").split())
    brand = record.brand or brand_head(record.title)
    if text_language(title) == "zh":
        title = title.replace(brand, " ") if brand else title
        return " ".join(w for w in title.split() if not re.search(r"\d", w))
    drop = set(name_words(brand or ""))
    return " ".join(w for w in _LATIN.findall(title) if not re.search(r"\d", w)
                    and not (set(name_words(w)) & drop))


def description_request(record: ItemRecord, low: int = 30, high: int = 200) -> str:
    """The first sentence of the item's description of a request's length, or ""."""
    text = " ".join(str(record.attributes.get("description") or "").split())
    for sentence in _SENTENCE.split(text):
        if low <= len(sentence) <= high:
            return sentence
    return ""


def held_out_requests(records: Iterable[ItemRecord], calibration: bool = True,
                      max_items: int = MAX_ITEMS, seed: int = SEED,
                      named_level: Callable[[str], str | None] | None = None) -> list[HeldOut]:
    """Requests from a seeded sample of the items with a category in one half of the
    catalogue (`calibration` True: the reader's half; False: the evaluation half).
    `named_level(text)`: the key of the category level a text names in words, if any; with it,
    titles that name one become "named" requests too."""
    pool = sorted((r for r in records if r.category and r.title
                   and in_calibration_half(r.item_id) == calibration), key=lambda r: r.item_id)
    random.Random(seed).shuffle(pool)
    out: list[HeldOut] = []
    for record in pool[:max_items]:
        title = title_request(record)
        if len(title.split()) >= 2 or (text_language(title) == "zh" and len(title) >= 4):
            out.append(HeldOut(title, record.item_id, "title"))
        sentence = description_request(record)
        if sentence:
            out.append(HeldOut(sentence, record.item_id, "description"))
        named = named_request(record)
        level = named_level(named) if named_level is not None and named else None
        if level is not None:
            out.append(HeldOut(named, record.item_id, "named", level))
    return out


def threshold_for_precision(scores: Sequence[float], correct: Sequence[bool],
                            target: float = TARGET_PRECISION) -> float:
    """The lowest score such that the requests scoring at least that are right at least
    `target` of the time (read from the highest score down); +inf when no score reaches it,
    so the reader then never commits."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    s = np.asarray(scores, dtype=np.float64)[order]
    ok = np.asarray(correct, dtype=np.float64)[order]
    precision = np.cumsum(ok) / np.arange(1, len(ok) + 1)
    meets = np.flatnonzero(precision >= target)
    # the deepest cut that still meets the target, at a score boundary (ties go together)
    for cut in meets[::-1]:
        if cut + 1 == len(s) or s[cut + 1] < s[cut]:
            return float(s[cut])
    return float("inf")
