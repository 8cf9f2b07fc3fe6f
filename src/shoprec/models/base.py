"""The one small contract every recommender keeps, the inputs it receives, and its base class.

A model knows item indices, never shop ids. It learns from `TrainData` and scores any list of
`History` objects, including histories it never saw in training (a shopper's fresh events), so
the service and the evaluation call the same `score`. Top-k, exclusion of seen items, business
filters and explanations are written once on top of `score` (see `shoprec.models.ranking`).

Writing a model: its parameters are one frozen dataclass, its fitted state a few named arrays;
construction, `get_params`, save and load come from `Model`, so no model writes its own files.

    @dataclass(frozen=True)
    class ItemKNNConfig(ModelConfig):
        neighbours: int = 300
        shrink: float = 50.0

    class ItemKNN(Model):
        name = "itemknn"
        Config = ItemKNNConfig
        config: ItemKNNConfig

        def fit(self, data, valid=None): ...; return self   # valid: only early stoppers read it
        def score(self, histories): ...
        def _state(self): return {"similarity": self.similarity_}
        def _restore(self, state, fitted): self.similarity_ = state["similarity"]

Construction, all equivalent: `ItemKNN(neighbours=100)` (scikit-learn style: what the registry's
`spec.build(**params)`, the CLI's `--params` and the service use), `ItemKNN(ItemKNNConfig(
neighbours=100))`, or a config plus keywords that override some of its fields. The parameters
live only in `model.config`; a model reads `self.config.neighbours`.

Files: `save` writes model.json (class, version, config, and `_fitted()`'s JSON metadata of the
fit) plus one file per `_state()` entry; `load` reads them back through `_restore` (see
`shoprec.models.files`, which also still reads folders of the older params.json layout).

Capabilities beyond the contract are protocols a model keeps by having their methods, asked with
`isinstance`: `AddsItems` (brand-new catalogue items from their text, no retrain),
`ForgetsShoppers` (deletion without a refit), `EarlyStops` (weights chosen on validation),
`ExactAttribution` (scores as exact sums over history items), `CarriesItemVectors` and
`ReadsItemText` (text vectors and encoder), `CountsItems` and `SparseItemScores` (batch top-k).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, Self, runtime_checkable

import numpy as np
import polars as pl
import scipy.sparse as sp

# the data shapes live in data.types; they are named here too because every model's signature
# uses them and models written before the move import them from this module
from shoprec.data.types import EvalSet, History, TrainData

if TYPE_CHECKING:
    from shoprec.models.files import State


@dataclass(frozen=True)
class ModelConfig:
    """Base of every model's parameters: a frozen dataclass of JSON values, written into the
    model's folder and a bundle's manifest. Subclasses check their values in __post_init__ so a
    bad parameter fails when the model is built, before any data is read."""


@runtime_checkable
class Recommender(Protocol):
    """fit on training data, score histories against every item; save and load as plain files."""

    name: str
    config: ModelConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self: ...

    def score(self, histories: Sequence[History]) -> np.ndarray:
        """(len(histories), n_items) float32 scores; higher is better."""
        ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> Self: ...


@runtime_checkable
class AddsItems(Protocol):
    """A model that places brand-new catalogue items from their text at once (content, semantic,
    the text-aware transformer, a blend holding one of them): cold start without a retrain.

    `adds_items` says whether this instance can (a transformer trained on ids only cannot: it
    has nothing to give a new item a vector from). Ask `adds_items(model)`, which checks both.
    """

    @property
    def adds_items(self) -> bool: ...

    def add_items_from_text(self, items: pl.DataFrame) -> np.ndarray:
        """Read new catalogue rows (the catalogue's columns, e.g. item_id, title, brand) and
        append them; returns their item indices, consecutive from the old item count. Scores
        are that much wider from then on."""
        ...


def adds_items(model: object) -> bool:
    """Whether `model` can take new catalogue items from their text now."""
    return isinstance(model, AddsItems) and bool(model.adds_items)


@runtime_checkable
class ForgetsShoppers(Protocol):
    """A model that deletes shoppers exactly without a refit (item-kNN, user-kNN, popularity,
    EASE, a blend forgetting through those of its components that can). `keeps_removed_weights`:
    some of its weights (a blend's transformer) still carry the removed shoppers until the next
    retrain, which the bundle's manifest then records."""

    @property
    def keeps_removed_weights(self) -> bool: ...

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """The model fitted as if on `remaining` (the data without `removed_rows`, whose
        interactions were with `removed_items`)."""
        ...


@runtime_checkable
class EarlyStops(Protocol):
    """A model whose fit stops on validation (the transformer): its weights are what the
    validation chose, so a selection keeps them rather than refitting on all the data."""

    def training_log(self) -> list[dict[str, Any]]:
        """Each epoch's loss and validation figures, as fitted (empty before a fit)."""
        ...


@runtime_checkable
class ExactAttribution(Protocol):
    """A model whose score is exactly a sum over history items (item-kNN, popularity, content):
    explanations read its terms instead of re-scoring with each item left out."""

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms | None:
        """The terms of `targets`' scores given `history`; None when not exact for this one."""
        ...


@runtime_checkable
class CountsItems(Protocol):
    """A model that says how many items it scores now (items added from text included), so
    batch scoring sizes its batches without scoring a probe."""

    @property
    def n_items(self) -> int: ...


@runtime_checkable
class CarriesItemVectors(Protocol):
    """One text vector per catalogue item (content, semantic), for profiles to reuse."""

    @property
    def item_text_vectors(self) -> np.ndarray: ...


@runtime_checkable
class ReadsItemText(Protocol):
    """A model that read item texts with an encoder (None: this one did not, e.g. an id-only
    transformer); a bundle's searches use the same encoder."""

    @property
    def encoder_name(self) -> str | None: ...


@runtime_checkable
class SparseItemScores(Protocol):
    """A model whose scores are a shopper's history row times a sparse item x item matrix
    (item-kNN): top-k for many shoppers reads only the entries their histories reach."""

    @property
    def item_similarity(self) -> sp.csr_matrix: ...


class Model:
    """What every model shares: construction from a config or keywords, and its files."""

    name: ClassVar[str]
    #: the frozen dataclass of this model's parameters
    Config: ClassVar[type[ModelConfig]] = ModelConfig
    #: version of the folder layout; bump it when `_state`/`_restore` change meaning
    version: ClassVar[int] = 1
    #: state entries (.npy) read memory-mapped, so serving workers forked after load share them
    mmap: ClassVar[tuple[str, ...]] = ()
    #: `ForgetsShoppers`: whether weights still carry removed shoppers (a blend's transformer)
    keeps_removed_weights: bool = False

    def __init__(self, config: ModelConfig | Mapping[str, Any] | None = None, /,
                 **params: Any) -> None:
        self.config = make_config(type(self), config, params)

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        raise NotImplementedError

    def score(self, histories: Sequence[History]) -> np.ndarray:
        raise NotImplementedError

    # ---- files: written once in shoprec.models.files, each model names its arrays ----
    def _state(self) -> State:
        """The fitted arrays to write, by name (see `shoprec.models.files.State`)."""
        raise NotImplementedError

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        """Set the fitted attributes from what `_state` and `_fitted` wrote."""
        raise NotImplementedError

    def _fitted(self) -> dict[str, Any]:
        """JSON metadata of the fit (training log, best epoch) for model.json; none by default."""
        return {}

    def _config_for(self, path: Path) -> dict[str, Any]:
        """The config as written into folder `path` (a model that copies files in rewrites its
        paths relative to the folder)."""
        return asdict(self.config)

    @classmethod
    def _config_from(cls, config: dict[str, Any], path: Path) -> dict[str, Any]:
        """The inverse of `_config_for`: the config as read from folder `path`."""
        return config

    def save(self, path: Path) -> None:
        from shoprec.models.files import write_model

        write_model(self, Path(path))

    @classmethod
    def load(cls, path: Path) -> Self:
        from shoprec.models.files import read_model

        return read_model(Path(path), cls)

    def __repr__(self) -> str:
        changed = {k: v for k, v in asdict(self.config).items()
                   if v != getattr(self.Config, k, None)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def make_config(model: type[Model], config: ModelConfig | Mapping[str, Any] | None,
                params: Mapping[str, Any]) -> ModelConfig:
    """`model`'s config from a config (or a dict of its fields) with `params` overriding fields;
    an unknown name is one clear error listing the parameters the model takes."""
    kind = model.Config
    if isinstance(config, Mapping):
        config, params = None, {**config, **params}
    if config is None:
        config = kind()
    elif not isinstance(config, kind):
        raise TypeError(f"{model.__name__}'s config must be a {kind.__name__}, "
                        f"got {type(config).__name__}")
    known = [f.name for f in fields(kind)]
    unknown = sorted(set(params) - set(known))
    if unknown:  # a ValueError: the names come from users (--params, a manifest)
        raise ValueError(f"{getattr(model, 'name', model.__name__)} has no parameter "
                        f"{', '.join(map(repr, unknown))}; it takes: {', '.join(known) or 'none'}")
    return replace(config, **params) if params else config


def get_params(model: Recommender) -> dict[str, Any]:
    """The model's parameters as a plain dict (what a bundle's manifest records)."""
    return asdict(model.config)


class ExactTerms(NamedTuple):
    """An exact decomposition of scores over history items:
    score(targets[t]) = intercept[t] + terms[t].sum(), terms[t, j] belonging to items[j]."""

    items: np.ndarray  # distinct history items, in order of their last occurrence
    terms: np.ndarray  # (targets, items)
    intercept: np.ndarray  # (targets,)


def distinct_items(history: History) -> np.ndarray:
    """History items without repeats, ordered by their last occurrence."""
    items = np.asarray(history.items, dtype=np.int64)
    last = {int(i): n for n, i in enumerate(items)}
    return np.asarray(sorted(last, key=last.__getitem__), dtype=np.int64)


def last_values(history: History, items: np.ndarray) -> np.ndarray:
    """Each of `items`' last value in the history (1 when the history has no values)."""
    if history.values is None:
        return np.ones(len(items))
    last = {int(i): float(v) for i, v in zip(history.items, history.values)}
    return np.asarray([last[int(i)] for i in items])


def fit_model(model: Recommender, train: TrainData,
              valid: EvalSet | None = None) -> Recommender:
    """Fit `model` with the validation split; every model takes it (`fit(data, valid)`), those
    that early-stop or choose weights on it (sasrec, hybrid) use it."""
    return model.fit(train, valid=valid)
