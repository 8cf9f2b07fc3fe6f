"""Fit a model on all of a data set and write the bundle (`shoprec train`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from shoprec.bundle import write_bundle
from shoprec.data.clean import CleanOptions
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import get_spec


def train_bundle(
    source: str, out: Path, model_name: str, params: dict[str, Any] | None = None,
    options: CleanOptions | None = None,
) -> Path:
    """Default parameters are the first value of each grid entry of the model's spec."""
    spec = get_spec(model_name)
    ds = load_dataset(source, options)
    chosen = params if params is not None else (spec.candidates()[0] if spec.grid else {})
    start = time.perf_counter()
    model = spec.build(**chosen).fit(full_train(ds))
    return write_bundle(out, ds, model, extra={"train_seconds": round(time.perf_counter() - start, 3)})
