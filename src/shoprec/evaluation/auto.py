"""`--model auto`: train the family of models within a wall-clock budget and keep the best one on
validation, so each shop gets its own best model without anyone tuning it.

The family is tried cheapest first: item-kNN, EASE^R (skipped, with the reason, above its dense
limit), ALS, then the text-aware transformer, which gets what is left of the budget (less a
reserve for the blend; a second text start when the first early-stops with time to spare, then a
network twice as wide when there is time for it), then
`hybrid`, a blend of the best transformer with the best item-kNN and EASE already trained (its weights chosen on the same validation shoppers, so it is never below its
best component there). Every candidate's validation figure and time is reported, and the winner
is the one with the highest validation NDCG@10; the test split is never looked at here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.splits import make_split
from shoprec.data.types import EvalSet, Split, TrainData
from shoprec.evaluation.metrics import evaluate
from shoprec.evaluation.result import EvaluationResult
from shoprec.models.base import EarlyStops, Recommender, fit_model
from shoprec.models.registry import get_spec

SELECT_BY = "ndcg@10"
#: minutes of budget for a shop of Beauty's size (about 200k interactions) on 2 cores
BEAUTY_BUDGET_MINUTES = 30.0
BEAUTY_INTERACTIONS = 200_000
#: share of the budget kept back for the blend after the transformer
BLEND_RESERVE = 0.1


def default_budget_minutes(interactions: int) -> float:
    """30 minutes for a Beauty-sized shop, proportionally less for smaller ones (at least 3)."""
    return max(3.0, min(BEAUTY_BUDGET_MINUTES,
                        BEAUTY_BUDGET_MINUTES * interactions / BEAUTY_INTERACTIONS))


@dataclass(frozen=True)
class Member:
    """One model of the family: registry name, label in reports, and the parameters to try."""

    model: str
    label: str
    grid: Sequence[dict[str, Any]] | None = None  # None: the registry's grid
    sequential: bool = False  # gets the rest of the budget as its time limit
    fixed: dict[str, Any] = field(default_factory=dict)  # added to every grid point (threads)
    #: tried after the grid, on top of its best point, when the budget still allows (a wider
    #: network costs more per epoch, so it comes last and a short budget never reaches it; like
    #: every sequential point it runs only if it can train at least as long as the last one)
    larger: dict[str, Any] = field(default_factory=dict)


def default_family(id_only: bool = False) -> list[Member]:
    """The family `auto` tries; `id_only` swaps the transformer for its no-text ablation.

    The text-aware transformer tries its default text start, then, if what is left of the budget
    lets it train as long again, the wider start (0.3) of the registry's grid: the wider start
    won on sparse Beauty and lost on dense MovieLens, so each shop's validation decides. Then,
    with time still left, the better of the two with twice the hidden size (128): on validation
    it beat 64 on Beauty, MovieLens and Office, but an epoch costs about twice as much, so a
    short budget (the demo, Games) keeps the smaller network. A run that could not train as long
    as the last one (a small shop, or a slow epoch) is skipped."""
    seq = [{"item_repr": "id", "id_init": "random"}] if id_only else [{}, {"id_init_scale": 0.3}]
    return [Member("itemknn", "itemknn"), Member("ease", "ease"),
            Member("als", "als", [get_spec("als").candidates()[0]]),
            Member("sasrec", "sasrec-id" if id_only else "sasrec", seq, sequential=True,
                   larger={} if id_only else {"dim": 128})]


@dataclass
class Candidate:
    label: str
    model_name: str
    params: dict[str, Any]
    valid: dict[str, float]
    seconds: float
    model: Recommender | None = None
    status: str = "ok"

    def summary(self) -> dict[str, Any]:
        return {"label": self.label, "model": self.model_name, "params": self.params,
                "status": self.status, "valid_" + SELECT_BY: self.valid.get(SELECT_BY),
                "seconds": round(self.seconds, 1)}


@dataclass
class Selection:
    best: Candidate
    candidates: list[Candidate] = field(default_factory=list)
    budget_minutes: float = 0.0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"chosen": self.best.label, "budget_minutes": round(self.budget_minutes, 1),
                "seconds": round(self.seconds, 1),
                "candidates": [c.summary() for c in self.candidates]}


def select_model(split: Split, budget_minutes: float | None = None,
                 family: Sequence[Member] | None = None, blend: bool = True,
                 progress: Callable[[str], None] = lambda _: None,
                 blend_shoppers: int | None = None) -> Selection:
    """Fit every member on `split.train`, score it on `split.valid`, keep the best.
    `blend_shoppers`: search the blend's weights on a random sample of this many validation
    shoppers (None: all of them; the demo samples, the benchmarks do not)."""
    family = list(family) if family is not None else default_family()
    interactions = sum(len(h) for h in split.train.histories)
    budget = budget_minutes if budget_minutes is not None else default_budget_minutes(interactions)
    start = time.perf_counter()
    left = lambda: budget * 60 - (time.perf_counter() - start)
    candidates: list[Candidate] = []
    for member in family:
        last_seconds = 0.0  # a sequential member's previous grid point's time
        for params in _points(member, candidates):
            params = {**params, **member.fixed}
            if left() <= 0:
                candidates.append(Candidate(member.label, member.model, dict(params), {}, 0.0,
                                            status="skipped: budget spent"))
                continue
            if member.sequential:
                minutes = left() * (1 - BLEND_RESERVE) / 60
                if 60 * minutes < last_seconds:  # it could not train as long as the last one
                    candidates.append(Candidate(member.label, member.model, dict(params), {}, 0.0,
                                                status="skipped: budget left too short"))
                    continue
                params = {**params, "max_minutes": max(0.5, minutes), "progress": False}
            candidates.append(_fit_one(member, dict(params), split, progress))
            last_seconds = candidates[-1].seconds
    if blend:
        hybrid = _blend(candidates, split, progress, blend_shoppers)
        if hybrid is not None:
            candidates.append(hybrid)
    done = [c for c in candidates if c.status == "ok"]
    if not done:
        raise ValueError("auto: no candidate could be trained: " +
                         "; ".join(f"{c.label}: {c.status}" for c in candidates))
    best = max(done, key=lambda c: c.valid[SELECT_BY])
    return Selection(best, candidates, budget, time.perf_counter() - start)


def _points(member: Member, candidates: list[Candidate]) -> Iterator[dict[str, Any]]:
    """The member's grid, then its `larger` network on top of the best grid point so far (read
    when reached, so it sees the grid's results)."""
    yield from (member.grid if member.grid is not None else get_spec(member.model).candidates())
    best = best_of(candidates, member.label) if member.larger else None
    if best is not None:
        own = {k: v for k, v in best.params.items() if k not in ("max_minutes", "progress")}
        yield {**own, **member.larger}


