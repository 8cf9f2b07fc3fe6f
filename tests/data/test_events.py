"""The event vocabulary: weights are validated, parsed, and the same in training and serving."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data.dataset import build_dataset
from shoprec.data.events import DEFAULT_WEIGHTS, EVENT_TYPES, EventWeights
from shoprec.data.splits import full_train


def test_defaults_order_the_events_and_dismiss_is_negative() -> None:
    w = DEFAULT_WEIGHTS
    assert 0 < w["view"] <= w["click"] <= w["cart"] <= w["purchase"]
    assert w["purchase"] > w["view"] and w["dismiss"] < 0
    assert set(w.to_json()) == set(EVENT_TYPES)


def test_parse_and_refuse_bad_weights() -> None:
    w = EventWeights.parse("purchase=5, cart=4")
    assert w["purchase"] == 5 and w["cart"] == 4 and w["view"] == DEFAULT_WEIGHTS["view"]
    with pytest.raises(ValueError, match="unknown event types.*'like'"):
        EventWeights({"like": 2})
    with pytest.raises(ValueError, match="view <= click <= cart <= purchase"):
        EventWeights({"view": 3, "purchase": 1})
    with pytest.raises(ValueError, match="dismiss is negative"):
        EventWeights({"dismiss": 1})
    with pytest.raises(ValueError, match="not name=number"):
        EventWeights.parse("purchase:3")


def test_training_values_are_the_event_strengths() -> None:
    """A purchase trains at its weight, a rating at its stars, exactly as serving counts them."""
    items = pl.DataFrame({"item_id": ["a", "b", "c"]})
    events = pl.DataFrame({"user_id": ["u"] * 4, "item_id": ["a", "b", "c", "a"],
                           "timestamp": [1, 2, 3, 4], "event": ["view", "purchase", "rating", "cart"],
                           "value": [None, None, 4.0, None]},
                          schema_overrides={"value": pl.Float32})
    weights = EventWeights({"purchase": 6})
    ds = build_dataset(items, events, "tiny", event_weights=weights)
    values = full_train(ds).histories[0].values
    expected = [weights.strength(e, v) for e, v in
                zip(events["event"], [None, None, 4.0, None])]
    np.testing.assert_allclose(values, expected)
    np.testing.assert_allclose(values, [DEFAULT_WEIGHTS["view"], 6, 4, DEFAULT_WEIGHTS["cart"]])


def test_train_records_the_weights_and_refuses_bad_ones(tmp_path, beauty_slice) -> None:
    """`shoprec train --event-weights` writes them into the bundle; the bundle loads them back."""
    import json

    from typer.testing import CliRunner

    from shoprec.bundle import load_bundle
    from shoprec.cli import app

    shop = tmp_path / "shop"
    shop.mkdir()
    beauty_slice.interactions.select("user_id", "item_id", "timestamp").write_csv(
        shop / "interactions.csv")
    out = tmp_path / "bundle"
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(shop), "--model", "itemknn", "--out", str(out),
                                 "--event-weights", "purchase=4,cart=3"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["event_weights"]["purchase"] == 4
    assert load_bundle(out).dataset.event_weights["cart"] == 3
    bad = runner.invoke(app, ["train", str(shop), "--model", "itemknn", "--out",
                              str(tmp_path / "b2"), "--event-weights", "purchase=0.1"])
    assert bad.exit_code == 2 and "view <= click <= cart <= purchase" in bad.output
