"""The bundles an experiment serves side by side, and the choice of one per request.

`Arms` is replaced whole when the experiment file changes (start, ramp, stop, promote), like
`ServingState.serving` when a generation changes: a request takes it once. Without a running
experiment it holds nothing and every request gets the serving bundle, on the same path as
before experiments existed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from shoprec.engine.serving import Serving
from shoprec.experiments.assignment import assign
from shoprec.experiments.lifecycle import Experiment


class Choice(NamedTuple):
    serving: Serving
    experiment: str | None
    variant: str | None


@dataclass(frozen=True)
class Arms:
    experiment: Experiment | None = None
    servings: dict[str, Serving] = field(default_factory=dict)  # variants with their own bundle
    identities: dict[str, tuple[str, int]] = field(default_factory=dict)  # see `_identity`

    def pick(self, default: Serving, user_id: str | None) -> Choice:
        """The serving model for this shopper: their variant's, or the default outside an
        experiment (no experiment, no shopper id, or left out by the ramp)."""
        exp = self.experiment
        if exp is None or user_id is None:
            return Choice(default, None, None)
        variant = assign(exp, user_id)
        if variant is None:
            return Choice(default, None, None)
        return Choice(self.servings.get(variant, default), exp.id, variant)

    def paths(self) -> list[Path]:
        return [s.bundle.path for s in self.servings.values()]


NO_ARMS = Arms()


def _identity(path: Path) -> tuple[str, int]:
    """A bundle folder and its manifest's mtime: a rewrite (a privacy deletion) changes it."""
    path = Path(path).resolve()
    try:
        return str(path), (path / "manifest.json").stat().st_mtime_ns
    except FileNotFoundError:
        return str(path), 0


def load_arms(experiment: Experiment | None, previous: Arms = NO_ARMS) -> Arms:
    """Load each variant's bundle; one the previous arms hold is reused when its files have
    not been rewritten since (a deleted shopper must not come back from memory)."""
    if experiment is None or experiment.state != "running":
        return NO_ARMS
    loaded = {previous.identities[n]: s for n, s in previous.servings.items()}
    servings: dict[str, Serving] = {}
    identities: dict[str, tuple[str, int]] = {}
    for v in experiment.variants:
        if v.bundle is not None:
            key = identities[v.name] = _identity(Path(v.bundle))
            servings[v.name] = loaded[key] = loaded.get(key) or Serving.load(Path(v.bundle))
    return Arms(experiment, servings, identities)


def new_request_id() -> str:
    return uuid.uuid4().hex