def _fit_one(member: Member, params: dict[str, Any], split: Split,
             progress: Callable[[str], None]) -> Candidate:
    started = time.perf_counter()
    try:
        model = fit_model(get_spec(member.model).build(**params), split.train, split.valid)
    except (ValueError, MemoryError) as error:  # e.g. EASE above its dense limit
        return Candidate(member.label, member.model, params, {}, time.perf_counter() - started,
                         status=f"skipped: {error}")
    valid = evaluate(model, split.valid, split.train.n_items)
    valid.pop("eval_seconds", None)
    seconds = time.perf_counter() - started
    progress(f"{member.label} {params}: valid {SELECT_BY} {valid[SELECT_BY]:.4f} ({seconds:.0f} s)")
    return Candidate(member.label, member.model, params, valid, seconds, model)


def best_of(candidates: Sequence[Candidate], label: str) -> Candidate | None:
    """The trained candidate with the best validation figure among those called `label`."""
    done = [c for c in candidates if c.label == label and c.status == "ok"]
    return max(done, key=lambda c: c.valid[SELECT_BY]) if done else None


#: how many of the best transformers (by validation) the blend is tried with: the best one alone
#: is not always the best partner (MovieLens: the 128-wide one led by .1053 to .1037 alone, but
#: blended .1173 against the 64-wide one's .1195)
BLEND_TRANSFORMERS = 2


