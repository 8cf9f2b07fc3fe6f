"""Search on real Beauty titles, through the library and the `shoprec search` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from shoprec.bundle import Bundle, load_bundle
from shoprec.cli import app
from shoprec.data.dataset import Dataset
from shoprec.data.errors import DataError
from shoprec.search import SearchFilters, allowed_items, search_items


@pytest.fixture(scope="module")
def bundle_dir(beauty: Dataset, beauty_items_300: pl.DataFrame, embedding_cache_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content-model bundle trained by the CLI on real shoppers of the first 300 Beauty items."""
    shop = tmp_path_factory.mktemp("shop")
    inter = beauty.interactions.join(beauty_items_300.select("item_id"), on="item_id", how="semi")
    inter.select("user_id", "item_id", "timestamp").write_csv(shop / "interactions.csv")
    beauty_items_300.select("item_id", "title").write_csv(shop / "items.csv")
    out = shop / "bundle"
    params = json.dumps({"cache_dir": str(embedding_cache_dir)})
    result = CliRunner().invoke(app, ["train", str(shop), "--out", str(out), "--model", "content",
                                      "--params", params])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


def test_red_nail_polish_finds_nail_polish(bundle: Bundle) -> None:
    results = search_items(bundle, "red nail polish", k=5)
    titles = [r["title"].lower() for r in results]
    assert all("nail" in t or "lacquer" in t for t in titles[:3]), titles
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_personalised_search_moves_toward_the_shoppers_taste(bundle: Bundle) -> None:
    plain = search_items(bundle, "gift", k=10)
    user = bundle.dataset.interactions["user_id"][0]
    personal = search_items(bundle, "gift", k=10, user_id=user, personal_weight=1.0)
    assert [r["item_id"] for r in plain] != [r["item_id"] for r in personal]


def test_filters_the_catalogue_lacks_are_errors_not_ignored(bundle: Bundle) -> None:
    with pytest.raises(DataError, match="price"):
        search_items(bundle, "shampoo", filters=SearchFilters(max_price=10))
    with pytest.raises(DataError, match="empty"):
        search_items(bundle, "  ")


def test_price_and_category_masks() -> None:
    items = pl.DataFrame({"item_id": ["a", "b", "c", "d"], "price": ["5", "25.5", None, "80"],
                          "category": ["Skin Care", "Hair Care", "Skin care", None]})
    mask = allowed_items(items, SearchFilters(min_price=10, max_price=50))
    np.testing.assert_array_equal(mask, [False, True, False, False])
    mask = allowed_items(items, SearchFilters(category="skin"))
    np.testing.assert_array_equal(mask, [True, False, True, False])
    assert allowed_items(items, SearchFilters()) is None


def test_search_command_prints_titles(bundle_dir: Path) -> None:
    result = CliRunner().invoke(app, ["search", str(bundle_dir), "red nail polish", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "Nail" in result.output
    bad = CliRunner().invoke(app, ["search", str(bundle_dir), "soap", "--user", "nobody"])
    assert bad.exit_code == 2 and "nobody" in bad.output
