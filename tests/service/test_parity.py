"""The command line and the HTTP service answer from one engine: for the same shopper, history,
catalogue and filters they return the same list (ids and scores), for recommendations and search.

The server runs for real; the CLI reads the server's own store (fresh events, and catalogue
fields the shop set through `POST /items`), as a shop's engineer would run it beside a service.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app
from tests.service.conftest import API_KEY, LiveServer, serving_copy

runner = CliRunner()
KEY = {"X-API-Key": API_KEY}
FILTERS = [  # (query parameters, the same as CLI options)
    ({}, []),
    ({"category": "skin care"}, ["--category", "skin care"]),
    ({"category": "BEAUTY", "max_price": 40}, ["--category", "BEAUTY", "--max-price", "40"]),
    ({"brand": "acme", "min_price": 20}, ["--brand", "acme", "--min-price", "20"]),
]


def dress_catalogue(live: LiveServer, item_ids: list[str]) -> None:
    """Give items category paths, brands and prices through the API (the store's catalogue)."""
    items = [{"item_id": i, "title": live.ctx.catalogue.get(i).title,
              "category": "Beauty > Skin Care" if n % 2 else "Beauty > Hair Care",
              "brand": ("Acme", "Brio", "Cara")[n % 3], "price": 5.0 + (n * 7) % 90}
             for n, i in enumerate(item_ids)]
    r = live.client.post("/items", json={"items": items}, headers=KEY)
    assert r.status_code == 200, r.text


def cli_json(args: list[str]) -> list[dict]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def same_list(api_items: list[dict], cli_items: list[dict]) -> None:
    assert [i["item_id"] for i in api_items] == [i["item_id"] for i in cli_items]
    for a, c in zip(api_items, cli_items):
        assert a["score"] == pytest.approx(c["score"], rel=1e-5, abs=1e-6)


def test_recommend_cli_equals_api(slice_bundle: Path, tmp_path: Path, server_mode: str) -> None:
    with serving_copy(slice_bundle, tmp_path, server_mode) as live:
        ctx = live.ctx
        popular = [ctx.serving.item_ids[i] for i in (-ctx.serving.popularity).argsort()]
        dress_catalogue(live, popular[:300])
        known = ctx.serving.bundle.dataset.user_map.ids[3]
        fresh = "parity-new-shopper"
        events = [
            {"user_id": known, "item_id": popular[5], "event": "purchase"},
            {"user_id": known, "item_id": popular[6], "event": "dismiss"},
            {"user_id": fresh, "item_id": popular[10], "event": "view"},
            {"user_id": fresh, "item_id": popular[11], "event": "cart"},
            {"user_id": fresh, "item_id": popular[12], "event": "dismiss"},
        ]
        assert live.client.post("/events", json=events, headers=KEY).status_code == 200
        store = f"sqlite:///{tmp_path / 'store.sqlite'}"
        bundle = str(tmp_path / "bundle")
        for user in (known, fresh):
            for params, options in FILTERS:
                for exclude in ([], [popular[0], popular[1]]):
                    query = {**params, "k": 10, "exclude": exclude}
                    body = live.client.get(f"/recommendations/{user}", params=query).json()
                    assert body["strategy"] == "model", body
                    cli = cli_json(["recommend", bundle, "--user", user, "--k", "10",
                                    "--database-url", store, *options,
                                    *[x for e in exclude for x in ("--exclude", e)]])
                    same_list(body["items"], cli)
                    shown = {i["item_id"] for i in cli}
                    assert not shown & {popular[6], popular[12], *exclude}  # dismissed, excluded
                    assert popular[5] not in shown  # bought
        # a filter the catalogue cannot answer is the same clear error on both sides
        r = live.client.get(f"/recommendations/{fresh}", params={"category": "x", "brand": "y",
                                                                  "min_price": 9, "max_price": 3})
        assert r.status_code == 422 and "min_price" in r.text
        result = runner.invoke(app, ["recommend", bundle, "--user", fresh, "--min-price", "9",
                                     "--max-price", "3", "--database-url", store])
        assert result.exit_code == 2 and "min_price" in result.output


def test_search_cli_equals_api(content_bundle: Path, tmp_path: Path, server_mode: str) -> None:
    with serving_copy(content_bundle, tmp_path, server_mode) as live:
        ids = live.ctx.serving.item_ids
        dress_catalogue(live, ids[:200])
        user = live.ctx.serving.bundle.dataset.user_map.ids[0]
        assert live.client.post("/events", headers=KEY, json=[
            {"user_id": user, "item_id": ids[7], "event": "purchase"}]).status_code == 200
        store = f"sqlite:///{tmp_path / 'store.sqlite'}"
        for params, options in FILTERS:
            for who in ({}, {"user_id": user}):
                body = live.client.get("/search", params={"q": "nail polish", "k": 8, **params,
                                                          **who}).json()
                cli = cli_json(["search", str(tmp_path / "bundle"), "nail polish", "--k", "8",
                                "--database-url", store, *options,
                                *(["--user", user] if who else [])])
                assert body["items"], (params, who)
                same_list(body["items"], cli)
