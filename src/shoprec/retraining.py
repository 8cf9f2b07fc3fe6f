"""Retraining from the store (training code, beside `training.py`; the service's job runs it):
champion and challenger on the same fresh hold-out.

Fresh events are the store's events the serving bundle did not train on (an anti-join on user,
item, time and event). For every shopper with fresh events and earlier history, their last fresh
event is held out. The challenger (the serving model's kind and parameters, unless `rechoose`)
is fitted on every other store event; the champion is the serving model as it is. Both rank the
whole catalogue for exactly the same shoppers and targets, history excluded. When the
challenger's NDCG@10 is at least (1 - tolerance) of the champion's, it is refitted on every
event and published as a new generation (`shoprec.generations`); otherwise the old one serves.

The bundle's cleaning options (dedupe, k-core; written by `shoprec train`) are applied to the
store's events again, and shoppers deleted from the store while the job ran are forgotten in the
new generation before it serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shoprec.bundle import Bundle, load_bundle, write_bundle
from shoprec.data.clean import CleanOptions, clean
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.generations import files_lock, keep_last, publish, serving_path
from shoprec.models.base import Recommender
from shoprec.models.ranking import held_out_ranks, ranking_metrics
from shoprec.models.registry import get_spec
from shoprec.privacy.forget import forget_shopper
from shoprec.store import Store

GATE_METRIC = "ndcg@10"
_REPORTED = ("ndcg@10", "recall@10", "mrr@10")
_KEYS = ["user_id", "item_id", "timestamp", "event"]


@dataclass
class RetrainResult:
    state: str  # "swapped" or "kept"
    reason: str
    generation: int
    champion_metrics: dict[str, float] = field(default_factory=dict)
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def swapped(self) -> bool:
        return self.state == "swapped"


def clean_options_of(manifest: dict[str, Any]) -> CleanOptions:
    """The cleaning `shoprec train` applied (recorded in the manifest); defaults for older
    bundles (the CLI's defaults)."""
    return CleanOptions(**(manifest.get("clean") or {}))


def store_events(store: Store, options: CleanOptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(catalogue, events) from the store, the events cleaned as the bundle's were (dismissals
    are feedback, not interest: they stay out). Catalogue columns never filled are dropped."""
    items = store.items_frame().drop("consumable")
    items = items.select([c for c in items.columns if c == "item_id" or items[c].null_count()
                          < items.height])
    events = clean(store.events_frame(), options, "the store")
    if options.min_user > 1 or options.min_item > 1:  # k-core defines the item set too (train)
        items = items.join(events.select("item_id").unique(), on="item_id", how="semi")
    return items, events


def fresh_holdout(events: pl.DataFrame, trained: pl.DataFrame) -> tuple[int, pl.DataFrame]:
    """(number of fresh events, hold-out rows): each shopper's last fresh event, when they have
    earlier history that does not already hold the item (a full ranking excludes history)."""
    events = events.with_row_index("_row")
    fresh = events.join(trained.select(_KEYS).unique(), on=_KEYS, how="anti", nulls_equal=True)
    last = (fresh.sort(["timestamp", "_row"], nulls_last=False)
            .group_by("user_id", maintain_order=True).last())
    others = events.join(last.select("_row"), on="_row", how="anti")
    seen = others.select("user_id", "item_id").unique()
    has_history = others.select("user_id").unique()
    held = (last.join(has_history, on="user_id", how="semi")
            .join(seen, on=["user_id", "item_id"], how="anti"))
    return fresh.height, held


def score_holdout(model: Recommender, histories: list[History], targets: list[int | None],
                  n_items: int) -> dict[str, float]:
    """Full-ranking metrics with history excluded; a target the model does not know is a miss."""
    ranks = np.full(len(histories), n_items, dtype=np.int64)
    known = [n for n, t in enumerate(targets) if t is not None]
    found = held_out_ranks(model.score, [histories[n] for n in known],
                           [np.array([targets[n]]) for n in known], batch_size=512)
    if known:
        ranks[known] = np.concatenate(found)
    metrics = ranking_metrics([np.array([r]) for r in ranks], ks=(10,))
    return {k: round(float(metrics[k]), 6) for k in _REPORTED} | {"users": float(len(ranks))}


def _in_champion_space(champion: Bundle, train_ds: Dataset, history: History,
                       target: int) -> tuple[History, int | None]:
    """The shopper's history and target as the champion's item indices (unknown items drop)."""
    ids = train_ds.item_map.ids
    mapping = np.array([champion.dataset.item_map.get(ids[int(i)], -1) for i in history.items],
                       dtype=np.int64)
    keep = mapping >= 0
    mapped = History(mapping[keep],
                     None if history.values is None else history.values[keep],
                     None if history.timestamps is None else history.timestamps[keep])
    return mapped, champion.dataset.item_map.get(ids[target])


def choose_model(ds: Dataset) -> tuple[str, dict[str, Any]]:
    """(model name, parameters) that `--model auto` picks on `ds` within its default budget."""
    from shoprec.data.splits import last_item_split
    from shoprec.evaluation.auto import select_model
    from shoprec.models.base import get_params

    best = select_model(last_item_split(ds)).best
    return best.model_name, get_params(best.model)


def forget_deleted(folder: Path, store: Store) -> list[str]:
    """Forget in the bundle at `folder` every shopper it holds whose events are no longer in the
    store (deleted while the job trained); returns their ids."""
    bundle = load_bundle(folder)
    gone = sorted(set(bundle.dataset.user_map.ids) - store.user_ids())
    for user_id in gone:
        forgotten = forget_shopper(bundle, user_id)
        if forgotten is not None:
            bundle = forgotten[0]
    return gone


def retrain_generation(
    bundle_dir: Path, store: Store, tolerance: float = 0.05, min_shoppers: int = 10,
    keep: int = 3, rechoose: bool = False, progress: Callable[[str], None] = lambda _: None,
) -> RetrainResult:
    """Compare a challenger with the serving champion on the store's fresh events and publish
    it as a new generation when it is not worse; raises on failure (the caller records it)."""
    start = time.perf_counter()
    generation, path = serving_path(bundle_dir)
    with files_lock(bundle_dir, shared=True):
        champion = load_bundle(path)
    manifest = champion.manifest
    kept = lambda reason, *m: RetrainResult("kept", reason, generation, *m,
                                            seconds=time.perf_counter() - start)
    if store.count_events() == 0:
        return kept("the store holds no events to train on; old bundle kept")
    options = clean_options_of(manifest)
    items, events = store_events(store, options)
    n_fresh, held = fresh_holdout(events, champion.dataset.interactions)
    if n_fresh == 0 and not rechoose:
        return kept("no new events since the serving bundle was built")
    if held.height < min_shoppers:
        return kept(f"too few fresh shoppers to compare on: {held.height} with a held-out event "
                    f"and earlier history, at least {min_shoppers} needed; old bundle kept")
    weights = champion.dataset.event_weights  # events count as they did for the champion
    full_ds = build_dataset(items, events, name="store", event_weights=weights)
    train_ds = build_dataset(full_ds.items, events.with_row_index("_row").join(
        held.select("_row"), on="_row", how="anti").drop("_row"), name="store",
        event_weights=weights)
    name, params = manifest["model"], dict(manifest.get("params") or {})
    if rechoose:
        progress("choosing the model again (--model auto)")
        name, params = choose_model(train_ds)
    progress(f"fitting the challenger ({name}) on {train_ds.interactions.height} events")
    challenger = get_spec(name).build(**params).fit(full_train(train_ds))
    train = full_train(train_ds)
    rows = [train_ds.user_map.index(u) for u in held["user_id"]]
    histories = [train.histories[r] for r in rows]
    targets = [full_ds.item_map.index(i) for i in held["item_id"]]
    challenger_m = score_holdout(challenger, histories, list(targets), train_ds.n_items)
    mapped = [_in_champion_space(champion, train_ds, h, t) for h, t in zip(histories, targets)]
    champion_m = score_holdout(champion.model, [h for h, _ in mapped], [t for _, t in mapped],
                               champion.dataset.n_items)
    floor = (1 - tolerance) * champion_m[GATE_METRIC]
    if challenger_m[GATE_METRIC] < floor:
        return kept(f"challenger {GATE_METRIC} {challenger_m[GATE_METRIC]:.4f} is below "
                    f"{floor:.4f} ({1 - tolerance:.0%} of the champion's "
                    f"{champion_m[GATE_METRIC]:.4f}) on {held.height} fresh shoppers; "
                    "old bundle kept", champion_m, challenger_m)
    progress(f"refitting {name} on all {full_ds.interactions.height} events")
    model = get_spec(name).build(**params).fit(full_train(full_ds))

    def write(folder: Path) -> None:
        write_bundle(folder, full_ds, model,
                     metrics={"holdout": {"champion": champion_m, "challenger": challenger_m}},
                     extra={"retrained_from": manifest.get("fingerprint"),
                            "previous_generation": generation, "clean": asdict(options)})
        forget_deleted(folder, store)

    with files_lock(bundle_dir):  # a deletion either sees the new generation or precedes the check
        new = publish(bundle_dir, write)
        keep_last(bundle_dir, keep)
    return RetrainResult(
        "swapped", f"challenger {GATE_METRIC} {challenger_m[GATE_METRIC]:.4f} vs champion "
                   f"{champion_m[GATE_METRIC]:.4f} on {held.height} fresh shoppers: "
                   f"generation {new} serves", new, champion_m, challenger_m,
        time.perf_counter() - start)
