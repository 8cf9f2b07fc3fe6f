"""The shop page in Debian's Chromium (Playwright): pick a shopper, buy, see the feed change,
search. Needs /usr/bin/chromium (scripts/test-services.sh installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.service.conftest import API_KEY, LiveServer, eventually, every_worker, serving_copy

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
KEY = {"X-API-Key": API_KEY}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def shop(content_bundle: Path, tmp_path_factory: pytest.TempPathFactory, server_mode: str):
    """A text-aware bundle (search needs item vectors) over 300 real Beauty items."""
    with serving_copy(content_bundle, tmp_path_factory.mktemp("browser"), server_mode,
                      demo_shoppers=12) as live:
        yield live


@contextmanager
def chromium_page(**context: object) -> Iterator[object]:
    """One page in Debian's Chromium (a new browser context with `context`'s options); a missing
    Chromium fails the test with the step that installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; run `bash scripts/test-services.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(**context).new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(shop: LiveServer):
    with chromium_page(viewport={"width": 1280, "height": 900}) as page:
        yield page


def feed_ids(page) -> list[str]:
    return page.eval_on_selector_all("#feed .card", "cards => cards.map(c => c.dataset.itemId)")


def test_a_new_visitor_gets_an_id_a_token_and_their_own_profile(shop: LiveServer, page) -> None:
    """The page (under its strict content-security policy) asks POST /visitors once, then reads
    the visitor's own profile with the token it was given."""
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card")
    page.wait_for_selector("#profile-body >> text=New here")
    visitor = page.evaluate("JSON.parse(localStorage.getItem('shoprec-visitor-token'))")
    assert visitor["user_id"].startswith("visitor-")
    mine, user = {"X-Shopper-Token": visitor["token"]}, visitor["user_id"]
    assert shop.client.get(f"/users/{user}/profile", headers=mine).json()["known"] is False
    # the shop deletes the visitor: the stored token ends, and the page starts a new visit
    assert shop.client.delete(f"/users/{user}", headers=KEY).status_code == 200
    assert shop.client.get(f"/users/{user}/profile", headers=mine).status_code == 401
    page.reload()
    page.wait_for_selector("#feed .card")
    page.wait_for_selector("#profile-body >> text=New here")
    again = page.evaluate("JSON.parse(localStorage.getItem('shoprec-visitor-token'))")
    assert again["user_id"].startswith("visitor-") and again["user_id"] != user
    assert shop.client.get(f"/users/{again['user_id']}/profile",
                           headers={"X-Shopper-Token": again["token"]}).status_code == 200


def shop_as(page, shop: LiveServer, shopper: str) -> list[str]:
    """Open the shop page, pick `shopper`, wait for their feed; the feed's item ids."""
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card")
    page.select_option("#shopper-select", shopper)
    page.wait_for_function("u => document.getElementById('feed').dataset.user === u", arg=shopper)
    return feed_ids(page)


def test_pick_shopper_buy_and_see_the_feed_change(shop: LiveServer, page) -> None:
    shopper = shop.ctx.serving.bundle.dataset.user_map.ids[0]
    before = shop_as(page, shop, shopper)
    assert len(before) == 12
    titles = page.eval_on_selector_all("#feed .card .card-title", "els => els.map(e => e.textContent)")
    assert all(titles) and page.locator("#feed .card .reason").count() == 12
    first = before[0]
    page.click(f'#feed .card[data-item-id="{first}"] button[data-event="purchase"]')
    page.wait_for_function(
        "id => !document.querySelector(`#feed .card[data-item-id=\"${id}\"]`)", arg=first)
    after = feed_ids(page)
    assert first not in after and len(after) == 12
    events = shop.ctx.store.user_events(shopper)
    assert (events[-1].item_id, events[-1].event) == (first, "purchase")
    bought = page.locator("#profile-body .stat", has_text="bought")
    bought.wait_for()
    assert bought.locator("strong").inner_text() == "1"


def test_item_page_shows_similar_items_and_escapes_titles(shop: LiveServer, page) -> None:
    import dataclasses

    item = shop.ctx.serving.item_ids[0]
    record = dataclasses.replace(shop.ctx.catalogue.get(item),
                                 title="<img src=x onerror=\"document.title='pwned'\">Nail polish")
    shop.ctx.store.upsert_items([record])  # as a shop's own import would: every process reads it
    eventually(lambda: all(r.json()["title"] == record.title
                           for r in every_worker(shop, f"/items/{item}")),
               "every worker to read the new title")
    page.goto(f"{shop.url}/shop/items/{item}")
    assert page.inner_text("h1.item-title") == record.title
    assert page.title() != "pwned" and page.locator(".item-detail img").count() == 0
    assert page.locator(".grid .card").count() > 0


def test_search_from_the_box(shop: LiveServer, page) -> None:
    page.goto(shop.url + "/")
    page.wait_for_selector("#feed .card")
    page.fill("#search-input", "nail polish")
    page.press("#search-input", "Enter")
    page.wait_for_function("() => document.getElementById('feed-title').textContent.startsWith('Results')")
    page.wait_for_selector("#feed .card")
    titles = page.eval_on_selector_all("#feed .card .card-title", "els => els.map(e => e.textContent)")
    assert titles and any("nail" in t.lower() for t in titles[:3])
