"""A screenshot of the operator dashboard during a replayed experiment (for the README).

Serves the item-kNN bundle of benchmarks/experiments.py (run that first), starts an experiment
against its SASRec bundle, replays 3,000 held-back Beauty events, opens /admin in Chromium,
logs in and saves benchmarks/results/service-admin.png.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/admin_screenshot.py
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from shoprec.cli.replay import local_server
from shoprec.data.sources import load_dataset
from shoprec.experiments.holdout import hold_out_last
from shoprec.experiments.replay import replay, sample

WORK = Path("artifacts/experiments")
OUT = Path("benchmarks/results/service-admin.png")


def main() -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    _, held = hold_out_last(load_dataset("amazon-beauty"))
    key = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory() as work, local_server(WORK / "itemknn", Path(work),
                                                              key) as url:
        exp = httpx.post(f"{url}/admin/experiments", headers={"X-API-Key": key}, timeout=600,
                         json={"name": "item-kNN vs SASRec (replay)", "variants": [
                             {"name": "itemknn"},
                             {"name": "sasrec", "bundle": str((WORK / "sasrec").resolve())}]})
        exp.raise_for_status()
        for part in range(3):
            replay(url, sample(held, 1000, seed=part), clients=4, api_key=key)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(url + "/admin")
            page.fill("#api-key", key)
            page.click("#login-form button")
            page.wait_for_function("() => (document.getElementById('ctr-chart').data || [])"
                                   ".length === 4")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
        httpx.post(f"{url}/admin/experiments/{exp.json()['id']}/stop",
                   headers={"X-API-Key": key}, timeout=60)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
