"""Words of Chinese product text, for interest tags and topic names.

Chinese is written without spaces, so the word pattern that splits English titles sees a whole
title as one "word". jieba (a dictionary + HMM segmenter, the usual choice for Chinese) cuts
"无线鼠标 高精度光学引擎" into 无线 / 鼠标 / 高精度 / 光学 / 引擎. Only words that can name an
interest are kept: Chinese words of two or more characters and Latin words of three or more
letters (brands such as Kingston), without stop words, numbers or model codes (32G, M8).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from functools import cache
from types import ModuleType

#: Han ideographs (CJK Unified Ideographs and Extension A).
_HAN_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{2,}$")
_LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z'&-]{2,}$")
#: Function words and shop boilerplate that name no interest.
STOPWORDS_ZH = frozenset({
    "我们", "你们", "他们", "这个", "那个", "以及", "或者", "而且", "可以", "一个", "一款", "一种",
    "系列", "正品", "包邮", "新款", "新品", "特价", "促销", "官方", "专用", "适用", "适合", "支持",
    "套装", "组合", "其他", "其它", "产品", "商品", "型号", "颜色", "款式", "尺寸", "容量", "升级",
    "原装", "国行", "进口", "热卖", "限量", "超值", "优惠", "赠品", "附赠", "随机", "均码", "黑色",
    "白色", "红色", "蓝色", "粉色", "灰色", "银色", "金色", "绿色", "紫色", "黄色", "时尚",
    "因为", "所以", "如何", "怎么", "为什么", "什么", "怎样", "不是", "没有", "就是", "还是",
    "最新", "特卖", "精美", "定制", "写给",
})
_STOPWORDS_LATIN = frozenset({"the", "and", "for", "with", "new", "pack", "set", "size", "class"})


@cache
def _jieba() -> ModuleType:
    """The jieba module, imported (and its dictionary read) on first use."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" banner on every start
    return jieba


def words(text: str) -> list[str]:
    """The interest-bearing words of `text` in order (duplicates kept), segmented by jieba."""
    out = []
    for token in _jieba().lcut(text or ""):
        token = token.strip()
        if _HAN_WORD.match(token):
            if token not in STOPWORDS_ZH:
                out.append(token)
        elif _LATIN_WORD.match(token) and token.lower() not in _STOPWORDS_LATIN:
            out.append(token.lower())
    return out


def shared_keywords(titles: list[str], min_items: int = 2) -> list[list[str]]:
    """Each title's distinct words that at least `min_items` titles contain (a word on one item
    tells nothing about a shopper's taste beyond that item)."""
    per_title = [sorted(set(words(t))) for t in titles]
    counts = Counter(w for ws in per_title for w in ws)
    return [[w for w in ws if counts[w] >= min_items] for ws in per_title]
