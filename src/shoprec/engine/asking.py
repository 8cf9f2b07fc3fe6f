"""What one chat message asks for, read in English or Chinese: the constraints a shopper states.

Reading is rules over the words and the shop's own vocabulary (its category levels and brands),
not a generative model: "under 30", "100元以内", "between 10 and 20 dollars", "not Philips",
"不要飞利浦的", "cheaper", "更便宜的", "something like the second one", "像第二个那样的",
"a gift for my mum", "送给妈妈". What is left after the constraint phrases are taken out is the
free text the language model reads. Numbers may be digits or Chinese numerals (一百五十).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shoprec.engine.message_words import (
    GIFT,
    RECIPIENT_WORDS,
    RECIPIENTS,
    STOP_EN,
    STOP_ZH,
    to_number,
)
from shoprec.engine.shop_names import Mention, Vocabulary
from shoprec.text.language import text_language

__all__ = ["RECIPIENTS", "Ask", "Parsed", "parse", "read_message", "to_number"]

_NUM = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)"
_CUR = r"(?:\$|usd|dollars?|bucks?|元|块钱?|rmb|¥|￥)?"

#: (pattern, kind) in the order tried; kind: max, min, range, around
PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?:between|from)\s*{_CUR}\s*{_NUM}\s*{_CUR}\s*(?:and|to|-)\s*{_CUR}\s*{_NUM}"
                rf"\s*{_CUR}"), "range"),
    (re.compile(rf"{_CUR}\s*{_NUM}\s*{_CUR}\s*(?:-|–|~|到|至)\s*{_CUR}\s*{_NUM}\s*"
                rf"(?:\$|usd|dollars?|bucks?|元|块钱?|rmb)(?:之间)?"), "range"),
    (re.compile(rf"(?:under|below|less than|cheaper than|at most|max(?:imum)?|up to|no more than"
                rf"|not more than|within|<=?)\s*{_CUR}\s*{_NUM}"), "max"),
    (re.compile(rf"(?:不超过|不高于|低于|少于|小于|不到|不要超过|最多)\s*{_CUR}\s*{_NUM}\s*{_CUR}"),
     "max"),
    (re.compile(rf"{_NUM}\s*{_CUR}\s*(?:以内|以下|之内|内)"), "max"),
    (re.compile(rf"(?:over|above|more than|at least|min(?:imum)?|>=?)\s*{_CUR}\s*{_NUM}"), "min"),
    (re.compile(rf"(?:高于|超过|多于|大于|至少)\s*{_CUR}\s*{_NUM}\s*{_CUR}"), "min"),
    (re.compile(rf"{_NUM}\s*{_CUR}\s*以上"), "min"),
    (re.compile(rf"(?:around|about|roughly|approximately|~)\s*{_CUR}\s*{_NUM}"), "around"),
    (re.compile(rf"{_NUM}\s*{_CUR}\s*左右"), "around"),
]
AROUND = 0.2  # "around 30" is 24 to 36

CHEAPER = re.compile(r"\bcheaper\b|\bless expensive\b|\blower price|\bbudget\b|更便宜|便宜(?:一)?点"
                     r"|便宜些|便宜的|实惠")
PRICIER = re.compile(r"\bpricier\b|\bmore expensive\b|\bhigher[- ]end\b|\bpremium\b|\bfancier\b"
                     r"|更贵|贵一点|贵点|高档|高端")
RESET = re.compile(r"\bstart over\b|\bnew search\b|\bsomething else entirely\b|\bforget that\b"
                   r"|重新开始|换个话题|重新来")

#: "any brand", "不限价格": the shopper lets go of a constraint (offered when one empties the list)
DROP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bany (?:brand|make|maker)\b|\bdrop the brand\b|\bno brand limit\b"
                r"|不限品牌|品牌不限|什么牌子都行|哪个牌子都行"), "brand"),
    (re.compile(r"\bany category\b|\bdrop the category\b|\bany kind\b|不限类别|类别不限"
                r"|什么类都行|不限分类"), "category"),
    (re.compile(r"\bany price\b|\bdrop the price(?: limit)?\b|\bno price limit\b|不限价格"
                r"|价格不限|多少钱都行"), "price"),
    (re.compile(r"\bdrop the exclusions?\b|取消排除"), "exclude"),
]

_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
             "4th": 3, "fifth": 4, "5th": 4, "last": -1, "一": 0, "二": 1, "两": 1, "三": 2,
             "四": 3, "五": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
LIKE_EN = re.compile(r"(?:(?:like|similar to|as|resembling)\s+)?(?:the\s+)?(first|second|third|"
                     r"fourth|fifth|last|1st|2nd|3rd|4th|5th)\s+(?:one|item|product)\b"
                     r"|(?:like|similar to)\s+(?:number|#|no\.?)\s*([1-5])\b")
LIKE_ZH = re.compile(r"(?:像|类似|和|跟|同)?\s*第\s*([一二两三四五1-5])\s*(?:个|款|件|种)")
THIS_BRAND = re.compile(r"\b(?:this|that|the same)\s+brand\b|这个牌子|这个品牌|这牌子|这个牌的")

EXCLUDE_EN = re.compile(r"\b(?:not|no|without|except|but not|other than|anything but|avoid|"
                        r"don'?t want|do not want|don'?t like|exclude)\s+(?:any\s+|the\s+)?"
                        r"([a-z0-9][\w&'.\-]*(?:\s+[a-z0-9][\w&'.\-]*){0,2}?)"
                        r"(?=\s*(?:[,.;!?]|\band\b|\bbut\b|\bunder\b|\bover\b|\bplease\b|$))")
EXCLUDE_ZH = re.compile(r"(?:不要|不想要|别要|别给我|除了|排除|不含|不喜欢)\s*([^\s，。,.!！?？、;；的了]+?)"
                        r"\s*(?:的|了|之外|以外|牌子|品牌)*(?=[\s，。,.!！?？、;；]|$)")
#: exclusion phrases that name the last answer rather than a word ("not this brand")
EXCLUDE_REFERS = {"this brand", "that brand", "the same brand", "this", "that", "these", "those",
                  "这个", "这个牌子", "这个品牌", "这些", "这牌子", "这个牌"}

@dataclass(frozen=True)
class Ask:
    """What one message asks for. Empty fields: not mentioned in this message."""

    language: str
    text: str = ""  # the content words left (what the answer shows and titles are matched on)
    min_price: float | None = None
    max_price: float | None = None
    category: str | None = None
    brand: str | None = None
    exclude: tuple[str, ...] = ()  # words (brands, categories, title words) not wanted
    exclude_shown_brand: bool = False  # "not this brand": the brand of the item referred to
    cheaper: bool = False
    pricier: bool = False
    like: int | None = None  # position in the last answer (0-based; -1 the last)
    recipient: str | None = None
    gift: bool = False
    reset: bool = False
    drop: tuple[str, ...] = ()  # constraints to let go of: "category", "brand", "price"
    unknown_brand: str | None = None  # a maker asked for by name that the shop does not carry
    query: str = ""  # the words as said, constraint phrases taken out: what the encoder reads

    @property
    def has_topic(self) -> bool:
        """True when the message names what to look for (words, a category, a brand, an item)."""
        return bool(self.text or self.category or self.brand or self.like is not None)


def read_message(message: str, vocabulary: Vocabulary, default_language: str = "en") -> Ask:
    """The constraints in `message`, categories and brands by the shop's word lists (the
    "rules" reader); the rest of its words become `text`."""
    return parse(message, vocabulary, default_language).ask


@dataclass(frozen=True)
class Parsed:
    """A message read by the rules, with what another reader needs to read it further: the
    message as written, the lower-case rest with prices, pointing and refusals taken out, and
    the category and brand names found in it."""

    ask: Ask
    raw: str
    rest: str
    category: Mention | None
    brand: Mention | None


def parse(message: str, vocabulary: Vocabulary, default_language: str = "en",
          units: bool = False) -> Parsed:
    """`read_message`, keeping its working. `units`: a number followed by a unit that is no
    currency ("up to 50 sheets", "over 90 years") is no price (the rules reader keeps its old
    reading, so it can be measured as it was)."""
    raw = " ".join(message.split())
    # a message without letters ("100") keeps the conversation's language
    language = text_language(raw) if re.search(r"[^\W\d_]", raw) else default_language
    if default_language == "zh" and re.search(r"[\u4e00-\u9fff]", raw):
        language = "zh"  # "只要Kingston的": a Latin name inside Chinese keeps the conversation
    lower = raw.lower()
    rest = lower
    min_price = max_price = None
    for pattern, kind in PRICE_PATTERNS:
        for m in pattern.finditer(rest):
            numbers = [to_number(g) for g in m.groups() if g]
            if not numbers or None in numbers or (units and _counts_a_unit(m, rest)):
                continue
            if kind == "range":
                min_price, max_price = min(numbers), max(numbers)
            elif kind == "max":
                max_price = numbers[0]
            elif kind == "min":
                min_price = numbers[0]
            else:
                min_price, max_price = numbers[0] * (1 - AROUND), numbers[0] * (1 + AROUND)
            rest = rest.replace(m.group(0), " ")
    like = _ordinal(rest)
    rest = LIKE_EN.sub(" ", LIKE_ZH.sub(" ", rest))
    drop = tuple(kind for pattern, kind in DROP if pattern.search(rest))
    for pattern, _ in DROP:
        rest = pattern.sub(" ", rest)
    exclude, shown_brand, rest = _exclusions(rest, vocabulary)
    shown_brand = shown_brand or bool(THIS_BRAND.search(lower) and exclude == () and
                                      re.search(r"\bnot\b|\bno\b|不要|别", lower))
    recipient = next((who for pattern, who in RECIPIENT_WORDS if pattern.search(rest)), None)
    category_found = vocabulary.category_names.find(rest)
    brand_found = vocabulary.brand_names.find(rest)
    named_category, named_brand = category_found, brand_found
    if category_found and category_found.overlaps(brand_found):  # "trimmers" is no brand Trimmer
        if brand_found.rank > category_found.rank:  # "Paper Pro" is no category Paper
            category_found = None
        else:
            brand_found = None
    category = category_found.name if category_found else None
    brand = brand_found.name if brand_found else None
    for pattern in (CHEAPER, PRICIER, RESET, GIFT, *(p for p, _ in RECIPIENT_WORDS)):
        rest = pattern.sub(" ", rest)
    text = _content_words(rest, language, (category, brand))
    # Chinese filler is cut out of the words by substring, which can cut a word in two
    # (好用, 有效): the encoder reads the words as said there; English content words read as well
    query = " ".join(re.sub(r"[，。,.!！?？、;；:：~]+", " ", rest).split()) if text and \
        language == "zh" else text
    ask = Ask(language=language, text=text, min_price=min_price, max_price=max_price,
              category=category, brand=brand, exclude=exclude,
              exclude_shown_brand=shown_brand, cheaper=bool(CHEAPER.search(lower)),
              pricier=bool(PRICIER.search(lower)), like=like, recipient=recipient,
              gift=bool(GIFT.search(lower)), reset=bool(RESET.search(lower)), drop=drop,
              query=query)
    return Parsed(ask, raw, rest, named_category, named_brand)


_CURRENCY = re.compile(r"\$|usd|dollar|buck|元|块|rmb|¥|￥")
_UNIT_AFTER = re.compile(r"\s*([a-z%\"'″”]+)")
#: words that may follow a bare price ("under 30 for my dad", "under 30 please")
_AFTER_PRICE = frozenset(("and", "or", "but", "please", "for", "with", "in", "at", "on", "the",
                          "a", "an", "each", "total", "tops", "max", "maximum", "only", "or so",
                          "if", "that", "which", "ish", "pls", "thanks", "to", "from", "by"))


#: characters that may follow a Chinese price ("100以内的", "两百左右吧")
_AFTER_PRICE_ZH = frozenset("的以之左上下内吧呢啊哦了")


def _counts_a_unit(match: re.Match[str], text: str) -> bool:
    """The matched number is followed by a unit that is no currency ("50 sheets", 13", 8个月)."""
    if _CURRENCY.search(match.group(0)):
        return False
    following = text[match.end():match.end() + 1]
    if re.match(r"[\u4e00-\u9fff]", following):  # 不到8个月, 至少20公里, MP3内存
        return following not in _AFTER_PRICE_ZH
    after = _UNIT_AFTER.match(text, match.end())
    return (after is not None and after.group(1) not in _AFTER_PRICE
            and not _CURRENCY.match(after.group(1)))


def _ordinal(text: str) -> int | None:
    m = LIKE_ZH.search(text)
    if m:
        return _ORDINALS.get(m.group(1))
    m = LIKE_EN.search(text)
    if m:
        return _ORDINALS.get(m.group(1) or m.group(2))
    return None


def _exclusions(text: str, vocabulary: Vocabulary) -> tuple[tuple[str, ...], bool, str]:
    """Words not wanted, whether "this brand" was refused, and the text without those phrases.
    A refused word is taken whole when it names a brand or category of the shop."""
    found: list[str] = []
    refers = False
    for pattern in (EXCLUDE_ZH, EXCLUDE_EN):
        for m in list(pattern.finditer(text)):
            word = m.group(1).strip(" '\"")
            if word in EXCLUDE_REFERS or THIS_BRAND.fullmatch(word):
                refers = True
            elif word:
                named = vocabulary.all_names.find(word)
                found.append(named.name if named else word)
            text = text.replace(m.group(0), " ")
    return tuple(dict.fromkeys(found)), refers, text


def _content_words(text: str, language: str, named: tuple[str | None, ...]) -> str:
    """The message's words that say something about the product (stop words and filler gone).
    Category and brand words stay: the language model reads them too."""
    if language == "zh":
        out = text
        for word in sorted(STOP_ZH, key=len, reverse=True):
            out = out.replace(word, " ")
        out = re.sub(r"[，。,.!！?？、;；:：~\-]+", " ", out)
        return " ".join(out.split())
    words = re.findall(r"[a-z0-9][\w&'\-]*", text)
    kept = [w for w in words if w not in STOP_EN]
    return " ".join(kept)
