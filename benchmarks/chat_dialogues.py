"""Write the scripted multi-turn dialogues the chat benchmark plays (`benchmarks/chat.py`).

How the set is written (also stored in each file's "method"): every dialogue is composed from
one catalogue's own fields, never from a model's output, so what counts as a right answer is
fixed before any system answers. A dialogue picks a category (a level of the catalogue's category
paths with enough items) and, where the catalogue has them, brands inside it; its turns are
templated sentences (several phrasings per turn kind, chosen by a seeded generator):

- `ask`: the shopper names the category ("I'm looking for laser printers", "我想买鼠标");
- `refuse`: refuses a brand that category holds ("not HP", "不要Kingston的");
- `only`: asks for another brand of the category ("only Canon please");
- `like`: points at an item of the last answer ("something like the second one", "像第二个那样的");
  the item pointed at is not a right answer, and when no other item meets the constraints, an
  empty answer ("nothing else meets all of that") is the right one;
- `switch`: moves to another category, for someone ("a gift for my dad: fountain pens");
- `broad`: says nothing about the product ("I want to buy something"): a clarifying question is
  the right answer, then the shopper names a category;
- `ask_word` (the `*_words` sets): the shopper names the category not by its name but by the
  title word most typical of it that is not part of the name ("I'm looking for toner" for "Laser
  Printer Ink & Toner", "我想买洗面奶" for "洁面"), so the language model, not the shop's
  vocabulary, has to find it.

Each turn stores what an item must satisfy, accumulated over the dialogue as a shopper means it:
the category (a level of the item's category path, the rule the shop's filters use), the brand
asked for, and the words refused (an item whose brand or title contains one fails). No
development catalogue lists prices, so no dialogue has a price turn (price bounds are tested in
tests/engine). Run: `python benchmarks/chat_dialogues.py` (writes benchmarks/dialogues/*.json).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections import Counter
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent
OUT = HERE / "dialogues"
SEED = 20261130
MIN_ITEMS = 3  # a category level needs this many items to be asked for

EN = {
    "ask": ["I'm looking for {c}", "do you have {c}?", "show me some {c}",
            "I need {c} for the office", "can you recommend {c}?"],
    "refuse": ["not {b}", "anything but {b}, please", "no {b}", "I don't want {b}"],
    "only": ["only {b} please", "do you have it from {b}?", "show me {b} ones"],
    "like": ["something like the second one", "more like the first one",
             "similar to the second one"],
    "switch": ["a gift for my dad: {c}", "now I need {c} for my mum", "also {c} for a friend"],
    "broad": ["I want to buy something", "can you recommend something?", "show me anything good"],
}
ZH = {
    "ask": ["我想买{c}", "有没有{c}", "推荐一些{c}", "给我看看{c}", "想找{c}类的"],
    "refuse": ["不要{b}的", "除了{b}", "不想要{b}"],
    "only": ["只要{b}的", "有{b}的吗"],
    "like": ["像第二个那样的", "和第一个类似的", "类似第二个的"],
    "switch": ["送给妈妈的{c}", "再看看{c}，送给爸爸", "给孩子买{c}"],
    "broad": ["推荐点东西", "我想买点东西", "随便看看有什么好的"],
}


def levels(category: str | None) -> list[str]:
    return [p for p in re.split(r"\s*(?:>|\||,)\s*", category or "") if p]


def brand_of(row: dict) -> str | None:
    """The brand column, else (brand-less catalogues) a title's leading Latin word (Kingston)."""
    if "brand" in row:
        return row["brand"] or None
    head = (row.get("title") or "").split()[:1]
    return head[0] if head and re.fullmatch(r"[A-Za-z][A-Za-z0-9\-]{1,15}", head[0]) else None


def category_table(items: pl.DataFrame) -> dict[str, list[dict]]:
    table: dict[str, list[dict]] = {}
    for row in items.iter_rows(named=True):
        for level in levels(row.get("category")):
            table.setdefault(level, []).append(row)
    share = 0.5 * items.height  # a root level says nothing ("图书音像" is 59 of 96)
    return {c: rows for c, rows in table.items() if MIN_ITEMS <= len(rows) <= share}


def title_words(title: str, language: str) -> set[str]:
    if language == "zh":
        import jieba

        return {w for w in jieba.lcut(title or "") if re.fullmatch(r"[\u4e00-\u9fff]{2,}", w)
                and w not in TITLE_STOP}
    return {w for w in re.findall(r"[a-z]{4,}", (title or "").lower()) if w not in TITLE_STOP}


TITLE_STOP = {"with", "pack", "inch", "inches", "count", "black", "white", "blue", "each",
              "assorted", "colors", "color", "size", "sheets", "box", "office", "products",
              "back", "card", "如何", "怎么", "特卖", "套装", "什么", "我们", "自己", "一个", "为什么",
              "精装", "珍藏版", "纪念版", "进口", "包装", "系列", "男士", "女士"}


