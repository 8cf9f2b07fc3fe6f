"""`--model auto` on real Beauty shoppers: the family within a budget, the choice on validation,
every candidate reported, the winner's bundle written."""

import json
from pathlib import Path

import pytest

from shoprec.bundle import load_bundle
from shoprec.data.dataset import Dataset
from shoprec.data.splits import leave_one_out
from shoprec.data.types import Split
from shoprec.evaluation.auto import Member, default_budget_minutes, select_model
from shoprec.training import train_auto
from tests.support.slices import most_reviewed

TINY_SASREC = {"item_repr": "id", "id_init": "random", "dim": 32, "layers": 1, "heads": 1,
               "max_len": 20, "max_epochs": 2, "batch_size": 128}


@pytest.fixture(scope="module")
def dense(beauty: Dataset) -> Dataset:
    return most_reviewed(beauty, 500)


def family(ease_limit: int = 30_000) -> list[Member]:
    return [Member("itemknn", "itemknn", [{"neighbours": 100}, {"neighbours": 20}]),
            Member("ease", "ease", [{"max_items": ease_limit}]),
            Member("sasrec", "sasrec", [TINY_SASREC], sequential=True)]


@pytest.fixture(scope="module")
def split(dense: Dataset) -> Split:
    return leave_one_out(dense)


def test_chooses_the_best_on_validation_and_reports_every_candidate(split: Split) -> None:
    selection = select_model(split, budget_minutes=10, family=family())
    labels = [c.label for c in selection.candidates]
    assert labels == ["itemknn", "itemknn", "ease", "sasrec", "hybrid"]
    done = [c for c in selection.candidates if c.status == "ok"]
    assert selection.best.valid["ndcg@10"] == max(c.valid["ndcg@10"] for c in done)
    hybrid = selection.candidates[-1]
    assert hybrid.valid["ndcg@10"] >= max(c.valid["ndcg@10"] for c in done[:-1]) - 1e-9
    sasrec = selection.candidates[3]
    assert 0 < sasrec.params["max_minutes"] <= 10  # the rest of the budget, less the reserve
    summary = selection.summary()
    assert summary["chosen"] == selection.best.label and len(summary["candidates"]) == 5


def test_a_model_that_cannot_fit_is_skipped_with_its_reason(split: Split) -> None:
    selection = select_model(split, budget_minutes=10, family=family(ease_limit=10), blend=False)
    ease = next(c for c in selection.candidates if c.label == "ease")
    assert ease.status.startswith("skipped:") and "max_items=10" in ease.status
    assert selection.best.label != "ease"


def test_a_spent_budget_skips_the_rest_and_nothing_trained_is_an_error(split: Split) -> None:
    with pytest.raises(ValueError, match="no candidate could be trained.*budget spent"):
        select_model(split, budget_minutes=0, family=family())


def test_default_budget_scales_with_the_shop() -> None:
    assert default_budget_minutes(200_000) == 30
    assert default_budget_minutes(50_000) == 7.5
    assert default_budget_minutes(1_000) == 3  # the floor
    assert default_budget_minutes(2_000_000) == 30  # the ceiling


def test_train_auto_writes_the_winners_bundle(dense: Dataset, tmp_path: Path) -> None:
    path = train_auto(dense, tmp_path / "bundle", budget_minutes=10, family=family())
    manifest = json.loads((path / "manifest.json").read_text())
    chosen = manifest["selection"]["chosen"]
    assert manifest["model"] == ("hybrid" if chosen.startswith("hybrid") else chosen)
    assert [c["label"] for c in manifest["selection"]["candidates"]][-1] == "hybrid"
    bundle = load_bundle(path)
    scores = bundle.model.score(leave_one_out(dense).test.histories[:3])
    assert scores.shape == (3, dense.n_items)


def test_the_blend_can_be_weighted_on_a_sample_of_shoppers(split: Split) -> None:
    from shoprec.evaluation.auto import _sample

    sample = _sample(split.valid, 100)
    assert len(sample) == 100 and len(set(sample.users.tolist())) == 100
    assert set(sample.users.tolist()) <= set(split.valid.users.tolist())
    assert _sample(split.valid, None) is split.valid
    selection = select_model(split, budget_minutes=10, family=family(), blend_shoppers=100)
    hybrid = selection.candidates[-1]
    assert hybrid.label == "hybrid" and hybrid.status == "ok"
    # its reported figure is still measured on every validation shopper, as the others' are
    assert hybrid.valid["ndcg@10"] >= 0.0 and "recall@10" in hybrid.valid


def test_a_second_transformer_grid_point_trains_when_time_is_left_and_the_blend_takes_the_best(
        split: Split) -> None:
    two = [Member("itemknn", "itemknn", [{"neighbours": 100}]),
           Member("sasrec", "sasrec", [TINY_SASREC, {**TINY_SASREC, "lr": 3e-3}], sequential=True)]
    selection = select_model(split, budget_minutes=10, family=two)
    sasrecs = [c for c in selection.candidates if c.label == "sasrec"]
    assert [c.status for c in sasrecs] == ["ok", "ok"]
    # each transformer is blended with the same partners; the better blend is kept
    from shoprec.models.hybrid import Hybrid

    hybrid = selection.candidates[-1].model
    partners = {n: m for n, m in hybrid.models_.items() if n != "sasrec"}
    figures = {id(c.model): Hybrid.from_fitted({"sasrec": c.model, **partners},
                                               split.valid).validation_["ndcg@10"]
               for c in sasrecs}
    assert id(hybrid.models_["sasrec"]) in figures
    assert figures[id(hybrid.models_["sasrec"])] == max(figures.values())


def test_the_larger_network_comes_last_on_top_of_the_grids_best_point(split: Split) -> None:
    grid = [TINY_SASREC, {**TINY_SASREC, "lr": 3e-3}]
    wider = [Member("sasrec", "sasrec", grid, sequential=True, larger={"dim": 48})]
    selection = select_model(split, budget_minutes=10, family=wider, blend=False)
    first, second, larger = selection.candidates
    best = max((first, second), key=lambda c: c.valid["ndcg@10"])
    assert larger.status == "ok" and larger.params["dim"] == 48
    assert larger.params["lr"] == best.params["lr"]  # the grid's winner, made wider
    assert larger.model.config.dim == 48 and best.model.config.dim == 32
    assert larger.params["max_minutes"] < best.params["max_minutes"]  # what was left, not a reset


@pytest.mark.parametrize(("seconds_left", "trains"), [(100.0, False), (120.0, True)])
def test_the_larger_network_trains_only_with_time_for_the_last_runs_length(
        split: Split, monkeypatch: pytest.MonkeyPatch, seconds_left: float, trains: bool) -> None:
    """Every fit takes 100 s on a controlled clock: after the first, the larger one needs 100 s
    of the budget left after the blend's 10% reserve."""
    from shoprec.evaluation import auto

    clock = [0.0]
    fit = auto._fit_one

    def fit_in_100_seconds(*args):
        candidate = fit(*args)
        clock[0] += 100.0
        candidate.seconds = 100.0
        return candidate

    monkeypatch.setattr(auto.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(auto, "_fit_one", fit_in_100_seconds)
    wider = [Member("sasrec", "sasrec", [TINY_SASREC], sequential=True, larger={"dim": 48})]
    selection = select_model(split, budget_minutes=(100 + seconds_left) / 60, family=wider,
                             blend=False)
    larger = selection.candidates[-1]
    assert len(selection.candidates) == 2 and larger.params["dim"] == 48
    assert larger.status == ("ok" if trains else "skipped: budget left too short")
