"""What an answer could not honour is said, in words and as data: a price limit or "cheaper" in
a shop without prices, a brand the shop does not carry, the constraint that emptied the list
(with the words that drop it, which then work)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.chat import Conversation, chat_turn
from shoprec.engine.serving import Serving


@pytest.fixture(scope="module")
def chinese_shop(chinese_bundle: Path) -> tuple[Serving, Catalogue]:
    serving = Serving.load(chinese_bundle)
    return serving, Catalogue.from_frame(serving.bundle.dataset.items)


def talk(serving, catalogue, messages: list[str], language: str = "zh"):
    conv, answers = Conversation.new(None, language), []
    for message in messages:
        answer = chat_turn(serving, catalogue, conv, message)
        conv = answer.conversation
        answers.append(answer)
    return answers


def reasons(answer) -> list[tuple[str, str]]:
    return [(u.constraint, u.reason) for u in answer.unmet]


def test_no_prices_cheaper_and_a_brand_not_carried(chinese_shop, office_shop) -> None:
    serving, catalogue = chinese_shop
    limit, cheaper = talk(serving, catalogue, ["鼠标 100元以内", "更便宜的"])
    assert reasons(limit) == [("price", "no_prices")] and limit.items
    assert limit.unmet[0].drop == "不限价格"
    assert ("price", "no_prices") in reasons(cheaper)
    assert "本店商品没有标价，无法找更便宜的。" in cheaper.notes
    serving, catalogue = office_shop
    chanel = talk(serving, catalogue, ["a pen by Chanel"], "en")[0]
    assert reasons(chanel) == [("brand", "not_carried")] and chanel.unmet[0].value == "Chanel"
    assert chanel.notes == ["This shop does not carry Chanel; here is what comes closest."]
    assert chanel.items and chanel.conversation.brand is None


def test_the_constraint_that_emptied_the_list_is_named_and_can_be_dropped(chinese_shop) -> None:
    serving, catalogue = chinese_shop
    mice, kingston, dropped = talk(serving, catalogue, ["我想买个无线鼠标", "只要Kingston的",
                                                        "不限品牌"])
    assert mice.items and kingston.conversation.brand == "Kingston"
    assert kingston.items == [] and ("brand", "emptied") in reasons(kingston)
    brand = next(u for u in kingston.unmet if u.constraint == "brand")
    assert brand.drop == "不限品牌" and "Kingston" in brand.text and brand.text in kingston.notes
    assert dropped.conversation.brand is None and dropped.conversation.category == "鼠标"
    assert dropped.items and dropped.unmet == []


def test_a_price_limit_that_empties_a_priced_shop(chinese_shop) -> None:
    serving, catalogue = chinese_shop
    priced = Catalogue(replace(catalogue.get(i), price=float(10 + n * 7))
                       for n, i in enumerate(catalogue.ids()))
    low, anyprice = talk(serving, priced, ["鼠标 5元以内", "不限价格"])
    assert low.items == [] and reasons(low) == [("price", "emptied")]
    assert low.unmet[0].value == "5元以内" and low.reply.startswith("没有找到")
    assert anyprice.items and anyprice.conversation.max_price is None
