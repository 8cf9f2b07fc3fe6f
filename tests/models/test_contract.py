"""The one model contract, checked for every registered model on a small real slice: a frozen
config built from keywords, `fit(data, valid=None)`, and one folder layout (model.json + arrays)
that reloads to identical scores, also from the older params.json / config.json layout."""

import json
from dataclasses import FrozenInstanceError, asdict
from pathlib import Path

import numpy as np
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import History, Split
from shoprec.models.base import (
    ExactTerms,
    Model,
    ModelConfig,
    Recommender,
    distinct_items,
    get_params,
)
from shoprec.models.itemknn import ItemKNN, ItemKNNConfig
from shoprec.models.popular import Popular
from shoprec.models.registry import MODELS, get_spec
from shoprec.profiles.attribution import attribute


def small_params(name: str, cache: Path) -> dict:
    """Parameters that keep each model quick on the 300-item slice (defaults otherwise)."""
    text = {"cache_dir": str(cache)}
    sasrec = {"dim": 16, "layers": 1, "heads": 1, "max_len": 10, "max_epochs": 1,
              "progress": False, "text_cache": str(cache)}
    return {"als": {"factors": 16, "iterations": 3}, "bpr": {"factors": 16, "iterations": 5},
            "content": text, "semantic": text, "sasrec": sasrec,
            "hybrid": {"component_params": {"sasrec": sasrec}}}.get(name, {})


@pytest.fixture(scope="module")
def split(beauty_300: Dataset) -> Split:
    return leave_one_out(beauty_300)


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request: pytest.FixtureRequest, split: Split, embedding_cache_dir: Path) -> Model:
    """Each registered model fitted with valid=None, the protocol's default."""
    spec = get_spec(request.param)
    return spec.build(**small_params(request.param, embedding_cache_dir)).fit(split.train,
                                                                             valid=None)


def test_model_keeps_the_contract(fitted: Model, split: Split) -> None:
    assert isinstance(fitted, Model) and isinstance(fitted, Recommender)
    assert isinstance(fitted.config, ModelConfig) and type(fitted.config) is fitted.Config
    assert get_params(fitted) == asdict(fitted.config)
    with pytest.raises(FrozenInstanceError):
        fitted.config.seed = 1  # type: ignore[misc]
    # the registry rebuilds the same model from the recorded parameters
    again = get_spec(fitted.name).build(**get_params(fitted))
    assert type(again) is type(fitted) and again.config == fitted.config


def test_fit_takes_a_validation_set(fitted: Model, split: Split) -> None:
    refit = type(fitted)(fitted.config).fit(split.train, split.valid)
    assert refit.score(split.test.histories[:3]).shape == (3, split.train.n_items)


def test_save_writes_model_json_and_reloads_identical_scores(fitted: Model, split: Split,
                                                             tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")
    header = json.loads((tmp_path / "m" / "model.json").read_text())
    cls = type(fitted)
    assert header["class"] == f"{cls.__module__}:{cls.__qualname__}"
    assert header["version"] == cls.version and header["name"] == fitted.name
    assert set(header["config"]) == set(asdict(fitted.config))
    assert all((tmp_path / "m" / f).exists() for f in header["files"].values())
    assert not (tmp_path / "m" / "params.json").exists()
    histories = split.test.histories[:40]
    for loaded in (cls.load(tmp_path / "m"), get_spec(fitted.name).cls().load(tmp_path / "m")):
        assert type(loaded) is cls and loaded.config == fitted.config
        np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))


def test_folders_of_the_older_layout_still_load(fitted: Model, split: Split,
                                                tmp_path: Path) -> None:
    """Before model.json: params.json (SASRec: config.json with the fit's log) beside the same
    array files, as bundles on disk still hold them."""
    folder = tmp_path / "old"
    fitted.save(folder)
    header = json.loads((folder / "model.json").read_text())
    (folder / "model.json").unlink()
    if fitted.name == "hybrid":  # only a few days' hybrids had hybrid.json: one clear error
        (folder / "hybrid.json").write_text(json.dumps({"params": header["config"]}))
        with pytest.raises(ValueError, match="a hybrid saved before model.json existed"):
            type(fitted).load(folder)
        return
    if fitted.name == "sasrec":
        old = {"params": header["config"], **header["fitted"]}
        (folder / "config.json").write_text(json.dumps(old))
    else:
        (folder / "params.json").write_text(json.dumps(header["config"]))
    loaded = type(fitted).load(folder)
    with pytest.raises(ValueError, match="older layout names no model class"):
        Model.load(folder)
    histories = split.test.histories[:40]
    np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))


