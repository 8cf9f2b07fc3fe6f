"""Which brand a message asks for, only on evidence.

Word lists read "I need a shampoo" as "by Shampoo" wherever a shop sells a brand called
Shampoo. So a brand is taken from the catalogue's brand field when it has one (a title's leading
word then never counts as a brand), and only when the message gives reason to believe a brand is
meant:

* a brand that is no common word of the catalogue (Sharpie, Fellowes) counts as said, unless
  the message names it as what the item goes with ("compatible with HP", "for the Epson");
* a brand that is also a common word of other items' titles and descriptions (Universal,
  Expo), and every brand of a catalogue without a brand field (where brands are only guessed
  from titles' first words: Keys, Loves), needs one of: "by X" / "made by X" / "only X" / "X
  brand" (Chinese: 只要X的, 有X的吗, X牌, X品牌); a capital letter where a sentence does not
  begin, in a message not written in Title Case ("a lipstick from Revlon"), or casing only a
  name has (OPI, VTech); a Latin name inside
  a Chinese message (有Motorola的吗); or a message that says nothing but the brand.

A brand asked for by name ("by Chanel") that the shop does not carry is reported, not ignored
(`unknown_brand`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.shop_names import Names, Vocabulary
from shoprec.engine.title_words import name_words
from shoprec.text.language import text_language

_BEFORE = r"(?:made by|by|only|just|brand|from brand)"
_ZH_BEFORE = r"(?:只要|只买|有|要|买|来点|换成)"
_ZH_AFTER = r"(?:的吗|的|牌|品牌|的牌子)"
#: capitalised words after "by" that name a time or a way, not a maker
_NOT_MAKERS = frozenset((
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow",
    "tonight", "today", "christmas", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "hand", "mail", "post",
    "email", "phone", "the", "a", "an"))
_ASKED_NAME = re.compile(r"\b(?:made by|by)\s+((?:[A-Z][\w&'.\-]*)(?:\s+[A-Z][\w&'.\-]*){0,2})"
                         r"|\b((?:[A-Z][\w&'.\-]*)(?:\s+[A-Z][\w&'.\-]*){0,2})\s+brand\b")
_NOT_MAKERS_ZH = frozenset(("这个", "那个", "这", "那", "什么", "哪个", "同一个", "别的", "其他", "其它",
                            "一个", "好的", "大"))
_ASKED_NAME_ZH = re.compile(r"([\w\u4e00-\u9fff]{2,8}?)(?:牌子|品牌|牌)的?")


@dataclass(frozen=True)
class BrandFacts:
    """What the catalogue says about its brand names: which come from a brand field, and which
    are also common words there."""

    names: Names  # the brands a message may name (from the field when there is one)
    needs_evidence: frozenset[str]  # keys that count only with evidence
    known: frozenset[str]  # every brand and category key the shop has (for unknown_brand)
    #: guessed brands (no brand field) that are no common word: a capital where they are written
    #: is evidence enough, even at a sentence's start ("Maybelline mascara")
    capital_suffices: frozenset[str] = frozenset()


def brand_facts(catalogue: Catalogue, vocabulary: Vocabulary) -> BrandFacts:
    """The brand field's names when most items carry one, else the titles' leading words (each
    then needing evidence); a field brand needs evidence when more items whose text says its
    words are of another brand than of it."""
    field = catalogue.field_brands()
    has_field = 2 * catalogue.items_with_brand() >= max(len(catalogue), 1)
    if has_field:
        brands = {k: v for k, v in vocabulary.brands.items() if k in field}
        common = _common_words(catalogue, brands)
        capital = frozenset()
    else:
        brands, common = dict(vocabulary.brands), frozenset(vocabulary.brands)
        capital = frozenset(brands) - _common_words(catalogue, brands)
    known = frozenset(vocabulary.brands) | frozenset(vocabulary.categories)
    return BrandFacts(Names(brands), frozenset(common), known, capital)


def _common_words(catalogue: Catalogue, brands: dict[str, str]) -> frozenset[str]:
    postings: dict[str, set[str]] = {}
    wanted = {w for key in brands for w in name_words(key)}
    chinese = [key for key in brands if text_language(key) == "zh"]
    texts: dict[str, str] = {}
    for item_id in catalogue.ids():
        r = catalogue.get(item_id)
        if r is None:
            continue
        text = f"{r.title or ''} {r.attributes.get('description') or ''}"
        texts[item_id] = text
        for w in set(name_words(text)) & wanted:
            postings.setdefault(w, set()).add(item_id)
    common = set()
    for key in brands:
        if key in chinese:
            said = {i for i, t in texts.items() if key in t}
        else:
            sets = [postings.get(w, set()) for w in name_words(key)]
            said = set.intersection(*sets) if sets else set()
        own = catalogue.of_brand(key)
        if len(said - own) > len(said & own):
            common.add(key)
    return frozenset(common)


def find_brand(raw: str, rest: str, content: str, facts: BrandFacts) -> str | None:
    """The brand `raw` (the message as written) asks for, or None. `rest`: the lower-case
    message with prices, pointing and refusals taken out; `content`: its content words."""
    found = facts.names.find(rest)
    if found is None:
        return None
    key = found.name.lower()
    if for_another(raw, found.name):
        return None
    if key not in facts.needs_evidence or has_evidence(raw, found.name, content):
        return found.name
    if key in facts.capital_suffices and _written_capitalised(raw, found.name):
        return found.name
    return None


def _occurrences(raw: str, name: str) -> list[re.Match[str]]:
    """Where `raw` writes `name` as a whole word (any case, any spacing between its words)."""
    escaped = r"\s+".join(re.escape(w) for w in name.split())
    return list(re.finditer(rf"(?<![\w]){escaped}(?![\w])", raw, re.IGNORECASE))


def _written_capitalised(raw: str, name: str) -> bool:
    return any(m.group(0)[:1].isupper() for m in _occurrences(raw, name))


def for_another(raw: str, name: str) -> bool:
    """The message names `name` as what the item goes with, not as its maker: "compatible
    with HP", "a replacement for Epson", "for the HP LaserJet", "适用于惠普"."""
    escaped = r"\s+".join(re.escape(w) for w in name.split())
    return bool(re.search(rf"\b(?:for|with|fits|replaces|compatible|same size as)\s+"
                          rf"(?:the\s+|your\s+|my\s+|all\s+|most\s+)?{escaped}\b"
                          rf"|(?:适用于|适合|兼容|用于|配)\s*{escaped}", raw, re.IGNORECASE))


