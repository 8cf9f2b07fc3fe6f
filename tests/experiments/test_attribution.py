"""Attribution and the readout: events reach the list and position that showed the item, the
fixed-horizon rule decides only at its horizon, guardrails and SRM block a winner."""

from __future__ import annotations

import json

from shoprec.experiments.attribution import attribute, readout
from shoprec.experiments.lifecycle import StoppingRule, Variant, new_experiment
from shoprec.store.experiment_tables import ExposureRow, OutcomeRow


def exposure(rid: str, variant: str, items=("a", "b", "c"), t: float = 100.0,
             surface: str = "feed", latency: float = 5.0, status: int = 200) -> ExposureRow:
    return ExposureRow(rid, t, f"u-{rid}", "exp", variant, surface, None, json.dumps(list(items)),
                       latency, status)


def outcome(rid: str, item: str, event: str, position: int | None = None,
            price: float | None = None) -> OutcomeRow:
    return OutcomeRow(rid, f"u-{rid}", item, event, position, price, 101.0)


def test_events_reach_the_list_and_position_that_showed_the_item() -> None:
    rows = [exposure("r1", "A"), exposure("r2", "A")]
    flags = attribute(rows, [outcome("r1", "b", "click"), outcome("r1", "b", "purchase", price=4.0),
                             outcome("r1", "b", "purchase", price=4.0),  # a retried purchase
                             outcome("r2", "z", "click"),  # not in the list: not attributed
                             outcome("r9", "a", "click")])  # no such list
    assert set(flags) == {"r1"}
    assert flags["r1"]["positions"] == [2] and flags["r1"]["revenue"] == 4.0
    assert flags["r1"]["clicked"] and flags["r1"]["carted"] and flags["r1"]["purchased"]
    assert attribute(rows, [outcome("r2", "c", "view", position=7)])["r2"]["positions"] == [7]


def experiment(horizon: int | None = None):
    rule = StoppingRule(exposures_per_variant=horizon)
    return new_experiment("t", [Variant("A"), Variant("B")], stopping=rule)


def traffic(n_a: int, clicks_a: int, n_b: int, clicks_b: int, latency_b: float = 5.0):
    rows = ([exposure(f"a{n}", "A") for n in range(n_a)]
            + [exposure(f"b{n}", "B", latency=latency_b) for n in range(n_b)])
    events = ([outcome(f"a{n}", "a", "click") for n in range(clicks_a)]
              + [outcome(f"b{n}", "a", "click") for n in range(clicks_b)])
    return rows, events


def test_the_readout_waits_for_the_horizon_then_names_the_winner() -> None:
    rows, events = traffic(1000, 50, 1000, 90)
    early = readout(experiment(horizon=5000), rows, events, {"A": 1000, "B": 1000})
    assert early["stopping"]["decision"] == "continue" and early["stopping"]["winner"] is None
    done = readout(experiment(horizon=1000), rows, events, {"A": 1000, "B": 1000})
    a, b = done["variants"]
    assert (a["ctr"]["rate"], b["ctr"]["rate"]) == (0.05, 0.09)
    assert abs(b["lift_ctr"]["lift"] - 0.8) < 1e-9
    assert done["stopping"]["winner"] == "B" and done["srm"]["ok"]
    assert len(done["series"]["A"]) >= 1 and done["series"]["B"][-1]["ctr"] == 0.09


def test_a_broken_guardrail_or_split_blocks_the_winner() -> None:
    rows, events = traffic(1000, 50, 1000, 90, latency_b=50.0)
    slow = readout(experiment(horizon=1000), rows, events, {"A": 1000, "B": 1000})
    assert not next(g for g in slow["guardrails"] if g["variant"] == "B")["ok"]
    assert slow["stopping"]["winner"] == "A" and "guardrail" in slow["stopping"]["decision"]
    rows, events = traffic(1000, 50, 1000, 90)
    skewed = readout(experiment(horizon=1000), rows, events, {"A": 1200, "B": 800})
    assert not skewed["srm"]["ok"] and skewed["stopping"]["decision"].startswith("invalid")


def test_ads_are_counted_apart() -> None:
    rows = [exposure("f1", "A"), exposure("d1", "A", surface="ad"), exposure("b1", "B")]
    out = readout(experiment(), rows, [outcome("d1", "a", "click")], {"A": 1, "B": 1})
    a = out["variants"][0]
    assert a["exposures"] == 1 and a["ctr"]["successes"] == 0
    assert a["ads"]["n"] == 1 and a["ads"]["successes"] == 1
