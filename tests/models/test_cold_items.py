"""Items added after training reach every model that reads text (the `AddsItems` protocol):
the text-aware transformer and the blend rank a new item that reads like a shopper's history
among that shopper's first ten, without a retrain; an id-only transformer says it cannot."""

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.models.base import AddsItems, adds_items
from shoprec.models.content import ContentModel
from shoprec.models.hybrid import Hybrid
from shoprec.models.ranking import top_k
from shoprec.models.sasrec import SASRec

SMALL = {"dim": 32, "layers": 1, "heads": 1, "max_len": 20, "dropout": 0.1, "batch_size": 64,
         "max_epochs": 10, "progress": False}
NEW = {"opi-big-apple-red": "OPI Nail Lacquer, Big Apple Red, 0.5 Fluid Ounce",
       "ardell-lashes-110": "Ardell Fashion Lashes Pair - 110 Black (Pack of 4)",
       "lodge-skillet-12": "Lodge Cast Iron Skillet, Pre-Seasoned, 12 Inch"}


def new_rows(ds: Dataset) -> pl.DataFrame:
    return pl.DataFrame({"item_id": list(NEW), "title": list(NEW.values())},
                        schema={"item_id": pl.String, "title": pl.String}).with_columns(
        *[pl.lit(None, dtype=ds.items.schema[c]).alias(c) for c in ds.items.columns
          if c not in ("item_id", "title")]).select(ds.items.columns)


def fan(ds: Dataset, word: str, n: int = 3) -> History:
    """A shopper who bought the first `n` catalogue items whose title says `word`."""
    titles = ds.items["title"].fill_null("").str.to_lowercase()
    items = np.flatnonzero(titles.str.contains(word).to_numpy())[:n]
    assert len(items) == n, word
    return History(items)


def ranks(model: AddsItems, history: History, items: np.ndarray) -> list[int]:
    """Each of `items`' place in the shopper's ranking (0 = first), seen items left out."""
    scores = model.score([history])
    idx, _ = top_k(scores, scores.shape[1], [history])
    order = idx[0].tolist()
    return [order.index(int(i)) for i in items]


@pytest.fixture(scope="module")
def text_sasrec(beauty_top500: Dataset, embedding_cache_dir: Path, tmp_path_factory) -> Path:
    """A small id+text transformer (the served kind), saved once; each test loads its own copy."""
    path = tmp_path_factory.mktemp("sasrec") / "model"
    SASRec(text_cache=str(embedding_cache_dir), **SMALL).fit(full_train(beauty_top500)).save(path)
    return path


@pytest.fixture(scope="module")
def blend(beauty_top500: Dataset, embedding_cache_dir: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hybrid") / "model"
    Hybrid(components=("sasrec", "itemknn"), component_params={
        "sasrec": {**SMALL, "text_cache": str(embedding_cache_dir)}}).fit(
        full_train(beauty_top500)).save(path)
    return path


@pytest.mark.parametrize("kind", [SASRec, Hybrid])
def test_new_item_that_reads_like_the_history_is_in_the_top_ten(
        kind: type, text_sasrec: Path, blend: Path, beauty_top500: Dataset) -> None:
    model = kind.load(text_sasrec if kind is SASRec else blend)
    n = beauty_top500.n_items
    lacquer_fan, lash_fan = fan(beauty_top500, "nail lacquer"), fan(beauty_top500, "lash")
    assert model.score([lacquer_fan]).shape == (1, n)  # before: the new items do not exist
    assert isinstance(model, AddsItems) and adds_items(model)
    added = model.add_items_from_text(new_rows(beauty_top500))
    assert added.tolist() == [n, n + 1, n + 2]
    red, lashes, skillet = ranks(model, lacquer_fan, added)
    assert red < 10 and lashes >= 10 and skillet >= 100, (red, lashes, skillet)
    red, lashes, skillet = ranks(model, lash_fan, added)
    assert lashes < 10 and red >= 10 and skillet >= 100, (red, lashes, skillet)
    bought = History(np.append(lacquer_fan.items, added[0]))  # a history may hold a new item
    assert model.score([bought]).shape == (1, n + 3)


def test_new_item_borrows_the_id_vector_of_the_item_that_reads_most_alike(
        text_sasrec: Path, beauty_top500: Dataset, tmp_path: Path) -> None:
    """The same title as a trained item gives that item's vector (id part borrowed, text part
    the same), so the same scores; with borrowing off the new item has its text part alone."""
    model = SASRec.load(text_sasrec)
    twin = int(fan(beauty_top500, "nail lacquer").items[0])
    row = beauty_top500.items[twin].with_columns(pl.lit("copy").alias("item_id"))
    (copy,) = model.add_items_from_text(row)
    h = fan(beauty_top500, "lash")
    scores = model.score([h])[0]
    np.testing.assert_allclose(scores[copy], scores[twin], rtol=1e-4, atol=1e-4)
    header = json.loads((text_sasrec / "model.json").read_text())
    header["config"]["new_item_ids"] = "zero"
    shutil.copytree(text_sasrec, tmp_path / "zero")
    (tmp_path / "zero" / "model.json").write_text(json.dumps(header))
    zero = SASRec.load(tmp_path / "zero")
    (alone,) = zero.add_items_from_text(row)
    items = zero.net_.items
    assert float(items.ids.weight[alone].detach().abs().sum()) == 0.0
    assert float(items.ids.weight[twin].detach().abs().sum()) > 0.0


def test_saved_model_holds_its_trained_items_only(text_sasrec: Path, beauty_top500: Dataset,
                                                  tmp_path: Path) -> None:
    """Items added from text are not written (the live catalogue gives them again on load), so
    a saved model always matches its bundle's catalogue."""
    model = SASRec.load(text_sasrec)
    model.add_items_from_text(new_rows(beauty_top500))
    model.save(tmp_path / "again")
    again = SASRec.load(tmp_path / "again")
    h = fan(beauty_top500, "lash")
    assert again.score([h]).shape == (1, beauty_top500.n_items)
    np.testing.assert_allclose(again.score([h])[0], model.score([h])[0, :beauty_top500.n_items],
                               rtol=1e-5, atol=1e-5)


def test_id_only_transformer_and_a_blend_without_text_do_not_claim_it(
        beauty_top500: Dataset) -> None:
    ids_only = SASRec(item_repr="id", id_init="random", **{**SMALL, "max_epochs": 1}).fit(
        full_train(beauty_top500))
    assert isinstance(ids_only, AddsItems) and not adds_items(ids_only)
    with pytest.raises(ValueError, match="cannot embed new items"):
        ids_only.add_items_from_text(new_rows(beauty_top500))
    blend = Hybrid.from_fitted({"sasrec": ids_only}, _valid(beauty_top500))
    assert not adds_items(blend)
    with pytest.raises(ValueError, match="no weighted component"):
        blend.add_items_from_text(new_rows(beauty_top500))
    assert adds_items(ContentModel())  # the content models always can


def _valid(ds: Dataset):
    from shoprec.models.training_loop import last_item_validation

    return last_item_validation(full_train(ds).histories)[1]
