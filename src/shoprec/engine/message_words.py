"""Word lists a chat message is read with: who an item is for, words that carry no product
meaning, and numbers written in Chinese numerals (一百五十)."""

from __future__ import annotations

import re

#: who the item is for: words in a message -> what the language model reads for them
RECIPIENTS: dict[str, tuple[str, str]] = {
    # key: (English hint, Chinese hint)
    "mother": ("for a mother, a woman", "妈妈 女士"),
    "father": ("for a father, a man", "爸爸 男士"),
    "woman": ("for a woman", "女士"),
    "man": ("for a man", "男士"),
    "child": ("for a child, kids", "儿童 孩子"),
    "friend": ("a gift for a friend", "朋友 礼物"),
    "runner": ("for running, sport", "跑步 运动"),
    "student": ("for a student, school", "学生 学习"),
}
RECIPIENT_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:mum|mom|mother|mommy|mummy)\b|妈妈|母亲|老妈|妈"), "mother"),
    (re.compile(r"\b(?:dad|father|daddy)\b|爸爸|父亲|老爸|爸"), "father"),
    (re.compile(r"\b(?:wife|girlfriend|sister|her|she|grandma|grandmother)\b|老婆|妻子|女朋友|女友"
                r"|姐姐|妹妹|奶奶|外婆"), "woman"),
    (re.compile(r"\b(?:husband|boyfriend|brother|him|he|grandpa|grandfather)\b|老公|丈夫|男朋友"
                r"|男友|哥哥|弟弟|爷爷|外公"), "man"),
    (re.compile(r"\b(?:kid|kids|child|children|son|daughter|toddler|baby)\b|孩子|儿子|女儿|小孩"
                r"|宝宝|儿童"), "child"),
    (re.compile(r"\b(?:friend|colleague|coworker)\b|朋友|同事"), "friend"),
    (re.compile(r"\b(?:runner|running|jogger|jogging)\b|跑步|跑者"), "runner"),
    (re.compile(r"\b(?:student|college|school)\b|学生|上学"), "student"),
]
GIFT = re.compile(r"\bgift\b|\bpresent\b|礼物|送给|送人|送")

#: words that carry no product meaning; a message made only of these is "too broad"
STOP_EN = frozenset((
    "i", "me", "my", "we", "you", "a", "an", "the", "some", "any", "something", "anything",
    "thing", "things", "one", "ones", "want", "wanted", "need", "needs", "looking", "look",
    "for", "to", "buy", "get", "find", "show", "give", "recommend", "suggest", "please", "can",
    "could", "would", "like", "love", "good", "nice", "great", "best", "new", "item", "items",
    "product", "products", "stuff", "what", "is", "are", "do", "does", "it", "that", "this",
    "these", "those", "of", "in", "on", "with", "and", "or", "but", "just", "also", "maybe",
    "really", "gift", "present", "again", "more", "other", "another", "else", "here", "there",
    "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "under", "over", "around", "about",
    "between", "from", "than", "less", "cheaper", "price", "dollars", "dollar", "bucks", "help",
    "shopping", "shop", "store", "only", "kind", "sort", "type", "have", "has", "now", "i'm",
    "im", "let",
))
STOP_ZH = ("我想", "我要", "想要", "只要", "只", "我", "想", "要", "买", "一个", "一些", "一下", "个", "东西", "推荐",
           "给", "看看", "看", "有没有", "有", "什么", "吗", "呢", "吧", "的", "请", "帮我", "找", "好",
           "礼物", "送", "商品", "些", "点", "了", "和", "还", "再", "别的", "其他", "你好", "谢谢",
           "那样", "那种", "这样", "这种", "一样", "类似", "像", "款", "适合", "用", "需要", "随便",
           "什么", "好的", "有没有", "哪些", "怎么样", "可以")


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def to_number(text: str) -> float | None:
    """A number written in digits ("29.99") or Chinese numerals ("一百五十", "两千", "十五")."""
    try:
        return float(text)
    except ValueError:
        pass
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
        else:
            return None
    return float(total + section + (digit or 0))
