"""A catalogue's language from its script, and the encoder chosen for it (bundles record it)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from shoprec.bundle import load_bundle, write_bundle
from shoprec.data.dataset import Dataset
from shoprec.data.splits import full_train
from shoprec.models.content import ContentModel
from shoprec.text.language import (
    MULTILINGUAL_ENCODER,
    catalogue_encoder,
    catalogue_language,
    han_share,
    text_language,
)


def test_script_decides_the_language() -> None:
    assert han_share("无线鼠标") == 1.0
    assert text_language("PHILIPS飞利浦HQ912/15两刀头充电式电动剃须刀") == "zh"
    assert text_language("Logitech M185 wireless mouse, 鼠标") == "en"
    assert text_language("12345 !!") == "en" and han_share("") == 0.0


def test_catalogues(amazon_cn: Dataset, beauty: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPREC_ENCODER", raising=False)
    assert catalogue_language(amazon_cn.items) == "zh"
    assert catalogue_language(beauty.items) == "en"
    assert catalogue_encoder(amazon_cn.items).name == MULTILINGUAL_ENCODER
    assert catalogue_encoder(beauty.items).name == "minilm"
    assert catalogue_encoder(amazon_cn.items, "minilm").name == "minilm"  # asked for wins
    monkeypatch.setenv("SHOPREC_ENCODER", "minilm")
    assert catalogue_encoder(amazon_cn.items).reason == "set by SHOPREC_ENCODER"
    assert catalogue_language(pl.DataFrame({"item_id": ["a"]})) == "en"


def test_chinese_bundle_reads_with_the_multilingual_encoder(
        amazon_cn: Dataset, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chosen at fit, kept by the model's files and named in the manifest, so a reloaded bundle
    (and its search) reads queries with the same encoder."""
    monkeypatch.delenv("SHOPREC_ENCODER", raising=False)
    model = ContentModel().fit(full_train(amazon_cn))
    assert model.encoder_name == MULTILINGUAL_ENCODER
    write_bundle(tmp_path / "b", amazon_cn, model)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["encoder"]["name"] == MULTILINGUAL_ENCODER
    assert manifest["encoder"]["language"] == "zh"
    again = load_bundle(tmp_path / "b").model
    assert again.get_encoder().identity.startswith("use-multilingual")
    mice = [n for n, t in enumerate(amazon_cn.items["title"].to_list()) if "鼠标" in t]
    query = again.get_encoder().encode(["无线鼠标"])[0]
    top = (again.vectors_ @ query).argsort()[::-1][:len(mice)]
    assert len(set(top) & set(mice)) >= len(mice) - 1
