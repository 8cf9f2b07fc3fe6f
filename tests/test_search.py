"""Search on real Beauty titles, through the library and the `shoprec search` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from shoprec.bundle import Bundle
from shoprec.cli import app
from shoprec.data.dataset import Dataset
from shoprec.data.errors import DataError
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.opened_shop import LocalShop, open_shop
from shoprec.engine.recommending import shopper_state
from shoprec.engine.rules import NO_FILTERS, Filters, allowed_mask
from shoprec.store import ItemRecord


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
def shop(bundle_dir: Path) -> LocalShop:
    return open_shop(bundle_dir)


@pytest.fixture(scope="module")
def bundle(shop: LocalShop) -> Bundle:
    return shop.serving.bundle


def search_items(shop: LocalShop, query: str, k: int = 10, user_id: str | None = None,
                 filters: Filters = NO_FILTERS, personal_weight: float = 0.3) -> list[dict]:
    """The engine's search as the CLI runs it, as dicts with the item's title."""
    serving = shop.serving
    history = (shopper_state(serving, shop.events(user_id), shop.catalogue).history
               if user_id else None)
    ranked = serving.searcher.search(query, k, serving.item_ids, serving.item_index,
                                     shop.catalogue, history, filters, personal_weight)
    return [{"item_id": r.item_id, "title": shop.catalogue.get(r.item_id).title,
             "score": r.score} for r in ranked]


def test_red_nail_polish_finds_nail_polish(shop: LocalShop) -> None:
    results = search_items(shop, "red nail polish", k=5)
    titles = [r["title"].lower() for r in results]
    assert all("nail" in t or "lacquer" in t for t in titles[:3]), titles
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


FRAGRANCE = ("parfum", "eau de", "edt", "edp", "cologne", "fragrance")


def _is_fragrance(title: str | None) -> bool:
    return any(w in (title or "").lower() for w in FRAGRANCE)


def _is_nail(title: str | None) -> bool:
    return "nail" in (title or "").lower() or "lacquer" in (title or "").lower()


def _shopper_who_only_bought(bundle: Bundle, kind) -> str:
    """The first real shopper with 3 or more purchases, every one of them of `kind`."""
    titles = dict(zip(bundle.dataset.items["item_id"], bundle.dataset.items["title"]))
    histories = bundle.dataset.interactions.group_by("user_id", maintain_order=True).agg("item_id")
    return next(u for u, items in histories.iter_rows()
                if len(items) >= 3 and all(kind(titles[i]) for i in items))


def test_personalised_search_moves_toward_the_shoppers_taste(shop: LocalShop, bundle: Bundle
                                                            ) -> None:
    """"gift" alone finds few perfumes; for a shopper who only ever bought perfumes it finds
    mostly perfumes, for one who only bought nail products mostly nail products."""
    plain = search_items(shop, "gift", k=10)
    assert sum(_is_fragrance(r["title"]) for r in plain) <= 3, [r["title"] for r in plain]
    assert sum(_is_nail(r["title"]) for r in plain) <= 3, [r["title"] for r in plain]
    perfume_fan = _shopper_who_only_bought(bundle, _is_fragrance)
    nail_fan = _shopper_who_only_bought(bundle, _is_nail)
    for weight, at_least in ((1.0, 9), (0.3, 6)):  # 0.3: the default nudge
        personal = search_items(shop, "gift", k=10, user_id=perfume_fan, personal_weight=weight)
        titles = [r["title"] for r in personal]
        assert sum(_is_fragrance(t) for t in titles) >= at_least, (weight, titles)
    personal = search_items(shop, "gift", k=10, user_id=nail_fan, personal_weight=1.0)
    titles = [r["title"] for r in personal]
    assert sum(_is_nail(t) for t in titles) >= 7 and not any(map(_is_fragrance, titles)), titles
    # the nudge is all that changes: with weight 0 the shopper gets the plain results
    assert search_items(shop, "gift", k=10, user_id=perfume_fan, personal_weight=0.0) == plain


def test_filters_the_catalogue_lacks_are_errors_not_ignored(shop: LocalShop) -> None:
    with pytest.raises(DataError, match="price"):
        search_items(shop, "shampoo", filters=Filters(max_price=10))
    with pytest.raises(DataError, match="categor"):
        search_items(shop, "shampoo", filters=Filters(category="hair"))
    with pytest.raises(DataError, match="empty"):
        search_items(shop, "  ")


def test_price_category_and_brand_masks() -> None:
    """One rule for every surface: a category matches its whole name or one level of its path
    (any case, never a substring), a brand its name; an unknown price fails a price filter."""
    records = [ItemRecord("a", price=5, category="Beauty > Skin Care > Face", brand="Nivea"),
               ItemRecord("b", price=25.5, category="Beauty, Hair Care", brand="nivea"),
               ItemRecord("c", price=None, category="skin care", brand="Dove"),
               ItemRecord("d", price=80, category=None, brand=None)]
    catalogue = Catalogue(records)
    ids = [r.item_id for r in records]
    index = {x: n for n, x in enumerate(ids)}

    def mask(**kw):
        return allowed_mask(Filters(**kw), ids, index, catalogue)

    np.testing.assert_array_equal(mask(min_price=10, max_price=50), [False, True, False, False])
    np.testing.assert_array_equal(mask(category="Skin Care"), [True, False, True, False])
    np.testing.assert_array_equal(mask(category="beauty"), [True, True, False, False])
    np.testing.assert_array_equal(mask(category="skin"), [False, False, False, False])
    np.testing.assert_array_equal(mask(brand="NIVEA"), [True, True, False, False])
    np.testing.assert_array_equal(mask(brand="nivea", max_price=10), [True, False, False, False])
    assert mask() is None and mask(exclude=("a",)) is None
    with pytest.raises(DataError, match="min_price"):
        Filters(min_price=20, max_price=10)


def test_search_command_prints_titles(bundle_dir: Path) -> None:
    result = CliRunner().invoke(app, ["search", str(bundle_dir), "red nail polish", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "Nail" in result.output
    bad = CliRunner().invoke(app, ["search", str(bundle_dir), "soap", "--user", "nobody"])
    assert bad.exit_code == 2 and "nobody" in bad.output
