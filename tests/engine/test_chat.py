"""Chat turns on the real Chinese shop: constraints are kept across turns and never broken."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shoprec.engine.catalogue import Catalogue, category_keys
from shoprec.engine.chat import Conversation, chat_turn
from shoprec.engine.serving import Serving
from shoprec.store import EventRecord


@pytest.fixture(scope="module")
def shop(chinese_bundle: Path) -> tuple[Serving, Catalogue]:
    serving = Serving.load(chinese_bundle)
    return serving, Catalogue.from_frame(serving.bundle.dataset.items)


def talk(shop, messages: list[str], events=(), catalogue: Catalogue | None = None):
    serving, default = shop
    conv = Conversation.new(None, "zh")
    answers = []
    for message in messages:
        answer = chat_turn(serving, catalogue or default, conv, message, events)
        conv = answer.conversation
        answers.append(answer)
    return answers


def in_category(catalogue: Catalogue, item_id: str, category: str) -> bool:
    return category.lower() in category_keys(catalogue.get(item_id).category)


def test_a_mouse_then_not_rapoo_then_like_the_second(shop) -> None:
    _, catalogue = shop
    first, second, third = talk(shop, ["我想买个无线鼠标", "不要雷柏的", "像第二个那样的"])
    assert first.conversation.category == "鼠标" and first.conversation.language == "zh"
    assert first.items and all(in_category(catalogue, i.item_id, "鼠标") for i in first.items)
    assert first.reply.startswith("为您找到") and first.question is None
    assert second.items and all("雷柏" not in catalogue.get(i.item_id).title for i in second.items)
    assert all(in_category(catalogue, i.item_id, "鼠标") for i in second.items)
    assert all("不是雷柏" in i.meets for i in second.items)
    pointed = second.items[1].item_id
    assert third.conversation.like_item == pointed
    assert pointed not in [i.item_id for i in third.items]
    assert all("雷柏" not in catalogue.get(i.item_id).title for i in third.items)


def test_a_new_topic_replaces_the_old_one_and_who_it_is_for_is_kept(shop) -> None:
    _, catalogue = shop
    _mice, shavers = talk(shop, ["无线鼠标", "送给爸爸的剃须刀"])
    assert shavers.conversation.category == "电动剃须刀"
    assert shavers.items and all(in_category(catalogue, i.item_id, "电动剃须刀")
                                 for i in shavers.items)
    assert all("适合送爸爸" in i.meets for i in shavers.items)
    assert "剃须刀" in shavers.reply


def test_too_broad_asks_once(shop) -> None:
    first, second = talk(shop, ["推荐点东西", "随便看看"])
    assert first.question and first.question.startswith("您想找哪一类商品") and first.items
    assert second.question is None  # asked once per conversation
    english = talk(shop, ["I want to buy something"])[0]
    assert english.question.startswith("What kind of product")


def test_prices_cheaper_and_a_shop_without_prices(shop) -> None:
    """The real catalogue lists no prices: a price limit is reported as unchecked, never
    silently applied. With prices (set on the catalogue records here, as `POST /items` would),
    "更便宜的" keeps every item below the cheapest one shown."""
    _serving, catalogue = shop
    unpriced = talk(shop, ["鼠标 100元以内"])[0]
    assert unpriced.notes == ["本店商品没有标价，无法按价格筛选。"] and unpriced.items
    priced = Catalogue(replace(catalogue.get(i), price=float(10 + n * 7))
                       for n, i in enumerate(catalogue.ids()))
    first, cheaper = talk(shop, ["鼠标", "更便宜的"], catalogue=priced)
    lowest = min(priced.get(i.item_id).price for i in first.items)
    assert all(priced.get(i.item_id).price < lowest for i in cheaper.items)
    limited = talk(shop, ["鼠标 50元以内"], catalogue=priced)[0]
    assert limited.notes == [] and all(priced.get(i.item_id).price <= 50 for i in limited.items)


def test_the_shoppers_history_shapes_the_answer_and_the_reason(shop) -> None:
    serving, _catalogue = shop
    ds = serving.bundle.dataset
    user = ds.interactions["user_id"].value_counts(sort=True)["user_id"][0]
    rows = ds.interactions.filter(ds.interactions["user_id"] == user)
    events = [EventRecord(user, i, "rating", 5.0, t) for i, t in
              rows.select("item_id", "timestamp").iter_rows()]
    answer = talk(shop, ["推荐点东西"], events=events)[0]
    owned = set(rows["item_id"].to_list())
    assert answer.items and not owned & {i.item_id for i in answer.items}
    assert any(i.why.startswith("常与您选过的") for i in answer.items)


def test_conversation_state_round_trips() -> None:
    conv = Conversation("ab" * 16, "u1", "zh", "鼠标", "鼠标", None, None, 100.0, ["雷柏"],
                        "father", "3982", ["3982", "1"], True, 2)
    assert Conversation.from_json(conv.to_json()) == conv
