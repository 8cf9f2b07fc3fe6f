"""Recommenders, one module each, behind one small protocol (`Recommender`, in `base`).

Here are the names most callers need: the protocol and base class, the capability checks, and
`get_spec(name).build(**params)`, which makes a model from the name the CLI and bundles use. Each
name is loaded on first use, so importing one model's module never loads the others (nor torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoprec.models.base import (
        AddsItems,
        ExactTerms,
        Model,
        ModelConfig,
        Recommender,
        adds_items,
        fit_model,
        get_params,
    )
    from shoprec.models.ranking import top_k
    from shoprec.models.registry import MODELS, ModelSpec, get_spec

#: where each public name lives
_HOMES = {
    "AddsItems": "base", "ExactTerms": "base", "Model": "base", "ModelConfig": "base",
    "Recommender": "base", "adds_items": "base", "fit_model": "base", "get_params": "base",
    "top_k": "ranking", "MODELS": "registry", "ModelSpec": "registry", "get_spec": "registry",
}
__all__ = [
    "MODELS", "AddsItems", "ExactTerms", "Model", "ModelConfig", "ModelSpec", "Recommender",
    "adds_items", "fit_model", "get_params", "get_spec", "top_k",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value
