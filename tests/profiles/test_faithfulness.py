"""Removing the cited history item lowers the recommended item's score more than removing a
random one, on real Beauty shoppers (rates for more models: benchmarks/explain.py)."""

import numpy as np
import pytest

from shoprec.data.splits import full_train, leave_one_out
from shoprec.models.base import ExactTerms
from shoprec.models.content import ContentModel
from shoprec.models.itemknn import ItemKNN
from shoprec.models.userknn import UserKNN
from shoprec.privacy.models import DPCooccurrence
from shoprec.profiles.attribution import distinct_items
from shoprec.profiles.faithfulness import faithfulness


@pytest.fixture(scope="module")
def split(beauty_slice):
    return leave_one_out(beauty_slice)


@pytest.mark.parametrize("model, method", [
    (ItemKNN(), "exact"), (UserKNN(aggregate="sum"), "leave-one-out"),
], ids=["itemknn", "userknn"])
def test_cited_items_matter_more_than_random_ones(model, method, split) -> None:
    model.fit(split.train)
    result = faithfulness(model, split.test.histories[:400], seed=0)
    assert result.method == method
    assert result.cases >= 350
    assert result.rate >= 0.9, result
    assert result.pair_cases >= 100 and result.pair_rate >= 0.8, result


def test_content_explanations_are_faithful(beauty_300, embedding_cache_dir) -> None:
    # content is not linear in the history (the interest vector is normalised), so the exact
    # terms are a real claim about what removing an item does
    data = full_train(beauty_300)
    model = ContentModel(cache_dir=str(embedding_cache_dir)).fit(data)
    active = [h for h in data.histories if len(h) >= 3][:300]  # histories with items to cite
    result = faithfulness(model, active, seed=0)
    assert result.method == "exact" and result.cases >= 250
    assert result.rate >= 0.8, result
    assert result.pair_rate >= 0.8, result


def test_the_check_rejects_random_citations(split, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: citing a random history item instead of the real top term fails the check."""
    model = DPCooccurrence(epsilon=None).fit(split.train)
    honest = faithfulness(model, split.test.histories[:400], seed=0)
    rng = np.random.default_rng(1)

    def random_terms(self, history, targets):
        items = distinct_items(history)
        return ExactTerms(items, rng.random((len(targets), len(items))) + 0.01,
                          np.zeros(len(targets)))

    monkeypatch.setattr(DPCooccurrence, "attribution_terms", random_terms)
    shuffled = faithfulness(model, split.test.histories[:400], seed=0)
    assert honest.rate >= 0.85
    assert shuffled.rate < 0.6 < honest.rate
    assert shuffled.pair_rate < 0.6 < honest.pair_rate
