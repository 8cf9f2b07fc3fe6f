import json

import numpy as np
import polars as pl
import pytest

from shoprec.data.splits import full_train
from shoprec.data.types import History
from shoprec.profiles.profile import DAY, ProfileBuilder, build_profile


def _same(a, b) -> None:
    assert a.n_events == b.n_events and (a.first_seen, a.last_seen) == (b.first_seen, b.last_seen)
    assert a.as_of == b.as_of and a.activity_level == b.activity_level
    assert a.tag_mass.keys() == b.tag_mass.keys()
    for t in a.tag_mass:
        assert a.tag_mass[t] == pytest.approx(b.tag_mass[t], rel=1e-9)
    assert a.event_mass == pytest.approx(b.event_mass, rel=1e-9)
    if a.interest_sum is not None:
        np.testing.assert_allclose(a.interest_sum, b.interest_sum, rtol=1e-6, atol=1e-9)


def test_batch_profiles_equal_one_by_one_profiles(movielens) -> None:
    builder = ProfileBuilder(half_life_days=30).fit(movielens)
    everyone = builder.build_all(movielens)
    assert len(everyone) == movielens.n_users
    histories = full_train(movielens).histories
    as_of = int(movielens.interactions["timestamp"].max())
    for u in (0, 1, 100, 942):
        uid = movielens.user_map.ids[u]
        _same(everyone[uid], builder.build(histories[u], uid, now=as_of))


def test_incremental_update_equals_rebuilding(beauty_300, beauty_300_vectors) -> None:
    builder = ProfileBuilder(half_life_days=60).fit(beauty_300, beauty_300_vectors)
    h = max(full_train(beauty_300).histories, key=len)
    assert len(h) >= 5
    for cut in (1, len(h) // 2, len(h) - 1):
        old = builder.build(History(h.items[:cut], None, h.timestamps[:cut]), "u")
        new = builder.update(old, History(h.items[cut:], None, h.timestamps[cut:]))
        _same(new, builder.build(h, "u"))


def test_tag_weights_are_shares_and_recent_events_weigh_more(movielens) -> None:
    builder = ProfileBuilder(half_life_days=1.0).fit(movielens)
    h = full_train(movielens).histories[0]
    # the shopper's last 10 events, moved a year later: they must dominate at a 1-day half-life
    ts = h.timestamps.copy()
    ts[-10:] += int(365 * DAY)
    recent = builder.build(History(h.items, None, ts))
    flat = ProfileBuilder(half_life_days=1e9).fit(movielens).build(History(h.items, None, ts))
    assert sum(w for _, w in recent.tags(top=100)) == pytest.approx(1.0)
    last_tags = {t for i in h.items[-10:] for t in builder.tags_.of_item(int(i))}
    assert set(recent.tag_mass) >= last_tags
    assert recent.tags(1)[0][0] in last_tags
    share_recent = sum(w for t, w in recent.tags(100) if t in last_tags)
    share_flat = sum(w for t, w in flat.tags(100) if t in last_tags)
    assert share_recent > 0.99 and share_flat < share_recent


def test_activity_levels(movielens) -> None:
    builder = ProfileBuilder().fit(movielens)
    h = full_train(movielens).histories[5]
    assert builder.build(History(h.items[:2], None, h.timestamps[:2])).activity_level == "new"
    later = int(h.timestamps.max() + 400 * DAY)
    assert builder.build(h, now=later).activity_level == "dormant"
    assert builder.build(h).activity_level in ("occasional", "regular", "frequent")


def test_price_band_from_catalogue_quartiles() -> None:
    # no data set in shared/data has prices: a tiny priced catalogue
    items = pl.DataFrame({"item_id": [str(i) for i in range(8)],
                          "title": [f"item {i}" for i in range(8)],
                          "price": [1.0, 2.0, 3.0, 4.0, 50.0, 60.0, 70.0, None]})
    cheap = build_profile(History(np.array([0, 1]), None, np.array([0, 0])), items)
    dear = build_profile(History(np.array([5, 6, 7]), None, np.array([0, 0, 0])), items)
    assert cheap.price_band == "budget" and cheap.mean_price == pytest.approx(1.5)
    assert dear.price_band == "premium" and dear.mean_price == pytest.approx(65.0)
    body = dear.to_json()
    assert body["price_band"] == {"band": "premium", "mean_price": 65.0}


def test_to_json_is_plain_json(beauty_300, beauty_300_vectors) -> None:
    builder = ProfileBuilder().fit(beauty_300, beauty_300_vectors)
    p = builder.build(full_train(beauty_300).histories[0], "A")
    body = json.loads(json.dumps(p.to_json(include_vector=True)))
    assert body["user_id"] == "A" and body["tags"] and body["tags"][0]["kind"] == "topic"
    assert body["price_band"] is None  # Beauty has no prices
    assert len(body["interest_vector"]) == beauty_300_vectors.shape[1]
    assert np.linalg.norm(body["interest_vector"]) == pytest.approx(1.0, abs=1e-4)


def test_bad_inputs_name_what_is_wrong(movielens) -> None:
    builder = ProfileBuilder().fit(movielens)
    with pytest.raises(ValueError, match="outside 0..1681"):
        builder.build(History(np.array([5, 99999]), None, np.array([0, 1])))
    with pytest.raises(ValueError, match="item_vectors has 3 rows for 1682 items"):
        ProfileBuilder().fit(movielens, np.zeros((3, 4), np.float32))