def _blend(candidates: list[Candidate], split: Split, progress: Callable[[str], None],
           shoppers: int | None = None) -> Candidate | None:
    """The hybrid of one of the best transformers with the best item-kNN and EASE already
    trained: each of the BLEND_TRANSFORMERS best transformers is blended and the blend with the
    best validation figure is kept."""
    from shoprec.models.hybrid import Hybrid

    trained = [c for c in candidates if c.model_name == "sasrec" and c.status == "ok"]
    if not trained:
        return None
    others = {name: found for name in ("itemknn", "ease")
              if (found := best_of(candidates, name)) is not None}
    started = time.perf_counter()
    blends = []
    for sequential in sorted(trained, key=lambda c: -c.valid[SELECT_BY])[:BLEND_TRANSFORMERS]:
        parts = {"sasrec": sequential, **others}
        model = Hybrid.from_fitted({n: c.model for n, c in parts.items()},
                                   _sample(split.valid, shoppers))
        blends.append((model.validation_[SELECT_BY], model, sequential, parts))
    _, model, sequential, parts = max(blends, key=lambda b: b[0])
    valid = evaluate(model, split.valid, split.train.n_items)
    valid.pop("eval_seconds", None)
    label = "hybrid-id" if sequential.label.endswith("-id") else "hybrid"
    seconds = time.perf_counter() - started + sum(c.seconds for c in parts.values())
    progress(f"{label} {model.weights_}: valid {SELECT_BY} {valid[SELECT_BY]:.4f}")
    return Candidate(label, "hybrid", {"weights": model.weights_}, valid, seconds, model)


def _sample(valid: EvalSet, shoppers: int | None, seed: int = 0) -> EvalSet:
    """`shoppers` validation shoppers drawn at random (all of them when None or fewer)."""
    if shoppers is None or len(valid) <= shoppers:
        return valid
    rows = np.sort(np.random.default_rng(seed).choice(len(valid), shoppers, replace=False))
    return EvalSet(valid.users[rows], [valid.histories[r] for r in rows],
                   [valid.targets[r] for r in rows])


def quick_family() -> list[Member]:
    """The demo's family: each model at its default parameters, so the transformer gets most of a
    few minutes' budget."""
    return [Member("itemknn", "itemknn", [{}]), Member("ease", "ease", [{}]),
            Member("sasrec", "sasrec", [{}], sequential=True)]


def refit_winner(best: Candidate, data: TrainData) -> Recommender:
    """The chosen model for a bundle: models without early stopping are refitted on all of
    `data` (seconds); the transformer keeps the weights it early-stopped on (as `fit` without a
    validation set would: trained on all but each shopper's last item); a hybrid keeps its
    weights and refits its cheap components."""
    from shoprec.models.hybrid import Hybrid

    model = best.model
    if isinstance(model, Hybrid):
        return model.refit_cheap_parts(data)
    return model if isinstance(model, EarlyStops) else model.fit(data)


def evaluate_auto(ds: Dataset, protocol: str = "leave-one-out",
                  budget_minutes: float | None = None,
                  progress: Callable[[str], None] = lambda _: None) -> EvaluationResult:
    """`shoprec evaluate --model auto`: the selection on validation, the winner scored on test."""
    split = make_split(ds, protocol)
    selection = select_model(split, budget_minutes, progress=progress)
    best = selection.best
    test = evaluate(best.model, split.test, ds.n_items)
    eval_s = test.pop("eval_seconds")
    return EvaluationResult(
        dataset=ds.name, model=f"auto:{best.label}", protocol=split.protocol, users=ds.n_users,
        items=ds.n_items, params=best.params, metrics=test, valid_metrics=best.valid,
        train_seconds=selection.seconds, eval_seconds=eval_s,
        tried=[c.summary() for c in selection.candidates])
