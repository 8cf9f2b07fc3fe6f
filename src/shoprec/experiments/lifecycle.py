"""An experiment's configuration, kept in one JSON file beside the bundle.

`BUNDLE.experiment.json` holds the running experiment (or none) and the finished ones. Every
process serving the bundle reads the same file: a change of it changes the service's serving
token (`experiment_token`), so a single-process service reloads within half a second and the
pre-fork master replaces its workers, the same way a new bundle generation is picked up. The
file is replaced atomically (`os.replace`), so a reader never sees half of it.

Variant bundles are folders on the server's disk (`shoprec train` writes them); a variant with
no bundle serves the bundle the service serves. The split (weights) is fixed for the life of an
experiment: changing it would move shoppers between variants. The ramp (share of shoppers in
the experiment) may grow, which only adds shoppers (see `assignment`).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from shoprec.data.errors import DataError

STATES = ("running", "stopped", "promoted")


@dataclass(frozen=True)
class Variant:
    name: str
    bundle: str | None = None  # a bundle folder; None: the service's own serving bundle
    weight: float = 1.0


@dataclass(frozen=True)
class StoppingRule:
    """Fixed horizon: the experiment is read once every variant has `exposures_per_variant`
    exposures (None: derived from the minimum detectable effect, see `stats.required_exposures`);
    a variant that breaks a guardrail cannot win."""

    metric: str = "ctr"
    min_detectable_lift: float = 0.10  # relative, e.g. 0.10 = +10% CTR
    alpha: float = 0.05
    power: float = 0.8
    exposures_per_variant: int | None = None
    max_p95_ratio: float = 1.5  # guardrail: a variant's p95 latency / the control's
    max_error_rate: float = 0.01  # guardrail: share of a variant's requests that failed


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    variants: tuple[Variant, ...]
    salt: str
    ramp: float = 1.0
    state: str = "running"
    started: float = 0.0
    stopped: float | None = None
    winner: str | None = None
    promoted_generation: int | None = None
    stopping: StoppingRule = field(default_factory=StoppingRule)

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise DataError(f"experiment {self.id!r} has no variant {name!r}; its variants are "
                        f"{', '.join(self.variant_names)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Experiment:
        return cls(**(d | {"variants": tuple(Variant(**v) for v in d["variants"]),
                           "stopping": StoppingRule(**d.get("stopping", {}))}))


def new_experiment(name: str, variants: list[Variant], ramp: float = 1.0,
                   stopping: StoppingRule | None = None, salt: str | None = None) -> Experiment:
    """A running experiment after checking what a user can get wrong (one message each)."""
    if len(variants) < 2:
        raise DataError(f"an experiment needs at least two variants, got {len(variants)}")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise DataError(f"variant names must differ, got {', '.join(names)}")
    for v in variants:
        if not v.name or len(v.name) > 64 or not v.name.replace("-", "").replace("_", "").isalnum():
            raise DataError(f"variant name {v.name!r}: 1-64 letters, digits, - or _")
        if not v.weight > 0:
            raise DataError(f"variant {v.name!r}: weight must be above 0, got {v.weight}")
        if v.bundle is not None and not (Path(v.bundle) / "manifest.json").is_file():
            raise DataError(f"variant {v.name!r}: {v.bundle} is not a bundle (no manifest.json); "
                            "write one with `shoprec train`")
    if not 0 < ramp <= 1:
        raise DataError(f"ramp must be in (0, 1], got {ramp}")
    variants = [replace(v, bundle=str(Path(v.bundle).resolve()) if v.bundle else None)
                for v in variants]
    exp_id = f"exp-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    return Experiment(exp_id, name or exp_id, tuple(variants), salt or secrets.token_hex(8),
                      ramp, "running", time.time(), stopping=stopping or StoppingRule())


def experiment_path(bundle: Path) -> Path:
    bundle = Path(bundle).resolve()
    return bundle.with_name(bundle.name + ".experiment.json")


def experiment_token(bundle: Path) -> str:
    """Changes whenever the experiment file does (a stat)."""
    try:
        st = experiment_path(bundle).stat()
    except FileNotFoundError:
        return "none"
    return f"{st.st_mtime_ns}:{st.st_size}"


def _read(bundle: Path) -> dict[str, Any]:
    path = experiment_path(bundle)
    if not path.is_file():
        return {"current": None, "finished": []}
    return json.loads(path.read_text())


def _write(bundle: Path, data: dict[str, Any]) -> None:
    path = experiment_path(bundle)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def running_experiment(bundle: Path) -> Experiment | None:
    current = _read(bundle)["current"]
    return Experiment.from_json(current) if current else None


def all_experiments(bundle: Path) -> list[Experiment]:
    """The running one (if any) first, then the finished ones, newest first."""
    data = _read(bundle)
    found = [Experiment.from_json(d) for d in reversed(data["finished"])]
    return ([Experiment.from_json(data["current"])] if data["current"] else []) + found


def no_experiment_running(bundle: Path) -> None:
    """Retraining swaps the serving bundle, which is the control of a running experiment: it
    waits until the experiment is stopped or promoted (DataError naming it meanwhile)."""
    running = running_experiment(bundle)
    if running is not None:
        raise DataError(f"experiment {running.id!r} is running and a retrain would change its "
                        "control; stop or promote it first")


def find_experiment(bundle: Path, exp_id: str) -> Experiment:
    for e in all_experiments(bundle):
        if e.id == exp_id:
            return e
    raise DataError(f"no experiment {exp_id!r}")


def start(bundle: Path, experiment: Experiment) -> Experiment:
    data = _read(bundle)
    if data["current"]:
        raise DataError(f"experiment {data['current']['id']!r} is running; stop or promote it "
                        "first")
    data["current"] = experiment.to_json()
    _write(bundle, data)
    return experiment


def set_ramp(bundle: Path, exp_id: str, ramp: float) -> Experiment:
    """Let more (or fewer) shoppers in; nobody inside moves to another variant."""
    if not 0 < ramp <= 1:
        raise DataError(f"ramp must be in (0, 1], got {ramp}")
    data = _read(bundle)
    current = _current(data, exp_id)
    updated = replace(current, ramp=ramp)
    data["current"] = updated.to_json()
    _write(bundle, data)
    return updated


def finish(bundle: Path, exp_id: str, state: str, winner: str | None = None,
           generation: int | None = None) -> Experiment:
    """End the running experiment (`stopped`, or `promoted` with its winner)."""
    data = _read(bundle)
    done = replace(_current(data, exp_id), state=state, stopped=time.time(), winner=winner,
                   promoted_generation=generation)
    data["current"] = None
    data["finished"].append(done.to_json())
    _write(bundle, data)
    return done


def _current(data: dict[str, Any], exp_id: str) -> Experiment:
    current = data["current"]
    if not current or current["id"] != exp_id:
        running = current["id"] if current else "none"
        raise DataError(f"experiment {exp_id!r} is not running (running: {running})")
    return Experiment.from_json(current)
