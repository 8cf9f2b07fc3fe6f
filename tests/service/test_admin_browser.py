"""The operator dashboard in Debian's Chromium (Playwright): log in with the shop's key, start
an experiment from the page, generate traffic, and see both variants drawn by plotly.js.
Needs /usr/bin/chromium (scripts/test-services.sh installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import (
    API_KEY,
    LiveServer,
    eventually,
    serving_copy,
    write_slice_bundle,
)
from tests.service.test_browser import chromium_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(slice_bundle: Path, beauty_slice, tmp_path_factory: pytest.TempPathFactory,
         server_mode: str):
    folder = tmp_path_factory.mktemp("admin")
    challenger = write_slice_bundle(beauty_slice, folder / "popular", "popular")
    with serving_copy(slice_bundle, folder, server_mode) as live:
        live.challenger = challenger
        yield live


@pytest.fixture(scope="module")
def page(shop: LiveServer):
    with chromium_page(viewport={"width": 1400, "height": 1000}) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page


def test_the_dashboard_needs_the_key(shop: LiveServer, page) -> None:
    page.goto(shop.url + "/admin")
    page.fill("#api-key", "wrong-key")
    page.click("#login-form button")
    page.wait_for_function("() => document.getElementById('login-error').textContent.length > 0")
    assert page.is_visible("#login") and not page.is_visible("#dashboard")


def test_start_an_experiment_generate_traffic_and_see_both_variants(shop: LiveServer,
                                                                   page) -> None:
    page.goto(shop.url + "/admin")
    page.fill("#api-key", API_KEY)
    page.click("#login-form button")
    page.wait_for_selector("#dashboard", state="visible")
    page.fill("#b-name", "popular")
    page.fill("#b-bundle", str(shop.challenger))
    page.click("#start-button")
    page.wait_for_selector("#experiment-running", state="visible")

    users = [str(u) for u in shop.ctx.serving.bundle.dataset.user_map.ids[:80]]
    # the page's request reached one worker; another follows within about a second
    eventually(lambda: shop.client.get(f"/recommendations/{users[0]}?k=5").json()["variant"],
               "this connection's worker to serve the experiment")
    clicks = []
    for user in users:
        body = shop.client.get(f"/recommendations/{user}?k=5").json()
        assert body["variant"] in ("control", "popular")
        if len(clicks) < 20 and body["items"]:
            clicks.append({"user_id": user, "item_id": body["items"][0]["item_id"],
                           "event": "click", "request_id": body["request_id"]})
    assert shop.client.post("/events", json={"events": clicks},
                            headers={"X-API-Key": API_KEY}).json()["attributed"] == 20

    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#variant-rows tr')];
        return rows.length === 2 && rows.every(r => Number(r.children[2].textContent) > 0);
    }""")
    page.wait_for_function("() => (document.getElementById('ctr-chart').data || []).length === 4")
    legend = page.eval_on_selector_all("#ctr-chart .legendtext", "els => els.map(e => e.textContent)")
    assert sorted(legend) == ["control", "popular"]
    drawn = page.eval_on_selector_all("#ctr-chart .scatterlayer .trace path.js-line",
                                      "els => els.filter(e => (e.getAttribute('d') || '').length > 0).length")
    assert drawn >= 2
    bars = page.eval_on_selector_all("#exposure-chart .legendtext", "els => els.map(e => e.textContent)")
    assert sorted(bars) == ["control", "popular"]
    assert page.locator("#traffic-chart .bars path").count() > 0
    assert "SRM p =" in page.inner_text("#exp-checks")
    assert not [e for e in page.errors if "Content Security Policy" in e or "Plotly" in e], page.errors

    page.select_option("#promote-variant", "popular")
    page.click("#promote-button")
    page.wait_for_selector("#experiment-none", state="visible")
    eventually(lambda: shop.client.get(f"/recommendations/{users[0]}").json()["model"]
               .startswith("popular@"), "the winner to serve")
    page.wait_for_function("() => document.getElementById('finished-rows').textContent.includes('promoted')")
