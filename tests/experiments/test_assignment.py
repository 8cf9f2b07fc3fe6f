"""Assignment: sticky per shopper, the configured split, and a ramp that only adds shoppers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scipy.stats import binomtest

from shoprec.data.errors import DataError
from shoprec.experiments.assignment import assign
from shoprec.experiments.lifecycle import Variant, new_experiment

USERS = [f"user-{n}" for n in range(20_000)]


def experiment(weights=(1.0, 1.0), ramp: float = 1.0, salt: str = "s1"):
    variants = [Variant(f"v{n}", None, w) for n, w in enumerate(weights)]
    return new_experiment("t", variants, ramp, salt=salt)


def test_the_same_shopper_always_gets_the_same_variant() -> None:
    exp = experiment()
    first = [assign(exp, u) for u in USERS[:500]]
    assert first == [assign(exp, u) for u in USERS[:500]]
    other_salt = experiment(salt="s2")
    moved = sum(a != assign(other_salt, u) for a, u in zip(first, USERS[:500]))
    assert 150 < moved < 350  # a new salt reshuffles about half


@pytest.mark.parametrize("weights", [(1.0, 1.0), (9.0, 1.0), (1.0, 1.0, 2.0)])
def test_shares_follow_the_split(weights) -> None:
    exp = experiment(weights)
    got = [assign(exp, u) for u in USERS]
    for n, w in enumerate(weights):
        hits = got.count(f"v{n}")
        assert binomtest(hits, len(USERS), w / sum(weights)).pvalue > 0.001


def test_raising_the_ramp_adds_shoppers_and_moves_none() -> None:
    low = experiment(ramp=0.2)
    high = replace(low, ramp=0.6)
    before = {u: assign(low, u) for u in USERS}
    after = {u: assign(high, u) for u in USERS}
    inside = [u for u, v in before.items() if v is not None]
    assert binomtest(len(inside), len(USERS), 0.2).pvalue > 0.001
    assert all(after[u] == before[u] for u in inside)
    assert sum(v is not None for v in after.values()) > 2.5 * len(inside)


def test_bad_configurations_are_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="at least two"):
        new_experiment("x", [Variant("a")])
    with pytest.raises(DataError, match="weight"):
        new_experiment("x", [Variant("a"), Variant("b", None, 0.0)])
    with pytest.raises(DataError, match="not a bundle"):
        new_experiment("x", [Variant("a"), Variant("b", str(tmp_path))])
    with pytest.raises(DataError, match="ramp"):
        new_experiment("x", [Variant("a"), Variant("b")], ramp=1.5)