def distinctive_word(categories: dict[str, list[dict]], category: str, language: str,
                     document_counts: Counter, n_items: int, brand_words: set[str]
                     ) -> str | None:
    """The title word most typical of `category` (frequent in it, rare elsewhere) that is not
    part of the category's own name: a shopper's word for it that the catalogue never uses as a
    name."""
    rows = categories[category]
    counts = Counter(w for r in rows for w in title_words(r.get("title"), language))
    name = category.lower()
    scored = [(c / len(rows) * math.log(n_items / document_counts[w]), w)
              for w, c in counts.items()
              if c >= max(2, 0.3 * len(rows))  # typical of the category ...
              and c >= 0.5 * document_counts[w]  # ... and mostly found in it
              and w not in name and name not in w and w not in brand_words]
    return max(scored)[1] if scored else None


def dialogue(rng: random.Random, words: dict, categories: dict[str, list[dict]], first: str,
             language: str, by_word: str | None = None) -> list[dict]:
    """One dialogue about category `first` (turn kinds chosen by what the category allows);
    with `by_word` the shopper names the category by that title word, not by its name."""
    brands = Counter(b for r in categories[first] if (b := brand_of(r)))
    turns: list[dict] = []
    shown = first.lower() if language == "en" else first
    if rng.random() < 0.25:
        turns.append({"say": rng.choice(words["broad"]), "kind": "broad", "question": True})
    turns.append({"say": rng.choice(words["ask"]).format(c=by_word or shown),
                  "kind": "ask_word" if by_word else "ask",
                  "category": first, "brand": None, "not": []})
    state = {"category": first, "brand": None, "not": []}
    common = [b for b, n in brands.most_common() if n < len(categories[first])]
    if common:
        refused = common[0]
        state["not"] = [refused]
        turns.append({"say": rng.choice(words["refuse"]).format(b=refused), "kind": "refuse",
                      **state})
        others = [b for b in common[1:] if brands[b] >= 1]
        if others and rng.random() < 0.5:
            state = {**state, "brand": others[0]}
            turns.append({"say": rng.choice(words["only"]).format(b=others[0]), "kind": "only",
                          **state})
    like = rng.choice(words["like"])
    turns.append({"say": like, "kind": "like", "point": 0 if ("first" in like or "第一" in like)
                  else 1, **state})
    second = rng.choice([c for c in categories if c != first and c.lower() not in first.lower()
                         and first.lower() not in c.lower()])
    shown2 = second.lower() if language == "en" else second
    turns.append({"say": rng.choice(words["switch"]).format(c=shown2), "kind": "switch",
                  "category": second, "brand": None, "not": state["not"]})
    return turns


def write_set(name: str, items_csv: Path, words: dict, language: str, count: int,
              by_word: bool = False) -> Path:
    items = pl.read_csv(items_csv, infer_schema_length=0)
    categories = category_table(items)
    rng = random.Random(f"{SEED}-{name}")
    firsts = sorted(categories)
    rng.shuffle(firsts)
    document_counts = Counter(w for t in items["title"].to_list()
                              for w in title_words(t, language))
    brand_words = {w for r in items.iter_rows(named=True) if (b := brand_of(r))
                   for w in title_words(b, language) | {b.lower()}}
    dialogues = []
    for first in firsts:
        if len(dialogues) == count:
            break
        word = distinctive_word(categories, first, language, document_counts, items.height,
                                brand_words) if by_word else None
        if by_word and word is None:
            continue
        dialogues.append({"id": f"{name}-{len(dialogues):03d}", "category": first,
                          "turns": dialogue(rng, words, categories, first, language, word)})
    while not by_word and len(dialogues) < count:  # the named sets go round the categories
        first = firsts[len(dialogues) % len(firsts)]
        dialogues.append({"id": f"{name}-{len(dialogues):03d}", "category": first,
                          "turns": dialogue(rng, words, categories, first, language)})
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    doc = {"name": name, "language": language, "catalogue": items_csv.parent.parent.name,
           "method": __doc__.split("\n\n", 1)[1].split("Run:")[0].strip(), "seed": SEED,
           "dialogues": dialogues}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    return path


def main() -> None:
    data = Path(os.environ.get("SHOPREC_DATA_DIR", HERE.parent.parent / "shared" / "data"))
    office = data / "amazon_office_2014/derived/items.csv"
    shop_cn = data / "amazon_cn_sample/derived/items.csv"
    for args in (("office_en", office, EN, "en", 60), ("amazon_cn_zh", shop_cn, ZH, "zh", 60),
                 ("office_en_words", office, EN, "en", 60, True),
                 ("amazon_cn_zh_words", shop_cn, ZH, "zh", 60, True)):
        path = write_set(*args)
        doc = json.loads(path.read_text())
        turns = sum(len(d["turns"]) for d in doc["dialogues"])
        print(f"{path.name}: {len(doc['dialogues'])} dialogues, {turns} turns")


if __name__ == "__main__":
    main()