def has_evidence(raw: str, name: str, content: str) -> bool:
    """The message says `name` in a way only a brand is said (see the module docstring)."""
    escaped = r"\s+".join(re.escape(w) for w in name.split())
    if re.search(rf"\b{_BEFORE}\s+(?:the\s+)?{escaped}\b|\b{escaped}\s+(?:brand|ones)\b", raw,
                 re.IGNORECASE):
        return True
    if re.search(rf"{_ZH_BEFORE}\s*{escaped}\s*{_ZH_AFTER}|{escaped}\s*(?:牌|品牌)", raw,
                 re.IGNORECASE):
        return True
    if " ".join(name_words(content)) == " ".join(name_words(name)):
        return True  # the message is the brand and nothing else
    chinese_message = text_language(raw) == "zh"
    title_case = _title_case(raw)
    for m in _occurrences(raw, name):
        written = m.group(0)
        if chinese_message and text_language(name) != "zh":
            return True  # a Latin name inside Chinese text
        if any(c.isupper() for c in written[1:]) and written == name:
            return True  # OPI, VTech: casing only a name has
        if written[:1].isupper() and not title_case and not _sentence_start(raw, m.start()):
            return True
    return False


def _title_case(text: str) -> bool:
    """Most words begin with a capital ("Nail Lacquer, Simmer and Shimmer"): capitals there
    say nothing about names."""
    words = re.findall(r"[A-Za-z][\w'\-]*", text)[1:]
    return len(words) >= 3 and 2 * sum(w[0].isupper() for w in words) > len(words)


def _sentence_start(text: str, at: int) -> bool:
    """No word or comma before `at` in its sentence: a capital there says nothing."""
    before = text[:at].rstrip()
    return not before or not (before[-1].isalnum() or before[-1] in ",&")


def unknown_brand(raw: str, rest: str, facts: BrandFacts) -> str | None:
    """A maker the message names ("by Chanel", "Chanel brand", "香奈儿牌的") that is none of
    the shop's brands or categories, or None. `rest`: the message with its refusals taken out
    (a Chinese name is looked for there: "不要这个牌子" names none)."""
    for m in _ASKED_NAME.finditer(raw):
        name = (m.group(1) or m.group(2) or "").strip(" .,'")
        if name and name.lower() not in _NOT_MAKERS and not _known(name, facts):
            return name
    if text_language(raw) == "zh":
        for m in _ASKED_NAME_ZH.finditer(rest):
            name = re.sub(r"^(?:我|想|要|买|只|有没有|有|个|的|不|别|换)+", "", m.group(1))
            if len(name) >= 2 and name not in _NOT_MAKERS_ZH and not _known(name, facts):
                return name
    return None


def _known(name: str, facts: BrandFacts) -> bool:
    key = name.lower()
    return key in facts.known or facts.names.find(key) is not None
