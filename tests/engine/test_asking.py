"""Reading constraints out of a chat message, English and Chinese."""

from __future__ import annotations

import pytest

from shoprec.engine.asking import read_message, to_number
from shoprec.engine.shop_names import Vocabulary

VOCAB = Vocabulary(
    categories={"鼠标": "鼠标", "电动剃须刀": "电动剃须刀", "个人护理电器": "个人护理电器",
                "cordless telephones": "Cordless Telephones", "pens": "Pens",
                "office electronics": "Office Electronics"},
    brands={"vtech": "VTech", "sharpie": "Sharpie", "at&t": "AT&T"})


@pytest.mark.parametrize(("message", "low", "high"), [
    ("cordless phone under $30", None, 30.0),
    ("something below 25 dollars", None, 25.0),
    ("between 10 and 20 dollars", 10.0, 20.0),
    ("pens from $5 to $12", 5.0, 12.0),
    ("at least 40", 40.0, None),
    ("around 50", 40.0, 60.0),
    ("100元以内的鼠标", None, 100.0),
    ("不超过两百块", None, 200.0),
    ("50到100元的鼠标", 50.0, 100.0),
    ("三百元以上", 300.0, None),
    ("一百五十元左右", 120.0, 180.0),
    ("just a mouse", None, None),
])
def test_price_bounds(message: str, low: float | None, high: float | None) -> None:
    ask = read_message(message, VOCAB)
    assert ask.min_price == (None if low is None else pytest.approx(low))
    assert ask.max_price == (None if high is None else pytest.approx(high))


def test_category_brand_and_the_words_left() -> None:
    ask = read_message("I need cordless telephones from VTech please", VOCAB)
    assert (ask.category, ask.brand, ask.language) == ("Cordless Telephones", "VTech", "en")
    assert ask.text == "cordless telephones vtech"
    zh = read_message("我想买个无线鼠标", VOCAB)
    assert (zh.category, zh.language, zh.text) == ("鼠标", "zh", "无线鼠标")
    assert read_message("送给爸爸的剃须刀", VOCAB).category == "电动剃须刀"  # the head noun
    assert read_message("电器", VOCAB).category is None  # too short a tail to match a level
    assert read_message("Sharpie pen", VOCAB).category == "Pens"  # singular of a plural level


def test_overlapping_names_the_longer_wins() -> None:
    """Office has a brand "Trimmer" and a category "Rotary Trimmers", a brand "Paper Pro" and a
    category "Paper": a name inside a longer one is not mentioned on its own."""
    vocab = Vocabulary(categories={"rotary trimmers": "Rotary Trimmers", "paper": "Paper"},
                       brands={"trimmer": "Trimmer", "paper pro": "Paper Pro"})
    trimmers = read_message("show me some rotary trimmers", vocab)
    assert (trimmers.category, trimmers.brand) == ("Rotary Trimmers", None)
    paper_pro = read_message("show me Paper Pro ones", vocab)
    assert (paper_pro.category, paper_pro.brand) == (None, "Paper Pro")
    both = read_message("paper from Trimmer", vocab)
    assert (both.category, both.brand) == ("Paper", "Trimmer")


def test_refusals_refinements_and_pointing() -> None:
    ask = read_message("cordless telephones, not VTech and no AT&T", VOCAB)
    assert ask.exclude == ("VTech", "AT&T")
    assert read_message("不要雷柏的", VOCAB).exclude == ("雷柏",)
    assert read_message("除了飞利浦", VOCAB).exclude == ("飞利浦",)
    assert read_message("not this brand", VOCAB).exclude_shown_brand
    assert read_message("不要这个牌子", VOCAB).exclude_shown_brand
    assert read_message("something like the second one but cheaper", VOCAB).like == 1
    assert read_message("something like the second one but cheaper", VOCAB).cheaper
    assert read_message("像第三个那样的", VOCAB).like == 2
    assert read_message("更便宜的", VOCAB).cheaper and read_message("更便宜的", VOCAB).text == ""
    assert read_message("show me pricier ones", VOCAB).pricier
    assert read_message("start over", VOCAB).reset and read_message("重新开始", VOCAB).reset


def test_who_it_is_for_and_broad_requests() -> None:
    mum = read_message("a gift for my mum", VOCAB)
    assert (mum.recipient, mum.gift, mum.has_topic) == ("mother", True, False)
    dad = read_message("送给爸爸的礼物", VOCAB)
    assert (dad.recipient, dad.gift) == ("father", True)
    assert not read_message("I want to buy something", VOCAB).has_topic
    assert not read_message("推荐点东西", VOCAB).has_topic
    assert read_message("a lipstick for her", VOCAB).text == "lipstick"


def test_chinese_numerals() -> None:
    assert [to_number(x) for x in ("29.5", "十五", "一百五十", "两千", "三万五千", "x")] == \
        [29.5, 15.0, 150.0, 2000.0, 35000.0, None]
