"""The engine's rules on a real Beauty slice: weights, hide rules, dismissals, filters on items
added after training, and the bundle carrying its event weights to serving."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.bundle import write_bundle
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.events import EventWeights
from shoprec.data.splits import full_train
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.recommending import recommend, shopper_state
from shoprec.engine.rules import Filters
from shoprec.engine.serving import Serving
from shoprec.models.itemknn import ItemKNN
from shoprec.store import EventRecord, ItemRecord


@pytest.fixture(scope="module")
def serving(beauty_slice: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Serving:
    ds = build_dataset(beauty_slice.items, beauty_slice.interactions, beauty_slice.name,
                       event_weights=EventWeights({"purchase": 5.0, "dismiss": -2.0}))
    path = write_bundle(tmp_path_factory.mktemp("engine") / "bundle", ds,
                        ItemKNN().fit(full_train(ds)))
    return Serving.load(path)


@pytest.fixture(scope="module")
def catalogue(serving: Serving) -> Catalogue:
    return Catalogue.from_frame(serving.bundle.dataset.items)


def ev(item: str, event: str, user: str = "shopper") -> EventRecord:
    return EventRecord(user, item, event)


def ids(ranked) -> list[str]:
    return [r.item_id for r in ranked]


def test_the_bundle_carries_its_event_weights_to_serving(serving: Serving) -> None:
    assert serving.bundle.dataset.event_weights["purchase"] == 5.0
    state = shopper_state(serving, [ev(serving.item_ids[0], "view"),
                                    ev(serving.item_ids[1], "purchase")], Catalogue())
    np.testing.assert_allclose(state.history.values, [1.0, 5.0])


def test_owned_and_dismissed_items_stay_hidden_consumables_come_back(
        serving: Serving, catalogue: Catalogue) -> None:
    a, b, c = serving.item_ids[:3]
    events = [ev(a, "purchase"), ev(b, "view"), ev(c, "dismiss")]
    shown = ids(recommend(serving, events, catalogue, 50)[0])
    assert a not in shown and c not in shown
    consumable = Catalogue([*(catalogue.get(i) for i in catalogue.ids() if i != a),
                            ItemRecord(a, "refill", consumable=True)])
    again = recommend(serving, [*events, ev(a, "purchase")], consumable, serving.n_items)[0]
    assert a in ids(again) and c not in ids(again)


def test_a_dismissal_pushes_down_what_is_bought_with_it(serving: Serving,
                                                         catalogue: Catalogue) -> None:
    """Dismissing an item sinks its strongest co-purchase, which was on the list before."""
    history = [ev(serving.item_ids[i], "purchase") for i in (0, 1, 2)]
    before = ids(recommend(serving, history, catalogue, 10)[0])
    with_top = serving.cooccurrence[serving.item_index[before[0]]].toarray().ravel()
    partner = max(before[1:], key=lambda i: with_top[serving.item_index[i]])
    assert with_top[serving.item_index[partner]] > 0  # shown, and bought with the top item
    ranked_after = recommend(serving, [*history, ev(before[0], "dismiss")], catalogue,
                             serving.n_items)[0]
    after = {r.item_id: r.score for r in ranked_after}
    scores = {r.item_id: r.score for r in recommend(serving, history, catalogue,
                                                    serving.n_items)[0]}
    assert before[0] not in after
    assert after[partner] < scores[partner]  # pushed down
    unrelated = [i for i in before[1:] if with_top[serving.item_index[i]] == 0]
    assert unrelated and all(after[i] == pytest.approx(scores[i]) for i in unrelated)


def test_filters_apply_to_items_added_after_training(serving: Serving) -> None:
    """A new item is filtered by its catalogue record on every surface, like the others."""
    records = [ItemRecord(i, price=10.0 + n, brand="Acme" if n % 2 else "Brio")
               for n, i in enumerate(serving.item_ids)]
    catalogue = Catalogue([*records, ItemRecord("new-1", "new lipstick", price=12, brand="Acme")])
    history = [ev(serving.item_ids[i], "purchase") for i in (0, 1, 2)]
    ranked, _ = recommend(serving, history, catalogue, 20, Filters(brand="acme", max_price=60))
    assert ranked and all(catalogue.get(i).brand == "Acme" and catalogue.get(i).price <= 60
                          for i in ids(ranked))
    searched = serving.searcher.search("lipstick", 5, serving.item_ids, serving.item_index,
                                       catalogue, None, Filters(brand="brio"))
    assert searched and all(catalogue.get(i).brand == "Brio" for i in ids(searched))
