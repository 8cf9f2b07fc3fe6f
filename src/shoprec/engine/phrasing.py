"""The words of a chat answer, in English and Chinese, from templates.

Answers are assembled from what the engine decided (constraints kept, the item pointed at, the
history item behind a choice), so every sentence is true of the list it introduces; a
generative model would have to be checked against the list, templates need not be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoprec.engine.catalogue import Catalogue
    from shoprec.engine.conversation import Conversation

WHO = {
    "mother": ("for your mum", "适合送妈妈"), "father": ("for your dad", "适合送爸爸"),
    "woman": ("for her", "适合女士"), "man": ("for him", "适合男士"),
    "child": ("for a child", "适合孩子"), "friend": ("for a friend", "适合送朋友"),
    "runner": ("for running", "适合跑步"), "student": ("for a student", "适合学生"),
}


def _pick(language: str, english: str, chinese: str) -> str:
    return chinese if language == "zh" else english


def _short(title: str, limit: int = 40) -> str:
    return title if len(title) <= limit else title[:limit].rstrip() + "…"


def _money(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def price_range(language: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return _pick(language, f"{_money(low)}–{_money(high)}", f"{_money(low)}–{_money(high)}元")
    if high is not None:
        return _pick(language, f"up to {_money(high)}", f"{_money(high)}元以内")
    return _pick(language, f"from {_money(low or 0)}", f"{_money(low or 0)}元以上")


def constraints(conv: Conversation, catalogue: Catalogue) -> list[str]:
    """Everything the answer honours, in words (shown above the list)."""
    lang, out = conv.language, []
    if conv.text:
        out.append(_pick(lang, f"“{conv.text}”", f"“{conv.text}”"))
    if conv.category:
        out.append(_pick(lang, f"in {conv.category}", f"{conv.category}类"))
    if conv.brand:
        out.append(_pick(lang, f"by {conv.brand}", f"{conv.brand}品牌"))
    if conv.min_price is not None or conv.max_price is not None:
        out.append(price_range(lang, conv.min_price, conv.max_price))
    if conv.exclude:
        out.append(meets_exclude(lang, conv.exclude))
    if conv.like_item:
        liked = catalogue.get(conv.like_item)
        out.append(meets_like(lang, liked.title if liked and liked.title else conv.like_item))
    if conv.recipient:
        out.append(meets_recipient(lang, conv.recipient))
    return out


def reply(language: str, n: int, honoured: list[str], asked: bool) -> str:
    if n == 0:
        return _pick(language, "I found nothing that meets all of that: "
                     + "; ".join(honoured) + ". Try loosening one of them.",
                     "没有找到同时满足这些条件的商品：" + "；".join(honoured) + "。可以放宽一个条件试试。")
    if asked:
        return _pick(language, f"Meanwhile, {n} popular picks:", f"先为您推荐{n}款热门商品：")
    if not honoured:
        return _pick(language, f"{n} picks for you:", f"为您推荐{n}款商品：")
    return _pick(language, f"{n} picks — " + ", ".join(honoured) + ":",
                 f"为您找到{n}款（" + "，".join(honoured) + "）：")


def clarify(language: str, categories: list[str]) -> str:
    if not categories:
        return _pick(language, "What are you looking for?", "您想找什么样的商品？")
    return _pick(language, "What kind of product are you looking for? For example: "
                 + ", ".join(categories) + ".",
                 "您想找哪一类商品？比如：" + "、".join(categories) + "。")


#: what a shopper says to let a constraint go (`asking.DROP` reads these words)
DROP_WORDS = {"brand": ("any brand", "不限品牌"), "category": ("any category", "不限类别"),
              "price": ("any price", "不限价格"), "exclude": ("drop the exclusions", "取消排除")}
#: the constraint, named in a sentence
CONSTRAINT_NAMES = {"brand": ("the brand", "品牌"), "category": ("the category", "类别"),
                    "price": ("the price limit", "价格范围"), "exclude": ("the exclusions", "排除条件")}


def drop_words(language: str, constraint: str) -> str:
    english, chinese = DROP_WORDS[constraint]
    return _pick(language, english, chinese)


def no_prices_compare(language: str, cheaper: bool) -> str:
    if cheaper:
        return _pick(language, "This shop lists no prices, so I cannot find cheaper items.",
                     "本店商品没有标价，无法找更便宜的。")
    return _pick(language, "This shop lists no prices, so I cannot find pricier items.",
                 "本店商品没有标价，无法找更贵的。")


def not_carried(language: str, brand: str) -> str:
    return _pick(language, f"This shop does not carry {brand}; here is what comes closest.",
                 f"本店没有{brand}的商品，以下是最接近的。")


def emptied(language: str, constraint: str, value: str) -> str:
    english, chinese = CONSTRAINT_NAMES[constraint]
    words = drop_words(language, constraint)
    return _pick(language, f"Nothing is left with {english} ({value}); say “{words}” to drop it.",
                 f"按{chinese}（{value}）筛选后没有商品；说“{words}”即可取消。")


def no_prices(language: str) -> str:
    return _pick(language, "This shop lists no prices, so the price limit could not be checked.",
                 "本店商品没有标价，无法按价格筛选。")


def meets_category(language: str, category: str) -> str:
    return _pick(language, f"in {category}", f"属于{category}")


def meets_brand(language: str, brand: str) -> str:
    return _pick(language, f"by {brand}", f"{brand}品牌")


def meets_price(language: str, price: float, low: float | None, high: float | None) -> str:
    return _pick(language, f"{_money(price)}, within {price_range(language, low, high)}",
                 f"{_money(price)}元，在{price_range(language, low, high)}之内")


def meets_exclude(language: str, words: list[str]) -> str:
    return _pick(language, "not " + ", ".join(words), "不是" + "、".join(words))


def meets_like(language: str, title: str) -> str:
    return _pick(language, f"like {_short(title)}", f"类似{_short(title)}")


def meets_recipient(language: str, who: str) -> str:
    english, chinese = WHO.get(who, (f"for {who}", f"适合{who}"))
    return _pick(language, english, chinese)


def why_history(language: str, title: str) -> str:
    return _pick(language, f"often bought with {_short(title)}, which you chose",
                 f"常与您选过的{_short(title)}一起购买")


def why_words(language: str, text: str) -> str:
    return _pick(language, f"close to “{text}”", f"与“{text}”最相近")


def why_popular(language: str, category: str | None) -> str:
    if category:
        return _pick(language, f"popular in {category}", f"{category}中的热门商品")
    return _pick(language, "popular with shoppers", "深受顾客喜爱")