def test_construction_from_keywords_a_config_or_both() -> None:
    assert ItemKNN().config == ItemKNNConfig()
    assert ItemKNN(neighbours=100).config == ItemKNNConfig(neighbours=100, shrink=50.0)
    base = ItemKNNConfig(neighbours=5, shrink=1.0)
    assert ItemKNN(base).config is base
    assert ItemKNN(base, shrink=2.0).config == ItemKNNConfig(neighbours=5, shrink=2.0)
    assert ItemKNN({"neighbours": 7}).config.neighbours == 7
    with pytest.raises(ValueError, match="itemknn has no parameter 'neighbors'; it takes: "
                                        "neighbours, shrink"):
        ItemKNN(neighbors=10)
    with pytest.raises(TypeError, match="ItemKNN's config must be a ItemKNNConfig, got "
                                       "PopularConfig"):
        ItemKNN(Popular().config)
    with pytest.raises(ValueError, match="neighbours >= 1"):
        get_spec("itemknn").build(neighbours=0)  # a bad value fails before any data is read


def test_loading_the_wrong_class_or_a_newer_version_is_a_clear_error(split: Split,
                                                                     tmp_path: Path) -> None:
    Popular().fit(split.train).save(tmp_path / "p")
    with pytest.raises(TypeError, match="holds a shoprec.models.popular:Popular model, not a "
                                        "shoprec.models.itemknn:ItemKNN"):
        ItemKNN.load(tmp_path / "p")
    header = json.loads((tmp_path / "p" / "model.json").read_text())
    (tmp_path / "p" / "model.json").write_text(json.dumps({**header, "version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        Popular.load(tmp_path / "p")
    with pytest.raises(FileNotFoundError, match="not a saved model"):
        Popular.load(tmp_path / "nothing")
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "hybrid.json").write_text("{}")
    with pytest.raises(ValueError, match="a hybrid saved before model.json existed"):
        Model.load(tmp_path / "h")


def test_attribution_comes_from_the_model_method(split: Split) -> None:
    """Any model with `attribution_terms` is explained exactly by it, registered or not; one
    that returns None (or has no such method) is explained by leave-one-out."""

    class Halved(Popular):
        def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms | None:
            if len(history) == 1:
                return None
            items = distinct_items(history)
            half = np.asarray(self.counts_, dtype=np.float64)[targets] / 2
            return ExactTerms(items, np.zeros((len(targets), len(items))), half)

    model = Halved().fit(split.train)
    h = History(np.array([1, 2, 1]))
    att = attribute(model, h, [0, 3])
    assert att.method == "exact" and att.items.tolist() == [2, 1]
    np.testing.assert_allclose(att.scores, model.counts_[[0, 3]] / 2)
    assert attribute(model, History(np.array([4])), [0]).method == "leave-one-out"
    assert attribute(Popular().fit(split.train), h, [0]).method == "exact"
    assert not hasattr(get_spec("userknn").cls(), "attribution_terms")


def test_semantic_is_exact_only_without_its_query_part(split: Split,
                                                       embedding_cache_dir: Path) -> None:
    """The semantic model inherits content's terms, which hold only when weight is 0."""
    spec = get_spec("semantic")
    h = History(np.array([3, 4, 5]))
    for weight, method in ((0.0, "exact"), (0.5, "leave-one-out")):
        model = spec.build(weight=weight, cache_dir=str(embedding_cache_dir)).fit(split.train)
        att = attribute(model, h, [10, 11])
        assert att.method == method
        np.testing.assert_allclose(att.scores, model.score([h])[0, [10, 11]], atol=1e-5)


def test_ease_weights_are_memory_mapped_on_load(split: Split, tmp_path: Path) -> None:
    """EASE's dense items x items matrix is shared by serving workers, not copied into each."""
    model = get_spec("ease").build().fit(split.train)
    model.save(tmp_path / "e")
    loaded = type(model).load(tmp_path / "e")
    assert isinstance(loaded.weights_, np.memmap)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.weights_, model.weights_)  # type: ignore[attr-defined]
    # diag(P) comes back too, so a deletion after a reload still skips a new inverse
    np.testing.assert_array_equal(loaded.p_diag_, model.p_diag_)  # type: ignore[attr-defined]
