"""Model names the CLI, benchmarks and service accept, with their validation grids.

Classes are imported lazily so that `shoprec prepare` never pays for torch. Each grid lists the
values tried on the validation split by `shoprec evaluate`; the first value of each is the
default used by `shoprec train` when no tuned parameters are given.
"""

from __future__ import annotations

import importlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from shoprec.models.base import Recommender


@dataclass(frozen=True)
class ModelSpec:
    target: str  # "module:Class"
    grid: dict[str, list[Any]] = field(default_factory=dict)
    description: str = ""

    def cls(self) -> type[Recommender]:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)

    def build(self, **params: Any) -> Recommender:
        return self.cls()(**params)

    def candidates(self) -> list[dict[str, Any]]:
        """Every combination of the grid (one empty dict when there is no grid)."""
        keys = list(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*self.grid.values())]


MODELS: dict[str, ModelSpec] = {
    "popular": ModelSpec("shoprec.models.popular:Popular", {},
                         "most interacted items (the fallback for unknown shoppers)"),
    "userknn": ModelSpec("shoprec.models.userknn:UserKNN",
                         {"neighbours": [500, 200], "aggregate": ["sum", "average"]},
                         "user-based CF: cosine between shoppers, top-N neighbours' ratings"),
    "itemknn": ModelSpec("shoprec.models.itemknn:ItemKNN",
                         {"neighbours": [300, 100], "shrink": [50.0, 10.0, 100.0]},
                         "item-item cosine with shrinkage, top-N neighbours per item"),
    "ease": ModelSpec("shoprec.models.ease:EASE", {"l2": [100.0, 30.0, 300.0]},
                      "EASE^R (Steck 2019): closed-form linear item-item model, dense; refuses "
                      "catalogues above max_items"),
    "als": ModelSpec("shoprec.models.als:ALS",
                     {"factors": [256, 128], "regularization": [1.0], "alpha": [40.0]},
                     "implicit-feedback ALS (implicit library), users folded in by ALS solve"),
    "bpr": ModelSpec("shoprec.models.bpr:BPR",
                     {"factors": [128], "learning_rate": [0.01, 0.05]},
                     "BPR matrix factorisation (implicit library), users folded in by ALS solve"),
    "content": ModelSpec("shoprec.models.content:ContentModel", {"half_life": [1.0, 0.5, 3.0]},
                         "recency-weighted mean of history item text vectors, cosine ranking"),
    "semantic": ModelSpec("shoprec.models.semantic:SemanticModel",
                          {"weight": [0.5, 0.25, 0.75], "recent": [3]},
                          "recent item texts encoded as one query, blended with content"),
    "sasrec": ModelSpec("shoprec.models.sasrec:SASRec",
                        {"objective": ["causal", "masked"], "id_init_scale": [0.1, 0.3]},
                        "transformer over the history (SASRec; BERT4Rec-style masked option), "
                        "id + text item vectors, softmax loss (sampled on large catalogues), "
                        "early stopping"),
    "hybrid": ModelSpec("shoprec.models.hybrid:Hybrid", {},
                        "sasrec blended with itemknn and ease (per-shopper z-scores), weights "
                        "chosen on validation; never below its best component there"),
    "dp-popular": ModelSpec("shoprec.privacy.models:DPPopular", {},
                            "popular items from epsilon-DP counts (set epsilon with --params)"),
    "dp-cooccurrence": ModelSpec("shoprec.privacy.models:DPCooccurrence", {},
                                 "bought-a-then-b from epsilon-DP co-occurrence counts"),
}


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
