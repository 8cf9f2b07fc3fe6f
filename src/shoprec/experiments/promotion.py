"""Ending an experiment: stop it, or promote its winner to be the serving bundle.

Promotion publishes the winner's bundle as a new generation of the served bundle (a copy, under
the cross-process files lock, as a retrain does), so everything that follows generations (every
worker's swap, `shoprec rollback`, pruning, privacy deletions) treats the promoted model like
any other generation. A variant without a bundle of its own (the serving one) wins without a
new generation. Either way the experiment ends and every shopper gets the serving bundle again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from shoprec.data.errors import DataError
from shoprec.experiments import lifecycle
from shoprec.generations import files_lock, publish, serving_path


def stop(bundle: Path, exp_id: str) -> lifecycle.Experiment:
    return lifecycle.finish(bundle, exp_id, "stopped")


def promote(bundle: Path, exp_id: str, variant: str) -> tuple[lifecycle.Experiment, int]:
    """Make `variant` serve; returns the finished experiment and the serving generation."""
    running = lifecycle.running_experiment(bundle)
    if running is None or running.id != exp_id:
        raise DataError(f"experiment {exp_id!r} is not running; only a running experiment can "
                        "be promoted")
    chosen = running.variant(variant)
    if chosen.bundle is None:
        generation, _ = serving_path(bundle)
    else:
        source = Path(chosen.bundle)
        if not (source / "manifest.json").is_file():
            raise DataError(f"variant {variant!r}: its bundle {source} is gone")

        def copy(staging: Path) -> Any:
            shutil.copytree(source, staging)

        with files_lock(bundle):
            generation = publish(bundle, copy)
    return lifecycle.finish(bundle, exp_id, "promoted", winner=variant,
                         generation=generation), generation
