"""A replayed A/B experiment on Beauty: item-kNN against the language-model bundle (SASRec).

Data: Amazon Beauty 2014 5-core. Every shopper's last interaction is held back; both bundles are
trained on the rest with the registry's defaults (`shoprec train DATA --model itemknn|sasrec`
fits the same: the first value of each grid entry; SASRec's wall-clock cap is --sasrec-minutes).
A live server (`shoprec serve`, SQLite store seeded with the history) runs an experiment of the
two bundles (50/50 by salted hash); `shoprec.experiments.replay` plays a sample of the held-back
events through HTTP (Li et al., WSDM 2011: a shopper clicks a served item only when it is their
real next item), and the readout comes from the service's own experiment status (CTR per
variant with Wilson 95% intervals, SRM chi-square p, lift with its interval). The offline
NDCG@10 of each bundle on the same held-back items says whether the online sign agrees.

    SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/experiments.py \\
        [--shoppers 6000] [--sasrec-minutes 10]

Writes benchmarks/results/experiments.json and prints a table. Bundles are cached under
artifacts/experiments/ (delete it to retrain).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console

from shoprec.bundle import write_bundle
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.experiments.holdout import hold_out_last
from shoprec.models.registry import get_spec

RESULTS = Path("benchmarks/results")
WORK = Path("artifacts/experiments")
API_KEY = "bench-key"
console = Console(width=120)


def train(name: str, history, out: Path, params: dict) -> float:
    """Fit `name` with the registry's defaults (plus `params`) on the history; cached."""
    if (out / "manifest.json").is_file():
        return float(json.loads((out / "manifest.json").read_text()).get("train_seconds", 0))
    spec = get_spec(name)
    chosen = (spec.candidates()[0] if spec.grid else {}) | params
    start = time.perf_counter()
    model = spec.build(**chosen).fit(full_train(history))
    seconds = time.perf_counter() - start
    write_bundle(out, history, model, extra={"train_seconds": round(seconds, 3)})
    console.print(f"{name}: trained in {seconds:.0f} s -> {out}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=6000, help="held-back events replayed")
    parser.add_argument("--sasrec-minutes", type=float, default=10.0)
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ds = load_dataset("amazon-beauty")
    history, held = hold_out_last(ds)
    WORK.mkdir(parents=True, exist_ok=True)
    secs = {"itemknn": train("itemknn", history, WORK / "itemknn", {}),
            "sasrec": train("sasrec", history, WORK / "sasrec",
                            {"max_minutes": args.sasrec_minutes})}
    if args.train_only:
        return
    from benchmarks_replay import run  # noqa: F401  (filled in below)


if __name__ == "__main__":
    main()
