"""What the catalogue's titles say about its names, counted item by item as the catalogue changes.

A name is worth reading from a shopper's message only where the catalogue can answer it, and
the titles say where that is:

* A title's first word stands in for the brand of an item without one ("OPI Nail Lacquer, ...",
  "Kingston 16GB ..."), when that word reads as a brand: it starts at least half of the titles
  that say it. On Beauty, OPI starts 62% of the titles saying "opi" and Maybelline 99%, but
  "Nail" starts 6% ("OPI Nail Lacquer"), "The" 21%, "Organic" 15%: words, not brands.
* A category or brand field answers for a name when most of the items whose titles say the
  name carry that field at all (when no title says it, most items of the catalogue). With a
  category column this always holds. Without one, the first item to bring "Nail Polish" is
  alone among some 600 titles saying "polish": "nail polish remover" stays words for the
  language model, instead of a filter that keeps that one item.

Words are Latin words in their singular form, counted once per title; the rarest word of a
name stands for the name. A Chinese name has no words to count and answers by the
catalogue-wide share.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from shoprec.store import ItemRecord

#: A title's first word that may stand for a brand (Latin, 2-16 characters: Kingston, Rapoo).
BRAND_HEAD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{1,15}")
WORDS = re.compile(r"[a-z0-9]+(?:[&'.\-][a-z0-9]+)*|&")
FIELDS = ("category", "brand")


def singular(phrase: str) -> str:
    words = phrase.split()
    last = words[-1]
    if len(last) > 3 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    return " ".join([*words[:-1], last])


def brand_head(title: str | None) -> str | None:
    """The title's first word when it has the shape of a brand name (not yet judged by use)."""
    words = (title or "").split()
    return words[0] if words and BRAND_HEAD.fullmatch(words[0]) else None


def name_words(name: str) -> list[str]:
    return [_singular_word(w) for w in WORDS.findall(name.lower())]


@lru_cache(maxsize=1 << 16)
def _singular_word(word: str) -> str:
    return singular(word)


class TitleWords:
    """Counts over the catalogue's titles: titles per word, per word among items carrying each
    field, and titles per first word; plus the brand-less items by their title's first word."""

    def __init__(self) -> None:
        self.titles = 0
        self.carrying = dict.fromkeys(FIELDS, 0)
        self.words: Counter[str] = Counter()
        self.words_carrying: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
        self.heads: Counter[str] = Counter()
        self.head_display: dict[str, str] = {}
        self.brandless_by_head: dict[str, set[str]] = {}

    def count(self, record: ItemRecord, sign: int) -> None:
        """Add (`sign` 1) or take away (-1) one item's title."""
        words = set(name_words(record.title or ""))
        fields = [f for f in FIELDS if getattr(record, f)]
        self.titles += sign
        for counter in (self.words, *(self.words_carrying[f] for f in fields)):
            (counter.update if sign > 0 else counter.subtract)(words)
        for f in fields:
            self.carrying[f] += sign
        head = brand_head(record.title)
        if head is None:
            return
        key = head.lower()
        self.heads[key] += sign
        self.head_display.setdefault(key, head)
        if not record.brand:
            members = self.brandless_by_head.setdefault(key, set())
            (members.add if sign > 0 else members.discard)(record.item_id)
            if not members:
                del self.brandless_by_head[key]

    def reads_as_brand(self, key: str) -> bool:
        """The first word `key` starts at least half of the titles that say it."""
        starts = self.heads.get(key, 0)
        said = min((self.words.get(w, 0) for w in name_words(key)), default=0)
        return starts > 0 and 2 * starts >= max(said, starts)

    def field_answers(self, field: str, name: str) -> bool:
        """Most items whose titles say `name` (its rarest word) carry `field`; when no title
        says it, most items of the catalogue do."""
        said = [(n, self.words_carrying[field].get(w, 0)) for w in name_words(name)
                if (n := self.words.get(w, 0)) > 0]
        total, carrying = min(said) if said else (self.titles, self.carrying[field])
        return total > 0 and 2 * carrying >= total

    def head_brands(self) -> dict[str, str]:
        """Stand-in brands of the brand-less items: the first words that read as brands."""
        return {key: self.head_display[key] for key in self.brandless_by_head
                if self.reads_as_brand(key)}
