"""The web page in English and Chinese: catalogs complete, language chosen per request, the
Chinese page holding no English words but product data.

Why extraction in the test: a string marked `_()` in a template or shop.js but never added to
the catalogs would show in English on the Chinese page; extracting the sources afresh (as
`make i18n` does) and finding every msgid translated catches it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from shoprec.service.i18n import (
    accepted_languages,
    catalog,
    page_language,
    script_messages,
)
from shoprec.service.reasons import REASONS, localize_reason
from tests.service.conftest import LiveServer, serving_copy

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "src" / "shoprec" / "service"
METHODS = [("**/templates/**.html", "jinja2"), ("**/static/**.js", "javascript"),
           ("**.py", "python")]
FIELD = re.compile(r"%\((\w+)\)s")
#: Words the Chinese page may show in Latin letters: the product's own name and the language
#: switch's "English" (a language is named in its own language).
ALLOWED_ASCII = {"shoprec", "English"}


def source_msgids() -> set[str]:
    return {msgid for _, _, msgid, *_ in extract_from_dir(str(SERVICE), METHODS) if msgid}


def test_every_string_in_the_sources_is_translated_into_chinese() -> None:
    wanted = source_msgids()
    assert len(wanted) > 50 and "Recommended for you" in wanted and "Buy" in wanted
    zh = {m.id: m for m in catalog("zh") if m.id}
    missing = sorted(w for w in wanted if w not in zh or not zh[w].string or zh[w].fuzzy)
    assert not missing, f"run `make i18n` and translate in zh/LC_MESSAGES/messages.po: {missing}"
    en = {m.id for m in catalog("en") if m.id}
    assert wanted <= en, sorted(wanted - en)


def test_translations_keep_their_placeholders() -> None:
    for m in catalog("zh"):
        if m.id and m.string:
            assert sorted(FIELD.findall(m.string)) == sorted(FIELD.findall(m.id)), m.id


def test_script_messages_are_those_of_shop_js() -> None:
    zh = script_messages("zh")
    assert zh["messages"]["Buy"] == "购买" and "Search" not in zh["messages"]  # template only
    assert zh["reasons"]["Popular with shoppers"] == "顾客喜爱的热门商品"
    en = script_messages("en")
    assert en["messages"]["Buy"] == "Buy" and set(en["reasons"]) == set(REASONS)


def test_reasons_are_read_back_and_translated() -> None:
    from shoprec.service.i18n import translations

    zh = translations("zh").gettext
    assert localize_reason("Because you bought “无线鼠标 100%”", zh) == "因为您购买过“无线鼠标 100%”"
    assert (localize_reason("Often bought with 键盘, which you put in your cart", zh)
            == "常与您加入购物车的 键盘 一起购买")
    assert localize_reason("Matches your interest in the brand 罗技", zh) == "符合您对品牌 罗技 的兴趣"
    assert localize_reason("Something new", zh) == "Something new"


@pytest.mark.parametrize(("query", "cookie", "configured", "header", "catalogue", "expected"), [
    (None, None, "auto", "zh-CN,zh;q=0.9,en;q=0.8", "en", "zh"),
    (None, None, "auto", "en-US,en;q=0.9,zh-CN;q=0.5", "zh", "en"),
    (None, None, "auto", None, "zh", "zh"),  # no preference: the catalogue's language
    (None, None, "auto", "fr-FR,de;q=0.5", "zh", "zh"),  # nothing we speak: the catalogue's
    (None, None, "zh", "en-US", "en", "zh"),  # the operator's --lang beats the browser
    ("en", None, "zh", "zh-CN", "zh", "en"),  # ?lang= beats everything
    (None, "zh", "auto", "en-US", "en", "zh"),  # a remembered ?lang=
    ("xx", None, "auto", "zh-TW", "en", "zh"),  # an unknown ?lang= is ignored
])
def test_page_language_precedence(query, cookie, configured, header, catalogue, expected) -> None:
    assert page_language(query, cookie, configured, header, catalogue) == expected


def test_accept_language_is_ordered_by_quality() -> None:
    assert accepted_languages("en;q=0.5, zh-CN, *;q=0.1, fr;q=0, de;q=x") == ["zh-CN", "en"]


class _Text(HTMLParser):
    """Visible text and attribute text a reader sees (title, placeholder, aria-label), without
    the JSON message block."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [v or "" for k, v in attrs if k in ("placeholder", "aria-label", "alt")]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)  # the logo is "shop<span>rec</span>"


def english_words(html: str, product_texts: list[str]) -> set[str]:
    text = visible_text(html)
    for product in sorted(product_texts, key=len, reverse=True):  # product data may be Latin
        text = text.replace(product, " ")
    return set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED_ASCII


@pytest.fixture(scope="module")
def shop_cn(cn_bundle: Path, tmp_path_factory: pytest.TempPathFactory, server_mode: str):
    with serving_copy(cn_bundle, tmp_path_factory.mktemp("i18n"), server_mode, demo_shoppers=5) as live:
        yield live


def product_texts(live: LiveServer) -> list[str]:
    """The catalogue's own texts, and the serving model's name (an identifier, like "shoprec")."""
    items = live.ctx.serving.bundle.dataset.items
    model = live.client.get("/health").json()["model"].split("@")[0]
    return [t for c in ("title", "category") for t in items[c].to_list() if t] + [model]


def test_the_chinese_shop_serves_chinese_pages_with_no_english_left(shop_cn: LiveServer) -> None:
    item = shop_cn.ctx.serving.item_ids[0]
    for path in ("/", f"/shop/items/{item}"):
        page = shop_cn.client.get(path)  # httpx sends no Accept-Language: the catalogue's
        assert page.status_code == 200 and page.headers["content-language"] == "zh"
        assert '<html lang="zh">' in page.text and "shoprec 商店" in page.text
        assert not english_words(page.text, product_texts(shop_cn)), path
    english = shop_cn.client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Recommended for you" in english.text
    assert english_words(english.text, product_texts(shop_cn))  # the check does see English


def test_lang_query_overrides_and_is_remembered(shop_cn: LiveServer) -> None:
    import httpx

    with httpx.Client(base_url=shop_cn.url) as client:
        first = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
        assert '<html lang="en">' in first.text and first.cookies.get("shoprec-lang") == "en"
        again = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert '<html lang="en">' in again.text


def test_item_page_offers_the_product_image_and_translated_reasons(shop_cn: LiveServer) -> None:
    ctx = shop_cn.ctx
    item = ctx.serving.item_ids[0]
    record = ctx.catalogue.get(item)
    assert record is not None and record.attributes["image_url"].startswith("https://")
    page = shop_cn.client.get(f"/shop/items/{item}").text
    assert f'data-image="{record.attributes["image_url"]}"' in page
    shown = visible_text(page)
    assert "购买此商品的顾客也购买了" in shown and "Shoppers who" not in shown
