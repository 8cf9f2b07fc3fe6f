"""A text-aware bundle: an item added through the API is recommendable at once, no retrain."""

from __future__ import annotations

import polars as pl
import pytest

from shoprec.bundle import write_bundle
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import MODELS
from shoprec.service.settings import ServiceSettings
from tests.service.conftest import API_KEY, LiveServer, start_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif("content" not in MODELS, reason="content model not registered")]


@pytest.fixture(scope="module")
def content_live(beauty: Dataset, beauty_items_300: pl.DataFrame, embedding_cache_dir,  # noqa: ANN001
                 tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from shoprec.models.content import ContentModel

    inter = beauty.interactions.filter(pl.col("item_id").is_in(beauty_items_300["item_id"].implode()))
    ds = build_dataset(beauty_items_300, inter.drop("user", "item"), name="beauty-300")
    model = ContentModel(cache_dir=str(embedding_cache_dir), threads=2).fit(full_train(ds))
    folder = tmp_path_factory.mktemp("content")
    bundle = write_bundle(folder / "bundle", ds, model)
    settings = ServiceSettings(database_url=f"sqlite:///{folder / 'store.sqlite'}", api_key=API_KEY)
    server, thread, live = start_server(bundle, settings)
    yield live
    live.client.close()
    server.should_exit = True
    thread.join(timeout=10)


def test_new_item_is_ranked_from_its_text_at_once(content_live: LiveServer) -> None:
    live = content_live
    polish = [r for r in live.ctx.catalogue.ids()
              if "nail lacquer" in (live.ctx.catalogue.get(r).title or "").lower()][:3]
    assert len(polish) == 3
    user = "cold-start-fan"
    live.client.post("/events", json=[{"user_id": user, "item_id": i, "event": "purchase"}
                                      for i in polish])
    new = {"item_id": "opi-new-red", "title": "OPI Nail Lacquer, Big Apple Red, 0.5 Fluid Ounce"}
    r = live.client.post("/items", headers={"X-API-Key": API_KEY}, json=new)
    assert r.status_code == 200
    assert r.json()["recommendable"] == ["opi-new-red"] and r.json()["pending"] == []
    body = live.client.get(f"/recommendations/{user}?k=5&explain=true").json()
    assert body["strategy"] == "model"
    assert "opi-new-red" in [i["item_id"] for i in body["items"]]
    assert live.client.get("/health").json()["model_items"] == 301
