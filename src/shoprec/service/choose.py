"""Choosing the model in the background: `--model auto` on the serving bundle's own data,
published as a new generation of that bundle (a job kind beside retraining).

Why: `auto` takes minutes (the demo's budget is 4), and a shop that waits for it shows no page
for that long. The demo writes an item-kNN bundle at once (seconds), serves it, and starts this
job; every worker swaps to the generation it publishes, as after a retrain. There are no fresh
shoppers to hold out here, so the choice is auto's own: the family fitted on all but each
shopper's last item and ranked by validation NDCG@10 (item-kNN, the serving model, is one of the
family, and its figure is reported as the champion's). Shoppers deleted from the store while the
job ran are forgotten in the new generation before it serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shoprec.bundle import load_bundle, write_bundle
from shoprec.data.splits import full_train, last_item_split
from shoprec.generations import files_lock, keep_last, publish, serving_path
from shoprec.retraining import RetrainResult, forget_deleted
from shoprec.store import Store

#: Validation shoppers the blend's weights are searched on (all 22k of Beauty take a minute).
BLEND_SHOPPERS = 5_000


def choose_generation(bundle_dir: Path, store: Store | None, budget_minutes: float,
                      keep: int = 3, progress: Callable[[str], None] = lambda _: None
                      ) -> RetrainResult:
    """Run auto's demo family on the serving bundle's data within `budget_minutes` and publish
    the winner as a new generation; raises on failure (the job records it, the old one serves).
    `store`: where deletions show (None, or a store never seeded: nothing was deleted)."""
    from shoprec.evaluation.auto import quick_family, refit_winner, select_model

    start = time.perf_counter()
    generation, path = serving_path(bundle_dir)
    with files_lock(bundle_dir, shared=True):
        serving = load_bundle(path)
    ds, manifest = serving.dataset, serving.manifest
    progress(f"choosing a model for {ds.name} within {budget_minutes:g} minutes (item-kNN, "
             "EASE, the text-aware transformer and their blend)")
    selection = select_model(last_item_split(ds), budget_minutes, quick_family(),
                             progress=progress, blend_shoppers=BLEND_SHOPPERS)
    best = selection.best
    model = refit_winner(best, full_train(ds))
    champion = next((c.valid for c in selection.candidates
                     if c.model_name == manifest["model"] and c.status == "ok"), {})

    def write(folder: Path) -> None:
        write_bundle(folder, ds, model, metrics={"valid": best.valid},
                     extra={"selection": selection.summary(), "clean": manifest.get("clean"),
                            "previous_generation": generation,
                            "train_seconds": round(time.perf_counter() - start, 3)})
        if store is not None and store.is_seeded():
            forget_deleted(folder, store)

    with files_lock(bundle_dir):  # a deletion either sees the new generation or precedes it
        new = publish(bundle_dir, write)
        keep_last(bundle_dir, keep)
    figure = lambda m: f"{m['ndcg@10']:.4f}" if "ndcg@10" in m else "n/a"
    return RetrainResult(
        "swapped", f"auto chose {best.label} (validation NDCG@10 {figure(best.valid)}; the "
                   f"serving {manifest['model']}: {figure(champion)}) in "
                   f"{selection.seconds:.0f} s: generation {new} serves", new,
        {k: float(v) for k, v in champion.items()}, {k: float(v) for k, v in best.valid.items()},
        time.perf_counter() - start)
