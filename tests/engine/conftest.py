"""Serving shops for the chat tests: item-kNN bundles on real catalogues (Office with its brand
and category fields, a Beauty slice with titles only), with the default encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shoprec.data.dataset import Dataset
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.serving import Serving
from tests.conftest import _require


def _shop(ds: Dataset, folder: Path) -> tuple[Serving, Catalogue]:
    from shoprec.bundle import write_bundle
    from shoprec.data.splits import full_train
    from shoprec.models.itemknn import ItemKNN

    os.environ.pop("SHOPREC_ENCODER", None)
    bundle = write_bundle(folder / "bundle", ds, ItemKNN().fit(full_train(ds)))
    serving = Serving.load(bundle)
    return serving, Catalogue.from_frame(serving.bundle.dataset.items)


@pytest.fixture(scope="session")
def office_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Serving, Catalogue]:
    """Amazon Office 2014 (2,420 items: brand field on 80%, category paths, descriptions)."""
    from shoprec.data.sources import load_dataset

    _require("amazon-office")
    return _shop(load_dataset("amazon-office"), tmp_path_factory.mktemp("office"))


@pytest.fixture(scope="session")
def beauty_shop(beauty_slice: Dataset, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Serving, Catalogue]:
    """The Beauty slice (8,017 items, titles only: no brand, category or price field)."""
    return _shop(beauty_slice, tmp_path_factory.mktemp("beauty"))
