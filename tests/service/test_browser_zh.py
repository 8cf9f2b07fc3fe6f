"""Shopping in Chinese, in Debian's Chromium (Playwright): a browser that prefers Chinese gets the
page in Chinese, searches for 无线鼠标 and sees mice, buys one and sees the feed change.

The tests run in order on one page of one server over the Chinese shop (96 Amazon.cn products,
read by the multilingual encoder), like one visit; a later step (the chat panel) appends a test
that uses the same `page`. Amazon's image host is not reachable here, so image requests are
answered by the test itself: one picture loads, the others fail and keep their placeholder.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.service.conftest import LiveServer, serving_copy
from tests.service.test_browser import chromium_page, feed_ids, shop_as

pytestmark = pytest.mark.slow
#: A 1x1 PNG, the picture served for the one image that "loads".
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
                       "hKmMIQAAAABJRU5ErkJggg==")
IMAGE_HOST = "https://images-cn-4.ssl-images-amazon.com/**"
ALLOWED_ASCII = {"shoprec", "English"}  # the product's name; the language switch's "English"


@pytest.fixture(scope="module")
def shop(cn_bundle: Path, tmp_path_factory: pytest.TempPathFactory, server_mode: str):
    with serving_copy(cn_bundle, tmp_path_factory.mktemp("browser-zh"), server_mode,
                      demo_shoppers=12) as live:
        yield live


@pytest.fixture(scope="module")
def loading_image(shop: LiveServer) -> str:
    """The image URL that the test answers with a picture (the first item's)."""
    return shop.ctx.catalogue.get(shop.ctx.serving.item_ids[0]).attributes["image_url"]


@pytest.fixture(scope="module")
def page(shop: LiveServer, loading_image: str):
    def answer(route) -> None:
        if route.request.url == loading_image:
            route.fulfill(status=200, content_type="image/png", body=PNG)
        else:
            route.abort()

    with chromium_page(locale="zh-CN", viewport={"width": 1280, "height": 900},
                       extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as page:
        page.context.route(IMAGE_HOST, answer)
        yield page


def product_texts(shop: LiveServer) -> list[str]:
    items = shop.ctx.serving.bundle.dataset.items
    texts = [t for c in ("title", "category") for t in items[c].to_list() if t]
    return sorted(texts, key=len, reverse=True)


def english_words(page, shop: LiveServer) -> set[str]:
    text = page.inner_text("body")
    for product in product_texts(shop):
        text = text.replace(product, " ")
    model = page.get_attribute("#serving-model", "data-model")  # an identifier, like "shoprec"
    if model:
        text = text.replace(model, " ")
    # a profile's interest tags are products' words, lower-cased ("usb" from "USB 鼠标")
    product_words = {w.lower() for t in product_texts(shop) for w in re.findall(r"[A-Za-z]{2,}", t)}
    return {w for w in re.findall(r"[A-Za-z]{2,}", text)
            if w.lower() not in product_words} - ALLOWED_ASCII


def test_the_page_is_in_chinese(shop: LiveServer, page) -> None:
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card .reason")
    page.wait_for_selector("#profile-body >> text=初次光临")
    assert page.get_attribute("html", "lang") == "zh"
    assert page.inner_text("#feed-title") == "为您推荐"
    assert page.locator("#feed .card button[data-event=purchase]").first.inner_text() == "购买"
    assert page.get_attribute("#search-input", "placeholder").startswith("搜索商品")
    assert not english_words(page, shop)


def test_a_product_image_shows_when_it_loads_and_the_placeholder_otherwise(
        shop: LiveServer, page, loading_image: str) -> None:
    first = shop.ctx.serving.item_ids[0]
    page.goto(f"{shop.url}/shop/items/{first}")
    page.wait_for_selector(".item-detail .thumb.has-image img")
    assert page.get_attribute(".item-detail .thumb img", "src") == loading_image
    page.wait_for_function("() => document.querySelectorAll('.grid .card .thumb img').length === 0")
    letters = page.eval_on_selector_all(".grid .card .thumb", "ts => ts.map(t => t.textContent)")
    assert letters and all(len(t.strip()) == 1 for t in letters)  # the placeholder letter


def test_search_for_wireless_mouse_shows_mice(shop: LiveServer, page) -> None:
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card")
    page.fill("#search-input", "无线鼠标")
    page.press("#search-input", "Enter")
    page.wait_for_function(
        "() => document.getElementById('feed-title').textContent === '“无线鼠标”的搜索结果'")
    page.wait_for_selector("#feed .card")
    categories = page.eval_on_selector_all("#feed .card .chip", "els => els.map(e => e.textContent)")
    assert categories and all("鼠标" in c for c in categories[:3]), categories[:5]
    reason = page.locator("#feed .card .reason").first.inner_text()
    assert reason.startswith("符合“无线鼠标”"), reason


def test_buy_a_mouse_and_the_feed_changes(shop: LiveServer, page) -> None:
    shopper = shop.ctx.serving.bundle.dataset.user_map.ids[0]
    before = shop_as(page, shop, shopper)
    assert len(before) == 12
    first = before[0]
    page.click(f'#feed .card[data-item-id="{first}"] button[data-event="purchase"]')
    page.wait_for_selector("#toast >> text=感谢您的订购！")
    page.wait_for_function(
        "id => !document.querySelector(`#feed .card[data-item-id=\"${id}\"]`)", arg=first)
    after = feed_ids(page)
    assert first not in after and after != before and len(after) == 12
    events = shop.ctx.store.user_events(shopper)
    assert (events[-1].item_id, events[-1].event) == (first, "purchase")
    page.locator("#profile-body .stat", has_text="已购买").wait_for()
    assert not english_words(page, shop)


def test_chat_in_chinese_keeps_the_constraints_and_buys_from_the_answer(shop: LiveServer,
                                                                         page) -> None:
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card")
    assert page.inner_text("#chat-title") == "问问店员"
    page.fill("#chat-input", "我想买个无线鼠标")
    page.press("#chat-input", "Enter")
    page.wait_for_selector(".chat-answer >> nth=0")
    first = page.locator(".chat-answer").nth(0)
    assert first.locator(".chat-reply").inner_text().startswith("为您找到")
    chips = first.locator(".chip.meets").all_inner_texts()
    assert chips and all(c == "属于鼠标" for c in chips)
    page.fill("#chat-input", "不要雷柏的")
    page.click("#chat-form button[type=submit]")
    page.wait_for_selector(".chat-answer >> nth=1")
    second = page.locator(".chat-answer").nth(1)
    titles = second.locator(".card-title").all_inner_texts()
    assert titles and not any("雷柏" in t for t in titles)
    assert "不是雷柏" in second.locator(".chip.meets").all_inner_texts()
    before = feed_ids(page)
    bought = second.locator(".card").first.get_attribute("data-item-id")
    second.locator(".card").first.locator("button[data-event=purchase]").click()
    page.wait_for_selector("#toast >> text=感谢您的订购！")
    page.wait_for_function("b => JSON.stringify([...document.querySelectorAll('#feed .card')]"
                           ".map(c => c.dataset.itemId)) !== b", arg=json.dumps(before,
                                                                                 separators=(",", ":")))
    user = page.evaluate("JSON.parse(localStorage.getItem('shoprec-visitor-token') || 'null')")
    shopper = page.input_value("#shopper-select") or user["user_id"]
    events = shop.ctx.store.user_events(shopper)
    assert (events[-1].item_id, events[-1].event) == (bought, "purchase")
    assert not english_words(page, shop)
